"""Compaction: the change log folded into a new snapshot, without reading the profile table.

The change log already holds each changed profile's segmentable document (storage.change_log),
so the new snapshot is the old one less the changed and erased profiles' rows, plus one row per
changed profile from its latest document, merged column by column (column_merge). Only the
profiles whose entries do not tell (a hint as their latest entry, e.g. a bulk import) are read
again, by key. A project without a snapshot (or with one older than the log) gets its first one
from a walk of the table, here in the worker, never in a request.

When: the stream trigger counts profile changes on the project item, and a segment answer sees
how long the overlay is; past `threshold()` either queues one compaction. The queueing is
debounced by a marker on the project item (set conditionally, removed when the compaction ends;
one older than STALE_SECONDS is taken to have died with its worker)."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from ..storage import change_log, profile_table, snapshot_store, work_queue
from ..storage.work_messages import Compact
from . import column_merge
from .builder import SnapshotBuilder, save_snapshot, snapshot_project
from .catalogue import catalogue

log = logging.getLogger(__name__)
COMPACT_MIN = int(os.environ.get("COMPACT_AFTER_CHANGES", "250"))
COMPACT_SHARE = 200  # or one change per 200 snapshot rows, whichever is more
COMPACT_MAX = 10_000  # and never more than half of what a request overlays (MAX_OVERLAY)
STALE_SECONDS = 900
RETRY_AFTER_SECONDS = 10


def threshold(snapshot_rows: int) -> int:
    """Change entries since the snapshot past which a compaction is queued: small enough that
    the overlay a request reads stays cheap, large enough that a big snapshot is not rewritten
    for a handful of changes."""
    return min(COMPACT_MAX, max(COMPACT_MIN, snapshot_rows // COMPACT_SHARE))


def request(project_id: str) -> bool:
    """Queue one compaction of the project unless one is under way; True if this call queued."""
    now = change_log.stamp()
    stale = change_log.parse(now) - timedelta(seconds=STALE_SECONDS)
    if not snapshot_store.claim_compaction(
        project_id, now, stale.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ):
        return False
    try:
        work_queue.send([Compact(project_id)])
    except Exception:
        snapshot_store.release_compaction(project_id)
        raise
    return True


def forget_queued(project_ids) -> None:
    """Clear the markers of compactions queued on a queue that is gone (the local stack's queue
    is not saved): each would keep the next compaction of its project out for STALE_SECONDS,
    while every segment answer read the growing change log."""
    for project_id in project_ids:
        snapshot_store.release_compaction(project_id)


def note_changes(project_id: str, n: int) -> bool:
    """Count n profile changes (the stream trigger); queue a compaction past the threshold."""
    count, rows = snapshot_store.count_changes(project_id, n)
    return count >= threshold(rows) and request(project_id)


def compact(project_id: str) -> dict:
    """Fold the change log into a new snapshot taken now (the work queue's `compact`)."""
    started = time.time()
    taken_at = change_log.stamp()  # entries from (this less the margin) on stay in the overlay
    try:
        latest = snapshot_store.latest(project_id)
        if latest is None or change_log.age_days(latest[1]) > change_log.CHANGE_TTL_DAYS - 1:
            return {"kind": "first snapshot", **snapshot_project(project_id)}
        base, base_at = latest
        fields = {f.path: f.type for f in catalogue(project_id)}
        if any(fields.get(p, c.type) != c.type for p, c in base.columns.items()):
            # a field changed type since: the old rows cannot be re-encoded without their values
            return {"kind": "full snapshot (a field changed type)", **snapshot_project(project_id)}
        read_at = snapshot_store.read_at(base, base_at)
        overlay = change_log.since(project_id, base_at, None, read_at)
        documents = {pid: d for pid, d in overlay.documents.items() if d is not None}
        documents.update(profile_table.documents(project_id, sorted(overlay.reread)))
        rows = SnapshotBuilder(project_id, taken_at, list(fields.items()))
        rows.add([documents[pid] for pid in sorted(documents)])
        merged = column_merge.merge(
            [column_merge.drop(base, overlay.changed), rows.snapshot()], fields
        )
        bytes_per_profile = save_snapshot(project_id, merged, taken_at, read_at)
    finally:
        snapshot_store.release_compaction(project_id)
    return {
        "kind": "compaction",
        "entries": overlay.entries,
        "changed": len(overlay.changed),
        "reread": len(overlay.reread),
        "profiles": merged.n,
        "bytes_per_profile": bytes_per_profile,
        "seconds": round(time.time() - started, 2),
    }
