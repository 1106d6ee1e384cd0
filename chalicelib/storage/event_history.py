"""Reads of stored events for the Segment source: a profile's events as plain dicts (to move an
anonymous profile's events to the user's profile), and which of a batch's events are stored
already (to skip a redelivery's write). Read-only: events are written by storage.profile_table
alone."""

from __future__ import annotations

from . import batch, table_keys
from .connection import bind
from .tables import EventModel


def stored_events(project_id: str, profile_id: str) -> list[dict]:
    """Every stored event of the profile as `{"event_id", "type", "timestamp", "value"?,
    "properties"?}`, in event id order."""
    bind()
    out = []
    for item in EventModel.query(table_keys.profile_ref(project_id, profile_id)):
        data = item.data or {}
        event = {"event_id": item.event_id, "type": data["type"], "timestamp": data["timestamp"]}
        for name in ("value", "properties"):
            if data.get(name) is not None:
                event[name] = data[name]
        out.append(event)
    return out


def stored_event_ids(project_id: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (profile id, event id) pairs among `keys` whose event is stored already: a cheap batch
    read that lets a redelivery skip the write (the write's own condition still decides)."""
    bind()
    refs = {table_keys.profile_ref(project_id, pid): pid for pid, _ in keys}
    found = batch.get(
        EventModel,
        [(table_keys.profile_ref(project_id, pid), eid) for pid, eid in keys],
        consistent=False,
        attributes=["pk", "event_id"],
    )
    return {(refs[item.pk], item.event_id) for item in found}
