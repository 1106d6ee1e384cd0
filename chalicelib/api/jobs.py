from chalice import Blueprint

from ..storage import jobs
from ..validation import check_limit
from .http import json_response, project_route, query_param

bp = Blueprint(__name__)


@project_route(bp, "/jobs", methods=["GET"])
def list_jobs(project_id):
    limit = check_limit(query_param(bp, "limit"), default=20, maximum=100)
    return json_response({"jobs": [jobs.to_document(j) for j in jobs.recent(project_id, limit)]})
