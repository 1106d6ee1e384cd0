"""Segments: the field catalogue, CRUD with validation, and on-demand evaluation."""

from __future__ import annotations

import logging

from ..audience import audience_of, catalogue
from ..infra import cursor
from ..infra.errors import Conflict, NotFound, ValidationError
from ..rules import parse_rules, parse_segment
from ..storage import segment_table
from ..storage.connection import bind
from ..storage.records import SegmentRecord
from ..validation import check_id

log = logging.getLogger(__name__)
SAMPLE_SIZE = 10


def _document(segment: SegmentRecord) -> dict:
    return {
        "segment_id": segment.segment_id,
        **segment.definition,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def load(project_id: str, segment_id: str) -> SegmentRecord:
    check_id(segment_id, "/segment_id", "segment_id")
    segment = segment_table.get(project_id, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id!r} not found", "/segment_id")
    return segment


def create(project_id: str, body) -> dict:
    definition = parse_segment(body, catalogue(project_id))
    segment = segment_table.create(project_id, definition.to_dict())
    return {**_document(segment), "backfill": _backfill(project_id, segment.segment_id)}


def _backfill(project_id: str, segment_id: str) -> str:
    """Queue the evaluation of a saved segment's membership. If the queue cannot be reached the
    save stands: the next rescore evaluates every segment."""
    from ..storage import work_queue
    from ..storage.work_messages import EvaluateSegment

    try:
        work_queue.send([EvaluateSegment(project_id, segment_id, "saved")])
        return "queued"
    except Exception:
        log.exception("queueing the backfill of %s/%s failed", project_id, segment_id)
        return "deferred"


def list_all(project_id: str) -> dict:
    return {"segments": [_document(s) for s in segment_table.list_all(project_id)]}


def get(project_id: str, segment_id: str) -> dict:
    return _document(load(project_id, segment_id))


def replace(project_id: str, segment_id: str, body) -> dict:
    segment = load(project_id, segment_id)
    definition = parse_segment(body, catalogue(project_id))
    segment = segment_table.replace(segment, definition.to_dict())
    return {**_document(segment), "backfill": _backfill(project_id, segment_id)}


def delete(project_id: str, segment_id: str) -> None:
    from ..storage import membership_table

    segment_table.delete(load(project_id, segment_id))
    membership_table.erase_segment(project_id, segment_id)


def stored_root(project_id: str, segment: SegmentRecord):
    """A saved segment parsed against today's catalogue (attribute types may have moved)."""
    try:
        return parse_rules(segment.definition, catalogue(project_id))
    except ValidationError as exc:
        raise Conflict(
            f"the saved segment no longer fits the field catalogue: {exc.message}; edit it",
            exc.path,
            "stale_segment",
        ) from None


def _after(cursor_text: str | None, scope: str) -> str | None:
    """The last member id of the previous page, from a cursor of `members`."""
    after = cursor.decode(cursor_text, scope, bind().cursor_secret)
    if after is not None and (len(after) != 1 or not isinstance(after[0], str)):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    return after[0] if after else None


def members(project_id: str, segment_id: str, limit: int, cursor_text: str | None) -> dict:
    """A page of members (in profile id order) and the total count."""
    segment = load(project_id, segment_id)
    audience = audience_of(project_id, stored_root(project_id, segment))
    scope = f"{project_id}:members:{segment_id}"
    ids, more = audience.page(_after(cursor_text, scope), limit)
    out = {"profiles": audience.documents(ids), "count": audience.count()}
    if more:
        out["next_cursor"] = cursor.encode([ids[-1]], scope, bind().cursor_secret)
    return out


def count_of(project_id: str, segment: SegmentRecord) -> int:
    return audience_of(project_id, stored_root(project_id, segment)).count()


def count(project_id: str, segment_id: str) -> dict:
    segment = load(project_id, segment_id)
    return _worth_of(project_id, stored_root(project_id, segment), sample=False)


def preview(project_id: str, body) -> dict:
    """Count, a sample, and what the segment is worth: expected conversions (the sum of its
    members' conversion probabilities), expected value (the sum of their predicted CLV), and
    histograms of conversion potential and CLV a builder can draw."""
    return _worth_of(project_id, parse_rules(body, catalogue(project_id)), sample=True)


def _worth_of(project_id: str, root, sample: bool) -> dict:
    audience = audience_of(project_id, root)
    out = {"count": audience.count(), **audience.worth().to_dict()}
    if sample:
        out["sample"] = audience.documents(audience.page(None, SAMPLE_SIZE)[0])
    return out


__all__ = [
    "catalogue",
    "count",
    "count_of",
    "create",
    "delete",
    "get",
    "list_all",
    "load",
    "members",
    "preview",
    "replace",
    "stored_root",
]
