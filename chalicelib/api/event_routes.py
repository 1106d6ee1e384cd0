from chalice import Blueprint

from ..services import events
from .http import body, json_response, project_route

bp = Blueprint(__name__)


@project_route(bp, "/events", methods=["POST"])
def post_events(project_id):
    return json_response(events.ingest(project_id, body(bp)))
