"""Segment exports: evaluate a saved segment as GET members does (snapshot plus change-log
overlay, exact and fresh, or a walk of the table), read its members' documents in batches, and
write them as CSV or JSON Lines, plain or in the ad platforms' customer-match format.

Lambda behind API Gateway cannot stream and answers at most about 6 MB, so:
- an export of at most INLINE_MAX_ROWS rows and INLINE_MAX_BYTES bytes is the response itself;
- a larger one is written to S3 (exports/<project>/<export_id>.<ext>) and the response gives a
  presigned S3 URL (valid URL_SECONDS) and the API route GET /exports/{export_id}, which serves
  the file itself when it is at most INLINE_MAX_BYTES (so the same flow works on the local
  stack, whose S3 is moto in-process and has no URL) and a fresh presigned URL otherwise;
- a segment of more than MAX_EXPORT_ROWS members is refused (413 export_too_large): an
  estimate, not measured on AWS, of the documents (500 batch reads of 100) one request can read
  within API Gateway's 29 s. Bigger segments need an asynchronous export (the work queue).
A stored export expires a day after it was made (410 from the download route; an S3 lifecycle
rule deletes it too: storage.export_store.LIFECYCLE_RULE).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Iterator

from ..audience import audience_of
from ..infra.errors import Gone, NotFound, PayloadTooLarge, ValidationError
from ..storage import export_store
from ..validation import check_id
from . import export_format as fmt
from . import segments

INLINE_MAX_ROWS = 5_000
# Lambda's 6 MB response limit counts the JSON-encoded proxy response: quotes and non-ASCII text
# in the body grow when escaped, so the raw file is kept well below it.
INLINE_MAX_BYTES = 4_000_000
MAX_EXPORT_ROWS = 50_000
READ_BATCH = 500  # member ids per page of the audience; batch reads take them 100 at a time
URL_SECONDS = 3600
EXPORT_ID_RE = re.compile(r"exp_[0-9a-f]{20}\Z")


@dataclass(frozen=True)
class ExportFile:
    """A file to answer with."""

    body: bytes
    content_type: str
    filename: str
    rows: int | None
    skipped: int | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _too_large(count: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the segment has {count} or more members; an export holds at most "
        f"{MAX_EXPORT_ROWS}: narrow the segment",
        "/segment_id",
        "export_too_large",
    )


def member_documents(project_id: str, root, control_of=None) -> Iterator[dict]:
    """Every member's profile document, in profile id order, read in batches; members in the
    control group (`control_of(profile_id)` true) are held out: an export activates."""
    audience = audience_of(project_id, root)
    if audience.count() > MAX_EXPORT_ROWS:
        raise _too_large(audience.count())
    for document in audience.iter_documents(READ_BATCH):
        if control_of is None or not control_of(document["profile_id"]):
            yield document


def export(
    project_id: str,
    segment_id: str,
    format_raw: str | None,
    customer_match_raw: str | None,
    fields_raw: str | None,
):
    """An ExportFile to answer with, or (a large export) the JSON document of its stored copy."""
    kind = fmt.parse_format(format_raw)
    customer_match = fmt.parse_flag(customer_match_raw, "/customer_match")
    if customer_match and fields_raw is not None:
        raise ValidationError(
            "a customer-match export has fixed columns (Email, Phone): leave out fields",
            "/fields",
            "invalid_value",
        )
    segment = segments.load(project_id, segment_id)
    root = segments.stored_root(project_id, segment)
    if customer_match:
        columns, to_row = fmt.CUSTOMER_MATCH_COLUMNS, fmt.customer_match_row
    else:
        catalogue = segments.catalogue(project_id)
        fields = fmt.parse_fields(fields_raw, lambda path: catalogue.get(path) is not None)
        columns, to_row = ("profile_id", *fields), partial(fmt.member_row, fields=fields)
    rows, skipped = [], 0
    held_out = segments.control_rule(project_id, segment)
    for document in member_documents(project_id, root, held_out):
        row = to_row(document)
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    body = fmt.encode(kind, columns, rows)
    content_type, ext = fmt.FORMATS[kind]
    filename = fmt.filename(segment_id, kind, customer_match)
    if len(rows) <= INLINE_MAX_ROWS and len(body) <= INLINE_MAX_BYTES:
        return ExportFile(body, content_type, filename, len(rows), skipped)
    export_id = "exp_" + secrets.token_hex(10)
    created_at = _now()
    key = export_store.put(
        project_id, export_id, ext, body, content_type, filename, created_at, len(rows), skipped
    )
    return {
        "export_id": export_id,
        "format": kind,
        "customer_match": customer_match,
        "rows": len(rows),
        "skipped": skipped,
        "bytes": len(body),
        **_link(project_id, export_id, key, filename, created_at),
    }


def _link(project_id: str, export_id: str, key: str, filename: str, created_at: datetime) -> dict:
    now = _now()
    export_expires = created_at + export_store.EXPORT_TTL
    seconds = max(1, min(URL_SECONDS, int((export_expires - now).total_seconds())))
    return {
        "download_url": export_store.presign(key, filename, seconds),
        "expires_at": _iso(min(export_expires, now + timedelta(seconds=seconds))),
        "download_path": f"/projects/{project_id}/exports/{export_id}",
        "export_expires_at": _iso(export_expires),
    }


def download(project_id: str, export_id: str):
    """The stored export's file when it fits in a response, else a fresh presigned URL."""
    check_id(export_id, "/export_id", "export_id")
    stored = export_store.find(project_id, export_id) if EXPORT_ID_RE.match(export_id) else None
    if stored is None:
        raise NotFound(f"export {export_id!r} not found", "/export_id")
    if _now() - stored.created_at >= export_store.EXPORT_TTL:
        raise Gone(
            f"export {export_id!r} expired a day after it was made; export the segment again",
            "/export_id",
            "expired",
        )
    if stored.size <= INLINE_MAX_BYTES:
        return ExportFile(
            export_store.read(stored.key),
            stored.content_type,
            stored.filename,
            stored.rows,
            stored.skipped,
        )
    return {
        "export_id": export_id,
        "rows": stored.rows,
        "skipped": stored.skipped,
        "bytes": stored.size,
        **_link(project_id, export_id, stored.key, stored.filename, stored.created_at),
    }


__all__ = [
    "ExportFile",
    "INLINE_MAX_BYTES",
    "INLINE_MAX_ROWS",
    "MAX_EXPORT_ROWS",
    "download",
    "export",
    "member_documents",
]
