from chalice import Blueprint, Response

from ..services import exports
from .http import json_response, project_route, query_param

bp = Blueprint(__name__)


def _answer(result) -> Response:
    """An export's file (with its name and row counts in the headers), or a JSON document."""
    if not isinstance(result, exports.ExportFile):
        return json_response(result)
    headers = {
        "Content-Type": result.content_type,
        "Content-Disposition": f'attachment; filename="{result.filename}"',
        "Cache-Control": "no-store",
    }
    if result.rows is not None:
        headers["X-Export-Rows"] = str(result.rows)
    if result.skipped is not None:
        headers["X-Export-Skipped"] = str(result.skipped)
    return Response(body=result.body.decode("utf-8"), status_code=200, headers=headers)


@project_route(bp, "/segments/{segment_id}/export", methods=["GET"])
def export_segment(project_id, segment_id):
    return _answer(
        exports.export(
            project_id,
            segment_id,
            query_param(bp, "format"),
            query_param(bp, "customer_match"),
            query_param(bp, "fields"),
        )
    )


@project_route(bp, "/exports/{export_id}", methods=["GET"])
def download_export(project_id, export_id):
    return _answer(exports.download(project_id, export_id))
