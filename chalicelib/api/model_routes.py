from chalice import Blueprint

from ..services import model_card
from .http import json_response, project_route

bp = Blueprint(__name__)


@project_route(bp, "/model", methods=["GET"])
def get_model_card(project_id):
    return json_response(model_card.project_model_card(project_id))
