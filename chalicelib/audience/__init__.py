"""Who is in a segment now, asked one way: `audience_of(project, rules)` gives an `Audience`
(count, pages of ids with a cursor, every id, documents, worth) from the columnar snapshot and
the change log when they can answer exactly; else, for a small project, from a walk of the
profile table. A large project's table is never walked in a request: a compaction (or its first
snapshot) is queued and the request answered 503 with Retry-After (infra.errors.NotReady).

`builder` makes the snapshots the first backend reads; `compaction` folds the change log into
a new one."""

from __future__ import annotations

from ..infra.errors import NotReady
from ..storage import snapshot_store
from . import compaction
from .base import Audience
from .catalogue import catalogue
from .snapshot_backend import MAX_OVERLAY, CannotAnswer, SnapshotAudience
from .table_walk_backend import TableTooLarge, TableWalkAudience
from .worth import CLV_BINS, CONVERSION_BINS, SegmentWorth

WALK_LIMIT = 5_000  # profiles a request may walk when no snapshot can answer


def audience_of(project_id: str, root) -> Audience:
    """The members of a parsed rule tree in a project, now."""
    try:
        audience = SnapshotAudience.attempt(project_id, root)
    except CannotAnswer as why:
        try:
            walked = TableWalkAudience(project_id, root, limit=WALK_LIMIT)
        except TableTooLarge:
            compaction.request(project_id)
            raise NotReady(
                f"the project's snapshot is being brought up to date ({why.reason}); retry shortly",
                compaction.RETRY_AFTER_SECONDS,
                snapshot_store.compaction_state(project_id),
            ) from None
        compaction.request(project_id)  # fold the changes in, or take the first snapshot
        return walked
    if audience.overlay_entries >= compaction.threshold(audience.snapshot.n):
        compaction.request(project_id)
    return audience


__all__ = [
    "Audience",
    "catalogue",
    "CLV_BINS",
    "CONVERSION_BINS",
    "MAX_OVERLAY",
    "SegmentWorth",
    "SnapshotAudience",
    "TableWalkAudience",
    "audience_of",
]
