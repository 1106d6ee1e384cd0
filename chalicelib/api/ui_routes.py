"""GET / and GET /ui/{asset}: the segment builder, static files kept in chalicelib/ui/ (packaged
with the Lambda). No key needed: they hold no data; the page asks for a project and key and calls
the API with them. Served: the .html, .js and .css files directly in that folder, by name; anything
else (another extension, a subfolder, a path with a separator or `..`) is a 404."""

from __future__ import annotations

import json
from pathlib import Path

from chalice import Blueprint, Response

UI_DIR = Path(__file__).resolve().parents[1] / "ui"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # ES modules need a JavaScript type
    ".css": "text/css; charset=utf-8",
}
# The page loads only its own scripts and stylesheet and talks only to this origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

bp = Blueprint(__name__)


def served_assets() -> dict[str, str]:
    """File name -> content type of every file served. The name is matched against this listing,
    never joined to a path as given, so nothing outside the folder can be named."""
    return {
        p.name: CONTENT_TYPES[p.suffix]
        for p in UI_DIR.iterdir()
        if p.is_file() and p.suffix in CONTENT_TYPES
    }


def asset_text(name: str) -> str:
    """Read on each request (a few KB): an edited file shows on the next reload."""
    return (UI_DIR / name).read_text(encoding="utf-8")


def _asset(name: str, content_type: str) -> Response:
    return Response(
        body=asset_text(name),
        status_code=200,
        headers={"Content-Type": content_type, **SECURITY_HEADERS},
    )


@bp.route("/", methods=["GET"])
def index():
    return _asset("index.html", CONTENT_TYPES[".html"])


@bp.route("/ui/{asset}", methods=["GET"])
def ui_asset(asset):
    content_type = served_assets().get(asset)
    if content_type is None:
        return Response(
            body=json.dumps(
                {"error": {"code": "not_found", "message": "no such file", "path": "/asset"}}
            ),
            status_code=404,
            headers={"Content-Type": "application/json"},
        )
    return _asset(asset, content_type)
