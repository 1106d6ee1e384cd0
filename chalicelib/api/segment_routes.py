from chalice import Blueprint

from ..rules.tree import rule_language
from ..services import destinations, memberships, segments, uplift
from ..validation import check_limit
from .http import body, json_response, project_route, query_param

bp = Blueprint(__name__)


@project_route(bp, "/fields", methods=["GET"])
def get_fields(project_id):
    catalogue = segments.catalogue(project_id)
    return json_response({"fields": catalogue.to_list(), **rule_language(catalogue)})


@project_route(bp, "/segments", methods=["POST"])
def create_segment(project_id):
    return json_response(segments.create(project_id, body(bp)), 201)


@project_route(bp, "/segments", methods=["GET"])
def list_segments(project_id):
    return json_response(segments.list_all(project_id))


@project_route(bp, "/segments/preview", methods=["POST"])
def preview_segment(project_id):
    return json_response(segments.preview(project_id, body(bp)))


@project_route(bp, "/segments/{segment_id}", methods=["GET"])
def get_segment(project_id, segment_id):
    return json_response(segments.get(project_id, segment_id))


@project_route(bp, "/segments/{segment_id}", methods=["PUT"])
def replace_segment(project_id, segment_id):
    return json_response(segments.replace(project_id, segment_id, body(bp)))


@project_route(bp, "/segments/{segment_id}", methods=["PATCH"])
def patch_segment(project_id, segment_id):
    return json_response(segments.patch(project_id, segment_id, body(bp)))


@project_route(bp, "/segments/{segment_id}", methods=["DELETE"])
def delete_segment(project_id, segment_id):
    segments.delete(project_id, segment_id)
    return json_response({"deleted": segment_id})


@project_route(bp, "/segments/{segment_id}/members", methods=["GET"])
def segment_members(project_id, segment_id):
    limit = check_limit(query_param(bp, "limit"), default=50, maximum=500)
    return json_response(segments.members(project_id, segment_id, limit, query_param(bp, "cursor")))


@project_route(bp, "/segments/{segment_id}/count", methods=["GET"])
def segment_count(project_id, segment_id):
    return json_response(segments.count(project_id, segment_id))


@project_route(bp, "/segments/{segment_id}/changes", methods=["GET"])
def segment_changes(project_id, segment_id):
    limit = check_limit(query_param(bp, "limit"), default=100, maximum=500)
    return json_response(
        memberships.changes(
            project_id, segment_id, query_param(bp, "since"), limit, query_param(bp, "cursor")
        )
    )


@project_route(bp, "/segments/{segment_id}/stats", methods=["GET"])
def segment_stats(project_id, segment_id):
    return json_response(memberships.stats(project_id, segment_id))


@project_route(bp, "/segments/{segment_id}/destinations", methods=["POST"])
def create_destination(project_id, segment_id):
    return json_response(destinations.create(project_id, segment_id, body(bp)), 201)


@project_route(bp, "/segments/{segment_id}/destinations", methods=["GET"])
def list_destinations(project_id, segment_id):
    return json_response(destinations.list_all(project_id, segment_id))


@project_route(bp, "/segments/{segment_id}/destinations/{destination_id}", methods=["DELETE"])
def delete_destination(project_id, segment_id, destination_id):
    destinations.delete(project_id, segment_id, destination_id)
    return json_response({"deleted": destination_id})


@project_route(bp, "/segments/{segment_id}/uplift", methods=["GET"])
def segment_uplift(project_id, segment_id):
    return json_response(
        uplift.segment_uplift(
            project_id,
            segment_id,
            query_param(bp, "since"),
            query_param(bp, "until"),
            query_param(bp, "window_days"),
        )
    )
