from chalice import Blueprint

from ..services import model_card, persuasion_profile
from .http import json_response, project_route, query_param

bp = Blueprint(__name__)


@project_route(bp, "/model", methods=["GET"])
def get_model_card(project_id):
    return json_response(model_card.project_model_card(project_id))


@project_route(bp, "/profiles/{profile_id}/persuasion", methods=["GET"])
def get_persuasion_profile(project_id, profile_id):
    seed = persuasion_profile.check_seed(query_param(bp, "seed"))
    return json_response(persuasion_profile.persuasion_profile(project_id, profile_id, seed))
