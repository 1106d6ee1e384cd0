"""What profiles keep of their events for event conditions, and the project settings that shape
it. Pure. Shared by the aggregation (behaviour.py, which writes the counts) and the rules (which
read them), so both name the same keys.

`behaviour.events` maps a key to `[days, counts]` (purchases: `[days, counts, amounts]`), parallel
lists. Days are day numbers (days since 1970-01-01 in the project's time zone), ascending, stored
as gaps: the first day, then each day less the one before (`[[20000, 1, 5], [2, 1, 1]]` is 2 events
on day 20000, 1 on day 20001 and 1 on day 20006); a third of the bytes of date-keyed maps.
Keys:
- an event type (`purchase`), or `custom:NAME` for a custom event whose `properties.name` is a
  text; a custom event without a name counts under `custom`;
- a declared property's value: the JSON array `[event key, property, value]`, e.g.
  `["purchase","category","vinyl"]` (values: text up to MAX_PROPERTY_TEXT characters, or
  numbers).
Bounded per profile: the day-by-day roll-up of behaviour.py (DAILY_HISTORY_DAYS, then months),
at most MAX_CUSTOM_NAMES custom names and MAX_PROPERTY_VALUES values per event key and property
(later new ones are not counted), and at most MAX_EVENT_PROPERTIES declared properties.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .stored import is_number as _is_number

EVENT_TYPES = (
    "session_start",
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    "refund",
    "search",
    "persuasion",
    "custom",
)
ANY = "any"
CUSTOM = "custom"
CUSTOM_PREFIX = "custom:"
SUMMED = "purchase"  # the event type whose `value` is summed per day (an order's amount)
MAX_EVENT_PROPERTIES = 10
MAX_CUSTOM_NAMES = 50
MAX_PROPERTY_VALUES = 50
MAX_PROPERTY_TEXT = 100
MAX_CUSTOM_NAME = 64
UTC = "UTC"
EPOCH = date(1970, 1, 1)
MIN_DAY, MAX_DAY = -(10**6), 10**6  # day numbers a stored day may hold (years ~ -770..4700)


@dataclass(frozen=True)
class EventSettings:
    """A project's settings for day-based rules and event aggregation."""

    time_zone: str = UTC
    event_properties: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"time_zone": self.time_zone, "event_properties": list(self.event_properties)}


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime, time_zone: str = UTC) -> int:
    """The whole day a moment falls on in the time zone, as days since 1970-01-01."""
    if time_zone == UTC:
        return (moment.astimezone(timezone.utc).date() - EPOCH).days
    return (moment.astimezone(zone(time_zone)).date() - EPOCH).days


def base_key(event_type: str, properties: dict) -> str:
    """The key an event counts under."""
    name = properties.get("name") if event_type == CUSTOM else None
    if isinstance(name, str) and 0 < len(name) <= MAX_CUSTOM_NAME:
        return CUSTOM_PREFIX + name
    return event_type


def property_value(value) -> str | float | int | None:
    """A property value as it is counted: text up to MAX_PROPERTY_TEXT, a number; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value if len(value) <= MAX_PROPERTY_TEXT else None
    if isinstance(value, (int, float)):
        return value
    return None


def property_key(key: str, prop: str, value) -> str:
    return json.dumps([key, prop, value], ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=65536)
def split_key(key: str) -> tuple[str, str | None, object]:
    """(event key, property or None, value or None) of a stored key."""
    if key.startswith("["):
        try:
            event_key, prop, value = json.loads(key)
            return event_key, prop, value
        except (ValueError, TypeError):
            return "", None, None
    return key, None, None


def selects(event: str, name: str | None, key: str) -> bool:
    """Whether events counted under `key` (an event key) are the condition's `event`."""
    if event == ANY:
        return True
    if event == CUSTOM:
        return (
            key == CUSTOM_PREFIX + name if name else key == CUSTOM or key.startswith(CUSTOM_PREFIX)
        )
    return key == event


def unpacked(entry: Any) -> list | None:
    """A stored key's lists with absolute day numbers (a copy), or None if malformed."""
    if not isinstance(entry, list) or len(entry) not in (2, 3):
        return None
    if not all(isinstance(column, list) and len(column) == len(entry[0]) for column in entry):
        return None
    days, day = [], 0
    for gap in entry[0]:
        if not _whole(gap):
            return None
        day += int(gap)
        days.append(day)
    return [days, *(list(column) for column in entry[1:])]


def packed(entry: list) -> list:
    """Absolute day numbers back to gaps, as stored."""
    days = entry[0]
    return [[b - a for a, b in zip([0, *days[:-1]], days)], *entry[1:]]


def add_event(entry: list | None, day: int, amount: float | None) -> list:
    """The key's days with one event counted on `day` (a day number); with an amount for
    summed events. Days stay ascending."""
    summed = amount is not None
    if not entry:
        entry = [[], [], []] if summed else [[], []]
    days = entry[0]
    at = bisect_left(days, day)
    if at == len(days) or days[at] != day:
        for column in entry:
            column.insert(at, 0)
        days[at] = day
    entry[1][at] += 1
    if summed and len(entry) == 3:
        entry[2][at] = round(entry[2][at] + amount, 2)
    return entry


def roll_up(entry: list, cutoff: int) -> None:
    """Each day before `cutoff` (a day number) summed into the first day of its month, as
    behaviour.py rolls up its other day maps: the result depends only on the days and cutoff."""
    days = entry[0]
    if not days or days[0] >= cutoff:
        return
    merged: dict[int, list] = {}
    for i, day in enumerate(days):
        if day < cutoff:
            moment = EPOCH + timedelta(days=day)
            day = (moment.replace(day=1) - EPOCH).days
        row = merged.setdefault(day, [0] * (len(entry) - 1))
        for j in range(1, len(entry)):
            row[j - 1] = round(row[j - 1] + entry[j][i], 2)
    ordered = sorted(merged)
    entry[0][:] = ordered
    for j in range(1, len(entry)):
        entry[j][:] = [merged[d][j - 1] for d in ordered]


def day_counts(entry: Any):
    """(day number, count, cents) of each valid stored day of a key (stored with gaps, see
    above): what both evaluators read, so a malformed entry is skipped alike. Cents: the day's
    amount x 100 as an integer (purchases; else 0)."""
    if not isinstance(entry, list) or len(entry) not in (2, 3):
        return
    if not all(isinstance(column, list) for column in entry):
        return
    amounts = entry[2] if len(entry) == 3 else None
    day = 0
    for i, (gap, count) in enumerate(zip(entry[0], entry[1])):
        if not _whole(gap) or not MIN_DAY <= gap <= 2 * MAX_DAY:
            return  # the days after a broken gap are unknown
        day += int(gap)
        amount = amounts[i] if amounts is not None and i < len(amounts) else 0
        if not (_whole(count) and _is_number(amount)):
            continue
        if not MIN_DAY <= day <= MAX_DAY or count < 0 or not 0 <= amount <= 1e13:
            continue
        yield int(day), int(count), int(round(amount * 100))


def _whole(value: Any) -> bool:
    return _is_number(value) and value == int(value)
