from chalice import Blueprint

from ..services import memberships, profiles
from ..validation import check_limit
from .http import body, json_response, project_route, query_param

bp = Blueprint(__name__)


@project_route(bp, "/profiles/{profile_id}", methods=["PUT"])
def put_profile(project_id, profile_id):
    profile, created = profiles.upsert(project_id, profile_id, body(bp))
    return json_response(profile, 201 if created else 200)


@project_route(bp, "/profiles", methods=["POST"])
def post_profiles(project_id):
    return json_response(profiles.batch_upsert(project_id, body(bp)))


@project_route(bp, "/profiles/{profile_id}", methods=["GET"])
def get_profile(project_id, profile_id):
    return json_response(profiles.get(project_id, profile_id))


@project_route(bp, "/profiles", methods=["GET"])
def list_profiles(project_id):
    limit = check_limit(query_param(bp, "limit"), default=50, maximum=500)
    return json_response(profiles.list_page(project_id, limit, query_param(bp, "cursor")))


@project_route(bp, "/profiles/{profile_id}", methods=["DELETE"])
def delete_profile(project_id, profile_id):
    profiles.delete(project_id, profile_id)
    return json_response({"deleted": profile_id})


@project_route(bp, "/profiles/{profile_id}/segments", methods=["GET"])
def get_profile_segments(project_id, profile_id):
    return json_response(memberships.profile_segments(project_id, profile_id))
