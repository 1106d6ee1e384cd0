"""Sources that shops already run: a Segment-compatible tracking API and Shopify order webhooks.

They authenticate as their senders do (a Segment write key as the HTTP Basic user name, a Shopify
HMAC signature of the raw body), not with the project's x-api-key."""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import logging

from chalice import Blueprint, Response

from ..infra.errors import Forbidden, PayloadTooLarge, ServiceError, Unauthorized, ValidationError
from ..services import segment_source, shopify_orders
from ..storage import source_keys
from ..validation import parse_json_body
from .http import error_response, is_throttling, json_response

log = logging.getLogger(__name__)
bp = Blueprint(__name__)
SEGMENT = "/projects/{project_id}/sources/segment/v1"


def answer(view, *args) -> Response:
    """Domain errors as HTTP (chalicelib.api.http's shapes); never a stack trace."""
    try:
        return view(*args)
    except ServiceError as error:
        return error_response(error)
    except Exception as exc:
        if is_throttling(exc):
            log.warning("throttled on a source after retries: %s", exc)
            return Response(
                body={"error": {"code": "unavailable", "message": "retry in a moment"}},
                status_code=503,
                headers={"Content-Type": "application/json", "Retry-After": "1"},
            )
        log.exception("unhandled error on a source")
        return json_response({"error": {"code": "internal", "message": "internal error"}}, 500)


def raw_body(limit: int) -> bytes:
    """The request body, gunzipped when sent with Content-Encoding: gzip (RudderStack's client
    does by default), refused past `limit` bytes either way."""
    request = bp.current_request
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    encoding = (request.headers.get("content-encoding") or "").strip().lower()
    if encoding == "gzip" or raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                raw = unzipped.read(limit + 1)
        except (OSError, EOFError):
            raise ValidationError("the body is not valid gzip", "/", "malformed_body") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body takes at most {limit} bytes", "/")
    return raw


def write_key_from_header() -> str | None:
    header = bp.current_request.headers.get("authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 400:
        return None
    try:
        user = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user.partition(":")[0] or None


def authorize_write_key(project_id: str, write_key) -> None:
    """401 without a live write key; 403 for a write key of another project."""
    if not isinstance(write_key, str) or not write_key or len(write_key) > 200:
        raise Unauthorized("missing or invalid write key (HTTP Basic user name)")
    key_project = source_keys.project_of_write_key(write_key)
    if key_project is None:
        raise Unauthorized("missing or invalid write key (HTTP Basic user name)")
    if key_project != project_id:
        raise Forbidden("this write key does not send to this project")


def _segment(project_id: str, kind: str | None) -> Response:
    single = kind is not None
    header_key = write_key_from_header()
    if header_key is not None:  # a wrong key is refused before the body is read
        authorize_write_key(project_id, header_key)
    limit = segment_source.MAX_MESSAGE_BYTES if single else segment_source.MAX_BATCH_BYTES
    body = parse_json_body(raw_body(limit))
    if header_key is None:  # Segment also takes the key in the body
        authorize_write_key(project_id, body.get("writeKey") if isinstance(body, dict) else None)
    return json_response(segment_source.receive(project_id, body, kind))


@bp.route(SEGMENT + "/batch", methods=["POST"])
def segment_batch(project_id):
    return answer(_segment, project_id, None)


@bp.route(SEGMENT + "/track", methods=["POST"])
def segment_track(project_id):
    return answer(_segment, project_id, "track")


@bp.route(SEGMENT + "/identify", methods=["POST"])
def segment_identify(project_id):
    return answer(_segment, project_id, "identify")


@bp.route(SEGMENT + "/page", methods=["POST"])
def segment_page(project_id):
    return answer(_segment, project_id, "page")


def _shopify(project_id: str) -> Response:
    headers = bp.current_request.headers
    raw = raw_body(shopify_orders.MAX_BODY_BYTES)
    body = parse_json_body(raw)  # strict JSON first, like every route (nothing is stored yet)
    shopify_orders.verify(project_id, raw, headers.get("x-shopify-hmac-sha256"))
    topic = headers.get("x-shopify-topic") or ""
    return json_response(shopify_orders.receive(project_id, topic, body))


@bp.route("/projects/{project_id}/sources/shopify", methods=["POST"])
def shopify_webhook(project_id):
    return answer(_shopify, project_id)
