"""Segments: the field catalogue, CRUD with validation, and on-demand evaluation."""

from __future__ import annotations

import logging

from ..audience import audience_of, catalogue
from ..audience.uplift_groups import is_control, parse_control_percent
from ..infra import cursor
from ..infra.errors import Conflict, NotFound, ValidationError
from ..rules import parse_rules, parse_segment
from ..storage import project_table, segment_table
from ..storage.connection import bind
from ..storage.records import SegmentRecord
from ..validation import check_id
from .project_settings import CONTROL_KEY

log = logging.getLogger(__name__)
SAMPLE_SIZE = 10


def _document(segment: SegmentRecord) -> dict:
    return {
        "segment_id": segment.segment_id,
        **segment.definition,
        CONTROL_KEY: control_percent(segment),
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def load(project_id: str, segment_id: str) -> SegmentRecord:
    check_id(segment_id, "/segment_id", "segment_id")
    segment = segment_table.get(project_id, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id!r} not found", "/segment_id")
    return segment


def _definition(project_id: str, body) -> dict:
    """A segment body parsed: its rules, name and description, and its control percentage."""
    percent = 0
    if isinstance(body, dict) and CONTROL_KEY in body:
        percent = parse_control_percent(body[CONTROL_KEY])
        body = {k: v for k, v in body.items() if k != CONTROL_KEY}
    return {**parse_segment(body, catalogue(project_id)).to_dict(), CONTROL_KEY: percent}


def control_percent(segment: SegmentRecord) -> float:
    """The segment's control group percentage (segments saved before it existed: 0)."""
    return segment.definition.get(CONTROL_KEY, 0)


def control_rule(project_id: str, segment: SegmentRecord, everywhere: float | None = None):
    """A member's group by its id (True: control), for the segment's percentage and the
    project-wide one (`everywhere`, read when not given) as they are now; None when neither
    holds anyone out."""
    own = control_percent(segment)
    if everywhere is None:
        everywhere = project_table.control_percent(project_id)
    if not own and not everywhere:
        return None
    sid = segment.segment_id
    return lambda pid: is_control(project_id, sid, pid, own, everywhere)


def create(project_id: str, body) -> dict:
    segment = segment_table.create(project_id, _definition(project_id, body))
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
    if isinstance(body, dict) and CONTROL_KEY not in body:  # an edit of the rules keeps it
        body = {**body, CONTROL_KEY: control_percent(segment)}
    segment = segment_table.replace(segment, _definition(project_id, body))
    return {**_document(segment), "backfill": _backfill(project_id, segment_id)}


PATCHABLE = frozenset({"name", "description", CONTROL_KEY})


def patch(project_id: str, segment_id: str, body) -> dict:
    """Change some of name, description and control_percent; the rules stay as saved. A new
    control percentage re-evaluates the membership (members move between the groups)."""
    segment = load(project_id, segment_id)
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "/", "invalid_type")
    for key in body:
        if key not in PATCHABLE:
            raise ValidationError(
                f"a patch changes only {sorted(PATCHABLE)}; replace the segment (PUT) to change "
                "its rules",
                f"/{key}",
                "unknown_field",
            )
    merged = {k: v for k, v in segment.definition.items() if k != CONTROL_KEY}
    merged.update(body)
    merged.setdefault(CONTROL_KEY, control_percent(segment))
    segment = segment_table.replace(segment, _definition(project_id, merged))
    return {**_document(segment), "backfill": _backfill(project_id, segment_id)}


def delete(project_id: str, segment_id: str) -> None:
    from ..storage import membership_table

    segment_table.delete(load(project_id, segment_id))
    membership_table.erase_segment(project_id, segment_id)


def stored_root(project_id: str, segment: SegmentRecord):
    """A saved segment parsed against today's catalogue (attribute types may have moved)."""
    rules = {k: v for k, v in segment.definition.items() if k != CONTROL_KEY}
    try:
        return parse_rules(rules, catalogue(project_id))
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
    profiles = audience.documents(ids)
    rule = control_rule(project_id, segment)
    if rule is not None:  # marked, not hidden: control members are members too
        profiles = [{**p, "control": True} if rule(p["profile_id"]) else p for p in profiles]
    out = {"profiles": profiles, "count": audience.count()}
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
    "control_percent",
    "control_rule",
    "count",
    "count_of",
    "create",
    "delete",
    "get",
    "list_all",
    "load",
    "members",
    "patch",
    "preview",
    "replace",
    "stored_root",
]
