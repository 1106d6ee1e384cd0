from chalice import Blueprint

from ..services import project_settings
from .http import body, json_response, project_route

bp = Blueprint(__name__)


@project_route(bp, "/settings", methods=["GET"])
def get_settings(project_id):
    return json_response(project_settings.get(project_id))


@project_route(bp, "/settings", methods=["PUT"])
def put_settings(project_id):
    return json_response(project_settings.update(project_id, body(bp)))
