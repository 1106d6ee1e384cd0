"""A profile's stored events, read back as plain dicts (the Segment source moves an anonymous
profile's events to the user's profile when it learns who the visitor is). Read-only: events are
written by storage.profile_table alone."""

from __future__ import annotations

from . import table_keys
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
