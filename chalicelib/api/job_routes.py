from chalice import Blueprint

from ..infra.errors import NotFound
from ..storage import job_table
from ..validation import check_limit
from .http import json_response, project_route, query_param

bp = Blueprint(__name__)


@project_route(bp, "/jobs", methods=["GET"])
def list_jobs(project_id):
    limit = check_limit(query_param(bp, "limit"), default=20, maximum=100)
    return json_response(
        {"jobs": [job_table.to_document(j) for j in job_table.recent(project_id, limit)]}
    )


@project_route(bp, "/jobs/{job_id}", methods=["GET"])
def get_job(project_id, job_id):
    job = job_table.get(project_id, job_id) if len(job_id) <= 64 else None
    if job is None:
        raise NotFound(f"job {job_id!r} not found", "/job_id")
    return json_response(job_table.to_document(job))
