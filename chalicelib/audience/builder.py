"""Columnar snapshots of a project's profiles, built from their documents: during a rescore
(shard by shard, merged at the end) or on demand. The snapshot audience reads them."""

from __future__ import annotations

import time

from ..rules import ABSENT, field_value
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

    def to_part(self, totals: dict) -> dict:
        """A JSON-ready part of a fan-out snapshot (absent values listed by row)."""
        fields = {}
        for path, (ftype, raw) in self.values.items():
            absent = [i for i, v in enumerate(raw) if v is ABSENT]
            fields[path] = {
                "type": ftype,
                "absent": absent,
                "values": [None if v is ABSENT else v for v in raw],
            }
        return {"ids": self.ids, "fields": fields, "events": self.events, "totals": totals}

    @classmethod
    def from_parts(cls, project_id: str, taken_at: str, parts: list[dict]) -> "SnapshotBuilder":
        kinds = {tuple(sorted((p, f["type"]) for p, f in part["fields"].items())) for part in parts}
        if len(kinds) > 1:
            raise ValueError(
                "the field catalogue changed while the shards were rescored; the "
                "next rescore takes the snapshot"
            )
        fields = list(kinds.pop()) if kinds else []
        builder = cls(project_id, taken_at, fields)
        for part in parts:
            builder.ids.extend(part["ids"])
            builder.events.extend(part.get("events") or [None] * len(part["ids"]))
            for path, f in part["fields"].items():
                values = f["values"]
                for i in f["absent"]:
                    values[i] = ABSENT
                builder.values[path][1].extend(values)
        return builder

    def save(self) -> float:
        """Store the snapshot (less any profile erased since it was read); bytes per profile."""
        snapshot = Snapshot.from_values(self.ids, self.values, self.events)
        erased = change_log.erased_since(self.project_id, self.taken_at)
        if erased:  # read before their erasure: their rows must not reach S3
            snapshot = snapshot.without(erased)
        model_store.ensure_bucket()
        snapshot_store.save(self.project_id, snapshot, self.taken_at)
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
