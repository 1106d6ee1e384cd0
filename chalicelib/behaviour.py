"""Events and the behaviour aggregates they build on a profile. Pure.

Aggregation is commutative (counts, sums, min/max of times), so events may arrive in any order;
idempotency (an event counted once) is the storage layer's job, keyed by event_id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .infra.errors import ValidationError
from .predict.fields import PERSUASION_TYPES
from .rules import event_keys
from .rules.event_keys import EVENT_TYPES, EventSettings
from .validation import check_id, check_number, check_text, check_timestamp, expect_object, iso

COUNTERS = {
    "session_start": "sessions",
    "page_view": "page_views",
    "product_view": "product_views",
    "add_to_cart": "add_to_cart",
    "search": "searches",
    "checkout": "checkouts",
}
ACTIVITY_SLOTS = {"session_start": 0, "page_view": 1, "product_view": 2, "add_to_cart": 3}
MAX_PROPERTIES_BYTES = 4096
MAX_ORDER_VALUE = 1e9
# Days of history kept day by day before a profile's latest event; older days are summed into the
# first day of their month, so a profile's history stays bounded however long it lives
# (timestamps go back to 1990: at most ~450 months + 731 days; a page view and an order every day
# since then take about 70 KB). The models read day-exact
# windows reaching about 640 days back (predict/model.py: label window up to 365 days, 26 weekly
# cuts, 90-day features); what they read of older history (totals, first seen) keeps its sums.
DAILY_HISTORY_DAYS = 730


@dataclass(frozen=True)
class Event:
    event_id: str
    profile_id: str
    type: str
    timestamp: datetime
    value: float | None = None
    properties: dict = field(default_factory=dict)

    def stored_data(self, received_at: str) -> dict:
        """What the events table keeps of the event, next to its key."""
        out = {"type": self.type, "timestamp": iso(self.timestamp), "received_at": received_at}
        if self.value is not None:
            out["value"] = self.value
        if self.properties:
            out["properties"] = self.properties
        return out


def _check_properties(value: Any, path: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("properties must be an object", path, "invalid_type")
    if len(json.dumps(value)) > MAX_PROPERTIES_BYTES:
        raise ValidationError(
            f"properties take at most {MAX_PROPERTIES_BYTES} bytes of JSON", path, "too_large"
        )
    for key, item in value.items():
        check_text(key, f"{path}/{key[:64]}", 64)
        if isinstance(item, float):
            check_number(item, f"{path}/{key}")
    if "discount" in value and not isinstance(value["discount"], bool):
        raise ValidationError("discount must be true or false", f"{path}/discount", "invalid_type")
    if "persuasion" in value:
        p = expect_object(
            value["persuasion"],
            f"{path}/persuasion",
            {"principle", "responded", "response_to"},
            {"principle"},
        )
        if "response_to" in p:  # a late response: the event id of the exposure it answers
            check_id(p["response_to"], f"{path}/persuasion/response_to", "response_to")
        if p["principle"] not in PERSUASION_TYPES:
            raise ValidationError(
                f"principle must be one of {list(PERSUASION_TYPES)}",
                f"{path}/persuasion/principle",
                "invalid_value",
            )
        if not isinstance(p.get("responded", False), bool):
            raise ValidationError(
                "responded must be true or false", f"{path}/persuasion/responded", "invalid_type"
            )
    return value


def parse_event(raw: Any, path: str, now: datetime | None = None) -> Event:
    """A raw event from the API or an import turned into an Event, or a ValidationError."""
    body = expect_object(
        raw,
        path,
        {"event_id", "profile_id", "type", "timestamp", "value", "properties"},
        {"event_id", "profile_id", "type", "timestamp"},
    )
    event_type = body["type"]
    if event_type not in EVENT_TYPES:
        raise ValidationError(
            f"type must be one of {list(EVENT_TYPES)}", f"{path}/type", "invalid_value"
        )
    value = body.get("value")
    if value is not None:
        value = check_number(value, f"{path}/value", 0, MAX_ORDER_VALUE)
    elif event_type in ("purchase", "refund"):
        raise ValidationError(f"a {event_type} needs a value", f"{path}/value", "missing")
    return Event(
        event_id=check_id(body["event_id"], f"{path}/event_id", "event_id"),
        profile_id=check_id(body["profile_id"], f"{path}/profile_id", "profile_id"),
        type=event_type,
        timestamp=check_timestamp(body["timestamp"], f"{path}/timestamp", now),
        value=value,
        properties=_check_properties(body.get("properties"), f"{path}/properties"),
    )


def _earliest(a: str | None, b: str) -> str:
    return b if a is None or b < a else a


def _latest(a: str | None, b: str) -> str:
    return b if a is None or b > a else a


def apply_events(
    behaviour: dict | None, events: list[Event], settings: EventSettings | None = None
) -> dict:
    """New behaviour aggregates: `behaviour` with `events` counted in. Does not mutate input.
    `settings` (the project's time zone and declared event properties) shape the day counts that
    event conditions read (rules/event_keys.py)."""
    settings = settings or EventSettings()
    out = json.loads(json.dumps(behaviour or {}))
    # event conditions' day counts (rules/event_keys.py), unpacked while events are counted in
    by_key = {}
    for key, entry in out.get("events", {}).items():
        by_key[key] = event_keys.unpacked(entry) or []
    purchases = out.setdefault("purchases", {})  # "YYYY-MM-DD" -> [orders, amount]
    # "YYYY-MM-DD" -> [sessions, page views, product views, add-to-carts, discount interactions]:
    # lets models rebuild the behaviour as of any past date (time-split training).
    activity = out.setdefault("activity", {})
    persuasion = out.setdefault("persuasion", {})  # principle -> [shown, responded]
    for event in events:
        when = iso(event.timestamp)  # fixed-width UTC strings compare like times
        out["first_seen"] = _earliest(out.get("first_seen"), when)
        out["last_seen"] = _latest(out.get("last_seen"), when)
        counter = COUNTERS.get(event.type)
        if counter:
            out[counter] = out.get(counter, 0) + 1
        slot = ACTIVITY_SLOTS.get(event.type)
        discount = event.properties.get("discount") is True
        if slot is not None or discount:
            day = activity.setdefault(when[:10], [0, 0, 0, 0, 0])
            if slot is not None:
                day[slot] += 1
            if discount:
                day[4] += 1
        if event.type == "purchase":
            out["orders"] = out.get("orders", 0) + 1
            out["revenue"] = round(out.get("revenue", 0) + event.value, 2)
            out["first_order_at"] = _earliest(out.get("first_order_at"), when)
            out["last_order_at"] = _latest(out.get("last_order_at"), when)
            day = purchases.setdefault(when[:10], [0, 0])
            day[0] += 1
            day[1] = round(day[1] + event.value, 2)
        _count_event(by_key, event, settings)
        if event.type == "refund":  # money given back: net revenue; the order still counts
            out["revenue"] = round(out.get("revenue", 0) - event.value, 2)
        if discount:
            out["discount_interactions"] = out.get("discount_interactions", 0) + 1
        shown = event.properties.get("persuasion")
        if shown:
            counts = persuasion.setdefault(shown["principle"], [0, 0])
            if "response_to" in shown:  # a late response to an earlier exposure: no new exposure
                counts[1] += 1 if shown.get("responded", True) else 0
            else:
                counts[0] += 1
                counts[1] += 1 if shown.get("responded") else 0
    if events:
        cutoff = (
            date.fromisoformat(out["last_seen"][:10]) - timedelta(days=DAILY_HISTORY_DAYS)
        ).isoformat()
        _sum_into_months(activity, cutoff)
        _sum_into_months(purchases, cutoff)
        day_cutoff = (date.fromisoformat(cutoff) - event_keys.EPOCH).days
        for entry in by_key.values():
            event_keys.roll_up(entry, day_cutoff)
    out["events"] = {key: event_keys.packed(entry) for key, entry in by_key.items() if entry}
    for name in (
        "sessions",
        "page_views",
        "product_views",
        "add_to_cart",
        "orders",
        "revenue",
        "discount_interactions",
    ):
        out.setdefault(name, 0)
    out["average_order_value"] = round(out["revenue"] / out["orders"], 2) if out["orders"] else 0
    return out


def _sum_into_months(days: dict, cutoff: str) -> None:
    """Each day before `cutoff` summed into the first day of its month (which is before `cutoff`
    too, so no kept day is touched). The result depends only on the days and the cutoff, and the
    cutoff only on the latest event: aggregation stays independent of arrival order."""
    for day in [d for d in days if d < cutoff and not d.endswith("-01")]:
        counts = days.pop(day)
        month = days.setdefault(day[:8] + "01", [0] * len(counts))
        for i, n in enumerate(counts):
            month[i] = round(month[i] + n, 2)  # amounts in cents, as they are counted


def _count_event(by_key: dict, event: Event, settings: EventSettings) -> None:
    """The event counted on its day under its key, and under each declared property it holds.
    New custom names and property values stop being counted at their per-profile bounds."""
    day = event_keys.local_day(event.timestamp, settings.time_zone)
    key = event_keys.base_key(event.type, event.properties)
    if key not in by_key and key.startswith(event_keys.CUSTOM_PREFIX):
        names = sum(1 for k in by_key if k.startswith(event_keys.CUSTOM_PREFIX))
        if names >= event_keys.MAX_CUSTOM_NAMES:
            key = event_keys.CUSTOM
    amount = (event.value or 0) if event.type == event_keys.SUMMED else None
    by_key[key] = event_keys.add_event(by_key.get(key), day, amount)
    for prop in settings.event_properties:
        value = event_keys.property_value(event.properties.get(prop))
        if value is None:
            continue
        pkey = event_keys.property_key(key, prop, value)
        if pkey not in by_key:
            prefix = event_keys.property_key(key, prop, None)[:-5]  # '[key,prop,' of the keys
            if sum(1 for k in by_key if k.startswith(prefix)) >= event_keys.MAX_PROPERTY_VALUES:
                continue
        by_key[pkey] = event_keys.add_event(by_key.get(pkey), day, amount)
