"""Bulk import of profiles with their events (demo seed, CLI imports): batched reads and writes
instead of one transaction per profile, for speed.

It is an offline path: it does not guard against concurrent writers to the same profiles (the API
does). It is idempotent: events already stored are skipped, and if it is interrupted, running it
again on the same input gives the same result (events are written before their profile, and a
profile that was not written yet is rebuilt from the input alone). Its items are built by the
same helpers as the API's writes (storage.profile_table, storage.change_log).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable

from ..behaviour import Event
from ..profile_documents import MAX_STORED_ATTRIBUTES, kind_deltas
from ..validation import now_iso
from . import batch, change_log, table_keys
from .connection import bind
from .profile_table import batch_get_items, event_item, kind_count_update, profile_item
from .tables import EventModel, ProfileModel

CHUNK = 100

ImportItem = tuple[str, dict, list[Event]]  # profile_id, attributes to merge, new events


def _existing_event_ids(
    project_id: str, items: list[ImportItem], existing: dict[str, ProfileModel]
) -> set[tuple[str, str]]:
    keys = [
        (table_keys.profile_ref(project_id, pid), e.event_id)
        for pid, _, events in items
        if pid in existing
        for e in events
    ]
    return {
        (item.pk, item.event_id)
        for item in batch.get(EventModel, keys, consistent=False, attributes=["pk", "event_id"])
    }


def import_profiles(
    project_id: str,
    items: Iterable[ImportItem],
    merge: Callable[[dict, dict], dict],
    aggregate: Callable[[dict | None, list[Event]], dict],
    progress: Callable[[int, int], None] | None = None,
) -> dict:
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
        existing = {
            m.profile_id: m for m in batch_get_items(project_id, [pid for pid, _, _ in unique])
        }
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
                if (
                    table_keys.profile_ref(project_id, pid),
                    e.event_id,
                ) in stored or e.event_id in seen:
                    totals["duplicates"] += 1
                    continue
                seen.add(e.event_id)
                fresh.append(e)
            if old is not None and not fresh and after == before:
                continue
            for name, delta in kind_deltas(before, after).items():
                for kind, n in delta.items():
                    deltas[name][kind] += n
            event_models += [event_item(project_id, pid, e, now) for e in fresh]
            behaviour = (
                aggregate(old.behaviour if old else None, fresh)
                if fresh or old is None
                else old.behaviour
            )
            profiles.append(
                profile_item(
                    project_id,
                    pid,
                    after,
                    behaviour,
                    (old.predictive or {}) if old else {},
                    old.created_at if old else now,
                    now,
                    (old.version or 0) + 1 if old else 1,
                )
            )
            totals["events"] += len(fresh)
            totals["created"] += old is None
        batch.write(EventModel, event_models)  # events before their profile: see module doc
        change_log.hints(project_id, [model.profile_id for model in profiles])  # hints first
        batch.write(ProfileModel, profiles)
        for name, delta in deltas.items():
            counter, actions = kind_count_update(project_id, name, delta)
            if actions:
                counter.update(actions=actions)
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
