"""Bulk import of profiles with their events (demo seed, CLI imports): batched reads and writes
instead of one transaction per profile, for speed.

It is an offline path: it does not guard against concurrent writers to the same profiles (the API
does). It is idempotent: events already stored are skipped, and if it is interrupted, running it
again on the same input gives the same result (events are written before their profile, and a
profile that was not written yet is rebuilt from the input alone).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable

from ..behaviour import Event
from ..profiles import MAX_STORED_ATTRIBUTES, kind_deltas
from ..validation import now_iso
from .connection import bind
from . import batch, changes
from .models import AttributeKindModel, ChangeModel, EventModel, ProfileModel
from .profiles import KIND_ATTRS, profile_key

CHUNK = 100

ImportItem = tuple[str, dict, list[Event]]  # profile_id, attributes to merge, new events


def _existing_event_ids(project_id: str, items: list[ImportItem],
                        existing: dict[str, ProfileModel]) -> set[tuple[str, str]]:
    keys = [(f"{project_id}#{pid}", e.event_id) for pid, _, events in items if pid in existing
            for e in events]
    return {(item.pk, item.event_id)
            for item in batch.get(EventModel, keys, consistent=False,
                                  attributes=["pk", "event_id"])}


def import_profiles(project_id: str, items: Iterable[ImportItem],
                    merge: Callable[[dict, dict], dict],
                    aggregate: Callable[[dict | None, list[Event]], dict],
                    progress: Callable[[int, int], None] | None = None) -> dict:
    bind()
    totals = {"profiles": 0, "created": 0, "events": 0, "duplicates": 0, "skipped_profiles": 0}
    chunk: list[ImportItem] = []

    def flush() -> None:
        merged: dict[str, ImportItem] = {}
        for pid, attrs, events in chunk:  # one profile may appear more than once in a chunk
            if pid in merged:
                _, a, ev = merged[pid]
                merged[pid] = (pid, {**a, **attrs}, ev + events)
            else:
                merged[pid] = (pid, attrs, list(events))
        unique = list(merged.values())
        keys = [(profile_key(project_id, pid), pid) for pid, _, _ in unique]
        existing = {m.profile_id: m for m in batch.get(ProfileModel, keys)}
        stored = _existing_event_ids(project_id, unique, existing)
        now = now_iso()
        profiles, event_models = [], []
        deltas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for pid, attrs, events in unique:
            old = existing.get(pid)
            before = (old.attrs or {}) if old else {}
            after = merge(before, attrs)
            if len(after) > MAX_STORED_ATTRIBUTES:
                totals["skipped_profiles"] += 1
                continue
            seen, fresh = set(), []
            for e in events:
                if (f"{project_id}#{pid}", e.event_id) in stored or e.event_id in seen:
                    totals["duplicates"] += 1
                    continue
                seen.add(e.event_id)
                fresh.append(e)
            if old is not None and not fresh and after == before:
                continue
            for name, delta in kind_deltas(before, after).items():
                for kind, n in delta.items():
                    deltas[name][kind] += n
            event_models += [EventModel(f"{project_id}#{pid}", e.event_id, data=e.stored_data(now))
                             for e in fresh]
            behaviour = aggregate(old.behaviour if old else None, fresh) if fresh or old is None \
                else old.behaviour
            profiles.append(ProfileModel(
                profile_key(project_id, pid), pid, project_id=project_id, attrs=after,
                behaviour=behaviour, predictive=(old.predictive or {}) if old else {},
                created_at=old.created_at if old else now, updated_at=now,
                version=(old.version or 0) + 1 if old else 1))
            totals["events"] += len(fresh)
            totals["created"] += old is None
        batch.write(EventModel, event_models)  # events before their profile: see module doc
        batch.write(ChangeModel, [changes.entry(project_id, model.profile_id)  # hints first
                                  for model in profiles])
        batch.write(ProfileModel, profiles)
        for name, delta in deltas.items():
            actions = [KIND_ATTRS[k].add(n) for k, n in delta.items() if n]
            if actions:
                AttributeKindModel(project_id, name).update(actions=actions)
        totals["profiles"] += len(unique)
        chunk.clear()
        if progress:
            progress(totals["profiles"], totals["events"])

    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    return totals
