"""Wires the blueprints; all logic lives in chalicelib."""
from chalice import Chalice

from chalicelib.api import events, jobs, profiles, segments, triggers
from chalicelib.api import docs
from chalicelib.api import ui
from chalicelib.api import exports
from chalicelib.api import http

app = Chalice(app_name="predictive-segments")
app.register_blueprint(profiles.bp)
app.register_blueprint(events.bp)
app.register_blueprint(segments.bp)
app.register_blueprint(jobs.bp)
app.register_blueprint(triggers.bp)
app.register_blueprint(docs.bp)
app.register_blueprint(ui.bp)
app.register_blueprint(exports.bp)
app.register_blueprint(http.edge)
