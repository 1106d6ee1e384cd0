"""Project settings, one place for each: the time zone of day-based rules, the event properties
segments may filter on (a bounded number, so each profile's day counts stay bounded; see
rules/event_keys.py), and the project-wide control group (a percentage held out of every
segment; see services/segments.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..infra.errors import ValidationError
from ..rules.event_keys import MAX_EVENT_PROPERTIES, UTC, EventSettings
from ..storage import project_table
from ..validation import check_text, expect_object

MAX_ZONE_NAME = 64
CONTROL_KEY = "control_percent"  # the name in the settings and in a segment's body


def event_settings(project_id: str) -> EventSettings:
    time_zone, properties = project_table.get_settings(project_id)
    return EventSettings(time_zone or UTC, tuple(properties))


def get(project_id: str) -> dict:
    # imported here: the audience reads these settings (its catalogue), uplift_groups is in it
    from ..audience.uplift_groups import MAX_CONTROL_PERCENT

    return {
        **event_settings(project_id).to_dict(),
        CONTROL_KEY: project_table.control_percent(project_id),
        "limits": {
            "max_event_properties": MAX_EVENT_PROPERTIES,
            "max_control_percent": MAX_CONTROL_PERCENT,
        },
    }


def _time_zone(value, path: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ZONE_NAME:
        raise ValidationError("expected an IANA time zone name, e.g. Europe/Amsterdam", path)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {value!r}; expected an IANA name, e.g. Europe/Amsterdam",
            path,
            "invalid_value",
        ) from None
    return value


def _properties(value, path: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_EVENT_PROPERTIES:
        raise ValidationError(
            f"expected a list of at most {MAX_EVENT_PROPERTIES} property names",
            path,
            "invalid_value",
        )
    names = []
    for i, name in enumerate(value):
        check_text(name, f"{path}/{i}", 64)
        if not name or name in names:
            raise ValidationError("names are non-empty and distinct", f"{path}/{i}")
        names.append(name)
    return names


def update(project_id: str, body) -> dict:
    """Set the settings given (a setting left out keeps its value); all are checked before any
    is stored. New declared properties count events from then on; a new time zone applies to the
    days of events from then on and to every window."""
    body = expect_object(body, "", {"time_zone", "event_properties", CONTROL_KEY}, set())
    current = event_settings(project_id)
    time_zone = (
        _time_zone(body["time_zone"], "/time_zone") if "time_zone" in body else current.time_zone
    )
    properties = (
        _properties(body["event_properties"], "/event_properties")
        if "event_properties" in body
        else list(current.event_properties)
    )
    from ..audience.uplift_groups import parse_control_percent  # see get()

    control = parse_control_percent(body[CONTROL_KEY]) if CONTROL_KEY in body else None
    project_table.set_settings(project_id, None if time_zone == UTC else time_zone, properties)
    if control is not None:  # members move between the groups at each segment's next evaluation
        project_table.set_control_percent(project_id, control)
    return get(project_id)
