"""Segment membership: evaluate who is in a segment, store it, and record entries and exits.

- A full evaluation of one segment (after a rescore, or when a segment is saved: the backfill)
  compares who matches now (the snapshot plus the profiles changed since) with the stored
  members, writes only the differences, and records the segment's size and how long it took.
- An incremental evaluation (the trigger, after a profile changed and was rescored) checks the
  changed profiles against every segment of their project.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

from ..audience import audience_of
from ..infra import cursor, observability
from ..infra.errors import Conflict, ValidationError
from ..rules import compile_rules, ranks
from ..storage import membership_table, profile_table, project_table, segment_table
from ..storage.connection import bind
from . import destinations, segments

log = logging.getLogger(__name__)
STATS_POINTS = 90


def evaluate_segment(project_id: str, segment_id: str, trigger: str) -> dict:
    """Full evaluation of one segment; idempotent (a second run finds nothing to change)."""
    started = time.time()
    segment = segment_table.get(project_id, segment_id)
    if segment is None:
        return {"segment_id": segment_id, "skipped": "the segment was deleted"}
    try:
        root = segments.stored_root(project_id, segment)
    except Conflict as exc:
        return {"segment_id": segment_id, "skipped": exc.message}
    now = set(audience_of(project_id, root).ids())
    groups = membership_table.member_groups(project_id, segment_id)
    stored = set(groups)
    control_of = segments.control_rule(project_id, segment)
    applied = membership_table.apply_changes(
        project_id, segment_id, now - stored, stored - now, control_of
    )
    destinations.notify(project_id, segment, applied)
    # a changed percentage moves the members whose bucket lies between the old and new one
    moved = {
        pid: group
        for pid in stored & now
        for group in [bool(control_of and control_of(pid))]
        if group != groups[pid]
    }
    if moved:
        membership_table.set_control(project_id, segment_id, moved)
    if control_of is not None:
        refresh_cohort(project_id, segment_id)
    entered = sum(1 for c in applied if c["change"] == "entered")
    exited = len(applied) - entered
    duration_ms = (time.time() - started) * 1000
    membership_table.record_stat(
        project_id, segment_id, len(now), entered, exited, duration_ms, trigger
    )
    observability.emit_metrics(
        {
            "SegmentEvaluationDuration": (duration_ms, "Milliseconds"),
            "SegmentEntries": (float(entered), "Count"),
            "SegmentExits": (float(exited), "Count"),
        },
        trigger=trigger,
    )
    return {
        "segment_id": segment_id,
        "size": len(now),
        "entered": entered,
        "exited": exited,
        "duration_ms": round(duration_ms, 1),
    }


def evaluate_profiles(project_id: str, documents: list[dict]) -> dict:
    """Re-evaluate the given profiles (current documents) in every segment of their project."""
    if not documents:
        return {"entered": 0, "exited": 0}
    rules, ranked = [], []
    for segment in segment_table.list_all(project_id):
        try:
            root = segments.stored_root(project_id, segment)
        except Conflict:
            continue  # a segment that no longer fits the catalogue is left as it is
        if ranks.rank_paths(root):  # a changed profile can move anyone's rank: all of it again
            ranked.append(evaluate_segment(project_id, segment.segment_id, "profiles"))
        else:
            rules.append((segment, compile_rules(root)))
    if not rules:
        return {
            "entered": sum(r.get("entered", 0) for r in ranked),
            "exited": sum(r.get("exited", 0) for r in ranked),
        }
    everywhere = project_table.control_percent(project_id)  # read once for every segment
    controls = {s.segment_id: segments.control_rule(project_id, s, everywhere) for s, _ in rules}
    ids = [d["profile_id"] for d in documents]
    stored = membership_table.members_among(project_id, [s.segment_id for s, _ in rules], ids)
    entered = sum(r.get("entered", 0) for r in ranked)
    exited = sum(r.get("exited", 0) for r in ranked)
    for segment, matches in rules:
        now = {d["profile_id"] for d in documents if matches(d)}
        was = {pid for s, pid in stored if s == segment.segment_id}
        applied = membership_table.apply_changes(
            project_id, segment.segment_id, now - was, was - now, controls[segment.segment_id]
        )
        destinations.notify(project_id, segment, applied)
        n_in = sum(1 for c in applied if c["change"] == "entered")
        entered, exited = entered + n_in, exited + len(applied) - n_in
    return {"entered": entered, "exited": exited}


def refresh_cohort(project_id: str, segment_id: str) -> None:
    """Rebuild the segment's uplift cohort after its evaluation, so uplift reads it warm; a
    failure leaves the membership as applied (the uplift route rebuilds it when asked)."""
    from . import uplift

    try:
        uplift.refresh(project_id, segment_id)
    except Exception:
        log.exception("refreshing the uplift cohort of %s/%s failed", project_id, segment_id)


def segment_ids(project_id: str) -> list[str]:
    return [s.segment_id for s in segment_table.list_all(project_id)]


def profile_segments(project_id: str, profile_id: str) -> dict:
    """The saved segments a profile is a member of, as last evaluated."""
    from ..validation import check_id

    check_id(profile_id, "/profile_id", "profile_id")
    if profile_table.get(project_id, profile_id, consistent=False) is None:
        from ..infra.errors import NotFound

        raise NotFound(f"profile {profile_id!r} not found", "/profile_id")
    member_of = membership_table.segments_of(project_id, profile_id)
    return {
        "profile_id": profile_id,
        "segments": [
            {"segment_id": s.segment_id, "name": s.definition.get("name")}
            for s in segment_table.list_all(project_id)
            if s.segment_id in member_of
        ],
    }


DEFAULT_CHANGES_DAYS = 7


def changes(
    project_id: str, segment_id: str, since: str | None, limit: int, cursor_text: str | None
) -> dict:
    """Who entered or left the segment from `since` on (default: the last 7 days), oldest first."""
    segments.load(project_id, segment_id)
    moment = _parse_since(since)
    scope = f"{project_id}:changes:{segment_id}:{moment}"
    after = cursor.decode(cursor_text, scope, bind().cursor_secret)
    if after is not None and (len(after) != 1 or not isinstance(after[0], str)):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    items, more = membership_table.history(
        project_id, segment_id, moment, after[0] if after else None, limit
    )
    out = {
        "changes": [
            {
                "profile_id": i.profile_id,
                "change": i.change,
                "at": _iso(i.at),
                **({"control": True} if i.control else {}),
            }
            for i in items
        ]
    }
    if more:
        out["next_cursor"] = cursor.encode([items[-1].position], scope, bind().cursor_secret)
    return out


def stats(project_id: str, segment_id: str) -> dict:
    """The segment's size now, and its size at each full evaluation (newest first)."""
    segment = segments.load(project_id, segment_id)
    points = membership_table.stats(project_id, segment_id, STATS_POINTS)
    size = segments.count_of(project_id, segment)
    return {
        "segment_id": segment_id,
        "size": size,
        "last_computed_at": _iso(points[0].at) if points else None,
        "last_duration_ms": float(points[0].duration_ms) if points else None,
        "history": [
            {
                "at": _iso(p.at),
                "size": int(p.size),
                "entered": int(p.entered),
                "exited": int(p.exited),
                "duration_ms": float(p.duration_ms),
                "trigger": p.trigger,
            }
            for p in points
        ],
    }


def _iso(moment: str) -> str:
    """Stored stamps have microseconds; the API gives milliseconds."""
    return moment[:23] + "Z"


def _parse_since(since: str | None) -> str:
    if since is None:
        moment = datetime.now(timezone.utc) - timedelta(days=DEFAULT_CHANGES_DAYS)
    else:
        try:
            if len(since) > 40:
                raise ValueError
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment = moment.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise ValidationError(
                "since must be an ISO 8601 time, e.g. 2026-11-28T10:00:00Z", "/since"
            ) from None
    # isoformat pads years before 1000 to four digits (strftime's %Y does not), so the moment
    # compares as text with the stored change ids
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
