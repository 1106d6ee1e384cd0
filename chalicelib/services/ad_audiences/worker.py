"""What the work queue's `SyncAudience` messages do, and the daily sweep that queues refreshes."""

from __future__ import annotations

import logging

from ...infra.errors import Conflict
from ...storage import (
    audience_members,
    membership_table,
    profile_table,
    project_table,
    segment_table,
    work_queue,
)
from ...storage.work_messages import SyncAudience
from ...validation import iso
from . import CHANGES_PER_MESSAGE, due, is_ad_type, now, sync, sync_rows

log = logging.getLogger(__name__)


def _find(segment, destination_id: str) -> dict | None:
    if segment is None:
        return None
    return next(
        (d for d in segment.destinations or [] if d["destination_id"] == destination_id), None
    )


def queue_changes(project_id: str, segment_id: str, destination_id: str, changes: list) -> list:
    """The messages that carry the changes (control-group ones left out), compacted."""
    kept = [
        {"profile_id": c["profile_id"], "change": c["change"]}
        for c in changes
        if not c.get("control")
    ]
    return [
        SyncAudience(
            project_id,
            segment_id,
            destination_id,
            "changes",
            tuple(kept[start : start + CHANGES_PER_MESSAGE]),
        )
        for start in range(0, len(kept), CHANGES_PER_MESSAGE)
    ]


def run(project_id: str, segment_id: str, destination_id: str, mode: str, changes: list) -> dict:
    segment = segment_table.get(project_id, segment_id)
    destination = _find(segment, destination_id)
    if destination is None:
        return {"skipped": "the segment or destination was deleted"}
    if mode == "changes":
        return send_changes(project_id, segment_id, destination, changes)
    if mode == "keys":
        return send_keys(project_id, segment_id, destination, changes)
    return sweep(project_id, segment, destination, everyone=mode == "backfill")


def send_changes(project_id: str, segment_id: str, destination: dict, changes: list) -> dict:
    """Send the entries of those still members and the exits of those still out (a retried or
    late message must not undo a newer change); control-group changes are never sent."""
    changes = [c for c in changes if not c.get("control")]
    ids = list(dict.fromkeys(c["profile_id"] for c in changes))
    members = {pid for _, pid in membership_table.members_among(project_id, [segment_id], ids)}
    entering = [c["profile_id"] for c in changes if c["change"] == "entered"]
    leaving = [c["profile_id"] for c in changes if c["change"] == "exited"]
    enter_ids = list(dict.fromkeys(p for p in entering if p in members))
    exit_ids = list(dict.fromkeys(p for p in leaving if p not in members))
    documents = profile_table.documents(project_id, enter_ids + exit_ids)
    adds = [documents[p] for p in enter_ids if p in documents]
    removes = [documents[p] for p in exit_ids if p in documents]
    result = sync(project_id, destination, adds, removes)
    stale = len(entering) + len(leaving) - len(enter_ids) - len(exit_ids)
    return {**result, "superseded": stale}


def _row(kind: str, keys):
    """A hashed row as identifiers.py makes it for the platform, or None."""
    if kind == "meta_custom_audience":
        ok = isinstance(keys, list) and all(isinstance(k, str) for k in keys) and any(keys)
    else:
        ok = isinstance(keys, dict) and keys and all(isinstance(k, str) for k in keys.values())
    return keys if ok else None


def send_keys(project_id: str, segment_id: str, destination: dict, changes: list) -> dict:
    """Hashes worked out when the profile was erased or its email or phone changed: the old
    ones removed first, then the new ones added if the profile is still a member (an exit
    since then has removed it by its current identifiers)."""
    kind = destination["type"]
    removes = [
        r for r in (_row(kind, c.get("keys")) for c in changes if c.get("change") == "exited") if r
    ]
    entering = [c for c in changes if c.get("change") == "entered" and _row(kind, c.get("keys"))]
    ids = list(dict.fromkeys(str(c.get("profile_id")) for c in entering))
    members = {pid for _, pid in membership_table.members_among(project_id, [segment_id], ids)}
    adds = [c["keys"] for c in entering if str(c.get("profile_id")) in members]
    removed = sync_rows(project_id, destination, [], removes) if removes else {}
    added = sync_rows(project_id, destination, adds, []) if adds else {}
    return {"removed": len(removes), "added": len(adds), "results": [removed, added]}


def sweep(project_id: str, segment, destination: dict, everyone: bool) -> dict:
    """Queue every current member (backfill) or those due a refresh, as entries."""
    at = now()
    chosen = [
        {"profile_id": m["profile_id"], "change": "entered"}
        for m in audience_members.walk(project_id, segment.segment_id)
        if not m["control"] and (everyone or due(destination, m["entered_at"], at))
    ]
    messages = queue_changes(project_id, segment.segment_id, destination["destination_id"], chosen)
    if messages:
        work_queue.send(messages)
    if not everyone:
        _mark_refreshed(project_id, segment.segment_id, destination["destination_id"], iso(at))
    return {"queued": len(chosen), "messages": len(messages)}


def _mark_refreshed(project_id: str, segment_id: str, destination_id: str, at: str) -> None:
    """Record the sweep on the destination (re-read and retried once if the segment changed
    meanwhile; if it still fails, the next sweep sends the same members again: harmless)."""
    for _ in range(2):
        segment = segment_table.get(project_id, segment_id)
        if _find(segment, destination_id) is None:
            return
        updated = [
            {**d, "refreshed_at": at} if d["destination_id"] == destination_id else d
            for d in segment.destinations
        ]
        try:
            segment_table.set_destinations(segment, updated)
            return
        except Conflict:
            continue
    log.warning("could not record the refresh of %s/%s", segment_id, destination_id)


def queue_refreshes() -> int:
    """The daily schedule: one refresh sweep per ad destination of every project."""
    messages = [
        SyncAudience(project.project_id, segment.segment_id, d["destination_id"], "refresh")
        for project in project_table.list_projects()
        for segment in segment_table.list_all(project.project_id)
        for d in segment.destinations or []
        if is_ad_type(d.get("type"))
    ]
    if messages:
        work_queue.send(messages)
    return len(messages)
