"""Wires the blueprints; all logic lives in chalicelib."""

from chalice import Chalice

from chalicelib.api import (
    audience_triggers,
    docs_routes,
    event_routes,
    export_routes,
    http,
    job_routes,
    model_routes,
    profile_routes,
    project_routes,
    segment_routes,
    source_routes,
    triggers,
    ui_routes,
)

app = Chalice(app_name="predictive-segments")
app.register_blueprint(profile_routes.bp)
app.register_blueprint(event_routes.bp)
app.register_blueprint(segment_routes.bp)
app.register_blueprint(job_routes.bp)
app.register_blueprint(model_routes.bp)
app.register_blueprint(triggers.bp)
app.register_blueprint(docs_routes.bp)
app.register_blueprint(ui_routes.bp)
app.register_blueprint(export_routes.bp)
app.register_blueprint(project_routes.bp)
app.register_blueprint(source_routes.bp)
app.register_blueprint(http.edge)
app.register_blueprint(audience_triggers.bp)
