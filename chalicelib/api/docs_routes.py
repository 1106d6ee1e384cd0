"""GET /openapi.json: the API's OpenAPI document, kept beside this file (packaged with the
Lambda). No key needed: it describes the API, it holds no data."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from chalice import Blueprint, Response

SPEC_PATH = Path(__file__).with_name("openapi.json")

bp = Blueprint(__name__)


@functools.lru_cache(maxsize=1)
def spec_text() -> str:
    """The document as served: read and checked to be JSON once per process."""
    return json.dumps(
        json.loads(SPEC_PATH.read_text(encoding="utf-8")), separators=(",", ":"), ensure_ascii=False
    )


@bp.route("/openapi.json", methods=["GET"])
def openapi_document():
    return Response(
        body=spec_text(),
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
    )
