"""Columnar snapshots of a project's profiles, built from their documents: during a rescore
(shard by shard, merged at the end) or on demand. The snapshot audience reads them."""

from __future__ import annotations

import time

from ..rules import field_value
from ..rules.column_encoding import event_days
from ..rules.columnar import Snapshot
from ..storage import change_log, model_store, profile_table, snapshot_store
from .catalogue import catalogue

PAGE = 2000  # documents collected at a time by snapshot_project


class SnapshotBuilder:
    """Collects each profile's segmentable values; saves them as a snapshot. It is taken as of
    `taken_at` (a rescore's start): changes from then on are in the change log, and the snapshot
    audience re-reads those profiles on top of it."""

    def __init__(self, project_id: str, taken_at: str | None = None, fields=None):
        self.project_id = project_id
        self.taken_at = taken_at or change_log.stamp()
        self.fields = (
            [(f.path, f.type) for f in catalogue(project_id)] if fields is None else fields
        )
        self.ids: list[str] = []
        self.values = {path: (ftype, []) for path, ftype in self.fields}
        self.events: list = []  # each profile's behaviour.events, for event conditions

    def add(self, documents: list[dict]) -> None:
        for document in documents:
            self.ids.append(document["profile_id"])
            self.events.append(event_days(document))
            for path, _ in self.fields:
                self.values[path][1].append(field_value(document, path))

    def snapshot(self) -> Snapshot:
        """The rows collected so far, columnar, sorted by profile id."""
        return Snapshot.from_values(self.ids, self.values, self.events)

    def truncate(self, last_id: str) -> None:
        """Keep the rows up to the profile id `last_id` (rows were added in id order)."""
        keep = sum(1 for pid in self.ids if pid <= last_id)
        del self.ids[keep:]
        del self.events[keep:]
        for _, raw in self.values.values():
            del raw[keep:]

    def save(self) -> float:
        """Store the snapshot (less any profile erased since it was read); bytes per profile."""
        return save_snapshot(self.project_id, self.snapshot(), self.taken_at)


def save_snapshot(
    project_id: str, snapshot: Snapshot, taken_at: str, read_at: str | None = None
) -> float:
    """Store a snapshot taken as of `taken_at`, less the profiles erased since (read before their
    erasure: their rows must not reach S3); bytes per profile. `read_at`: a compaction's, when
    its base was read from the table (snapshot_store.save)."""
    erased = change_log.erased_since(project_id, taken_at)
    if erased:
        snapshot = snapshot.without(erased)
    model_store.ensure_bucket()
    snapshot_store.save(project_id, snapshot, taken_at, read_at)
    return round(snapshot.nbytes() / max(snapshot.n, 1), 1)


def snapshot_project(project_id: str) -> dict:
    """Refresh the project's snapshot without rescoring (e.g. when the change log grew long)."""
    started = time.time()
    builder = SnapshotBuilder(project_id)
    batch = []
    for _, document in profile_table.iter_documents(project_id, page_size=PAGE):
        batch.append(document)
        if len(batch) == PAGE:
            builder.add(batch)
            batch = []
    builder.add(batch)
    return {
        "profiles": len(builder.ids),
        "bytes_per_profile": builder.save(),
        "seconds": round(time.time() - started, 2),
    }
