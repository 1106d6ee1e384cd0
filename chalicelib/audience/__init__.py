"""Who is in a segment now, asked one way: `audience_of(project, rules)` gives an `Audience`
(count, pages of ids with a cursor, every id, documents, worth) from the columnar snapshot and
the change log when they can answer exactly, else from a walk of the profile table.

`builder` makes the snapshots the first backend reads."""

from __future__ import annotations

from .base import Audience
from .catalogue import catalogue
from .snapshot_backend import MAX_OVERLAY, SnapshotAudience
from .table_walk_backend import TableWalkAudience
from .worth import CLV_BINS, CONVERSION_BINS, SegmentWorth


def audience_of(project_id: str, root) -> Audience:
    """The members of a parsed rule tree in a project, now."""
    return SnapshotAudience.open(project_id, root) or TableWalkAudience(project_id, root)


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
