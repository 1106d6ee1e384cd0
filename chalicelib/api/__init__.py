"""The HTTP routes and event handlers (chalice blueprints). Importing it turns on JSON logs when
running in Lambda (chalicelib.infra.observability)."""

from ..infra import observability

observability.configure()
