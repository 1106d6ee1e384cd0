"""Event conditions: what a profile did, how often (or for how much), in a window of whole days.

    {"event": "purchase", "count": {"operator": "gte", "value": 2},
     "window": {"within_last_days": 30}}

- `event`: an event type, `custom` (optionally with `name`: the custom event's
  `properties.name`), or `any`;
- `where` (optional): one filter on a property the project declares segmentable,
  `{"property": "category", "operator": "eq", "value": "vinyl"}`, with the text and number
  operators of the registry; events without the property, or with a value of another type, are
  not counted;
- `count` (number of events) or, for purchases, `sum` (of their `value`), each with a number
  operator (`eq`, `neq`, `gt`, `gte`, `lt`, `lte`, `between`); `count` `eq 0` is "did not";
- `window` (optional, else all time): `within_last_days` N (today and the N - 1 days before),
  `between` two dates (both included), `before` or `after` a date (that day excluded).
Days are whole days in the project's time zone (UTC unless set). Parsed once into an
EventCondition; both evaluators read the same day counts (rules/event_keys.py), one profile at a
time here, vectorised over the snapshot's day buckets in event_columns.py. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

import numpy as np

from ..infra.errors import ValidationError
from .column_encoding import Column
from .day_buckets import day_number
from .event_keys import (
    ANY,
    CUSTOM,
    EVENT_TYPES,
    SUMMED,
    EventSettings,
    day_counts,
    local_day,
    selects,
)
from .event_keys import split_key as _split_key
from .operators import MAX_DAYS, OPERATORS, Operator
from .stored import COERCE, MISMATCH, NUMBER, TEXT, is_number

EVENTS = (*EVENT_TYPES, ANY)
EVENT_LABELS = {  # as the builder shows them: "did [purchase] ..."
    "session_start": "start a session",
    "page_view": "view a page",
    "product_view": "view a product",
    "add_to_cart": "add to cart",
    "remove_from_cart": "remove from cart",
    "checkout": "check out",
    "purchase": "purchase",
    "refund": "get a refund",
    "search": "search",
    "persuasion": "see a persuasion message",
    "custom": "a custom event",
    ANY: "anything",
}
MEASURES = ("count", "sum")
MEASURE_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
NUMBER_ONLY = ("gt", "gte", "lt", "lte", "between")
TEXT_ONLY = ("contains", "not_contains", "starts_with", "ends_with")
PROPERTY_OPERATORS = ("eq", "neq", "in", "not_in", *NUMBER_ONLY, *TEXT_ONLY)
WINDOWS = {
    "within_last_days": "in the last (days)",
    "between": "between",
    "before": "before",
    "after": "after",
}
MAX_COUNT = 10**9
KEYS = {"event", "name", "where", "count", "sum", "window"}


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    type: str  # number or text: what the operator compares
    operator: Operator
    value: Any
    raw_value: Any

    def test(self, stored: Any, now: datetime) -> bool:
        typed = COERCE[self.type](stored)
        if typed is MISMATCH:
            return False
        try:
            return bool(self.operator.test(typed, self.value, now))
        except TypeError:
            return False

    def to_dict(self) -> dict:
        return {"property": self.property, "operator": self.operator.name, "value": self.raw_value}


@dataclass(frozen=True)
class EventCondition:
    event: str
    name: str | None
    where: PropertyFilter | None
    measure: str  # count | sum
    operator: Operator
    value: Any
    raw_value: Any
    window: tuple[str, Any] | None  # (kind, value) or None: all time
    time_zone: str

    def to_dict(self) -> dict:
        out: dict = {"event": self.event}
        if self.name:
            out["name"] = self.name
        if self.where:
            out["where"] = self.where.to_dict()
        out[self.measure] = {"operator": self.operator.name, "value": self.raw_value}
        if self.window:
            kind, value = self.window
            out["window"] = {kind: list(value) if kind == "between" else value}
        return out

    def days(self, now: datetime) -> tuple[int | None, int | None]:
        """First and last day of the window (day numbers, both included; None: unbounded)."""
        if self.window is None:
            return None, None
        kind, value = self.window
        if kind == "within_last_days":
            today = local_day(now, self.time_zone)
            return today - (value - 1), today
        if kind == "between":
            return day_number(value[0]), day_number(value[1])
        day = day_number(value)
        return (None, day - 1) if kind == "before" else (day + 1, None)

    def counts_key(self, key: str, now: datetime) -> bool:
        """Whether the events stored under `key` are the ones this condition counts."""
        event_key, prop, value = _split_key(key)
        if not event_key or not selects(self.event, self.name, event_key):
            return False
        if self.where is None:
            return prop is None
        return prop == self.where.property and self.where.test(value, now)

    def decide(self, total: float, now: datetime) -> bool:
        return bool(self.operator.test(total, self.value, now))


def event_language(settings: EventSettings) -> dict:
    """Event conditions as /fields describes them to clients building rules."""
    return {
        "events": [{"name": e, "label": EVENT_LABELS[e]} for e in EVENTS],
        "measures": {"count": "number of events", "sum": f"sum of value ({SUMMED} only)"},
        "summed_event": SUMMED,
        "measure_operators": list(MEASURE_OPERATORS),
        "property_operators": list(PROPERTY_OPERATORS),
        "windows": [{"name": w, "label": label} for w, label in WINDOWS.items()],
        "properties": list(settings.event_properties),
        "time_zone": settings.time_zone,
        "days": f"whole days in {settings.time_zone}; within_last_days N is today and the N - 1 "
        "days before",
        "max_days": MAX_DAYS,
    }


# --- parsing --------------------------------------------------------------------------------


def _object(node: Any, path: str, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(node, dict):
        raise ValidationError("expected an object", path, "invalid_type")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise ValidationError(f"unknown key {unknown[0]!r}", f"{path}/{unknown[0]}", "unknown_key")
    for key in sorted(required - set(node)):
        raise ValidationError(f"{key} is required", f"{path}/{key}", "missing")
    return node


def _operator(name: Any, allowed: tuple[str, ...], path: str) -> Operator:
    if not isinstance(name, str) or name not in allowed:
        raise ValidationError(
            f"unknown operator {str(name)[:50]!r}; allowed: {list(allowed)}",
            path,
            "unknown_operator",
        )
    return OPERATORS[name]


def _measure(node: Any, measure: str, path: str) -> tuple[Operator, Any, Any]:
    _object(node, path, {"operator", "value"}, {"operator", "value"})
    operator = _operator(node["operator"], MEASURE_OPERATORS, f"{path}/operator")
    raw = node["value"]
    value = operator.check_value(NUMBER, (), raw, f"{path}/value")
    items = list(value) if isinstance(value, tuple) else [value]
    item_paths = (
        [f"{path}/value/{i}" for i in range(len(items))] if len(items) > 1 else [f"{path}/value"]
    )
    for item, item_path in zip(items, item_paths):
        if item < 0 or item > MAX_COUNT:
            raise ValidationError(
                f"expected a number from 0 to {MAX_COUNT}", item_path, "invalid_value"
            )
        if measure == "count" and item != int(item):
            raise ValidationError("a count is a whole number", item_path, "invalid_value")
    return operator, value, raw


def _day(value: Any, path: str) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValidationError("expected a date YYYY-MM-DD", path, "invalid_value")


def _window(node: Any, path: str) -> tuple[str, Any] | None:
    if node is None:
        return None
    _object(node, path, set(WINDOWS), set())
    if len(node) != 1:
        raise ValidationError(f"a window has exactly one of {list(WINDOWS)}", path, "invalid_value")
    ((kind, value),) = node.items()
    at = f"{path}/{kind}"
    if kind == "within_last_days":
        if not is_number(value) or value != int(value) or not 1 <= value <= MAX_DAYS:
            raise ValidationError(
                f"expected a whole number of days from 1 to {MAX_DAYS}", at, "invalid_value"
            )
        return kind, int(value)
    if kind == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValidationError("expected [from, to]", at, "invalid_value")
        first, last = _day(value[0], f"{at}/0"), _day(value[1], f"{at}/1")
        if first > last:
            raise ValidationError("from must not be after to", at, "invalid_value")
        return kind, (first, last)
    return kind, _day(value, at)


def _property_type(operator: Operator, value: Any, path: str) -> str:
    if operator.name in NUMBER_ONLY:
        return NUMBER
    if operator.name in TEXT_ONLY:
        return TEXT
    items = value if isinstance(value, list) and operator.name in ("in", "not_in") else [value]
    if items and all(is_number(v) for v in items):
        return NUMBER
    if items and all(isinstance(v, str) for v in items):
        return TEXT
    raise ValidationError("expected text or numbers (not both)", path, "invalid_value")


def _where(node: Any, path: str, settings: EventSettings) -> PropertyFilter:
    _object(node, path, {"property", "operator", "value"}, {"property", "operator", "value"})
    prop = node["property"]
    if not isinstance(prop, str) or prop not in settings.event_properties:
        raise ValidationError(
            f"property {str(prop)[:64]!r} is not declared segmentable; declared: "
            f"{list(settings.event_properties)} (project settings, event_properties)",
            f"{path}/property",
            "undeclared_property",
        )
    operator = _operator(node["operator"], PROPERTY_OPERATORS, f"{path}/operator")
    ptype = _property_type(operator, node["value"], f"{path}/value")
    value = operator.check_value(ptype, (), node["value"], f"{path}/value")
    return PropertyFilter(prop, ptype, operator, value, node["value"])


def parse_event_condition(node: dict, path: str, settings: EventSettings) -> EventCondition:
    """An event condition from its JSON, or a ValidationError naming the offending place."""
    _object(node, path, KEYS, {"event"})
    event = node["event"]
    if not isinstance(event, str) or event not in EVENTS:
        raise ValidationError(
            f"unknown event {str(event)[:50]!r}; one of {list(EVENTS)}",
            f"{path}/event",
            "unknown_event",
        )
    name = node.get("name")
    if name is not None and (event != CUSTOM or not isinstance(name, str) or not 0 < len(name)):
        raise ValidationError(
            "name is the name of a custom event (its properties.name), a non-empty text",
            f"{path}/name",
            "invalid_value",
        )
    if name is not None and len(name) > 64:
        raise ValidationError("at most 64 characters", f"{path}/name", "invalid_value")
    measures = [m for m in MEASURES if m in node]
    if len(measures) != 1:
        raise ValidationError("give exactly one of count or sum", f"{path}/count", "missing")
    measure = measures[0]
    if measure == "sum" and event != SUMMED:
        raise ValidationError(
            "sum adds up the value of purchases: use it with event purchase",
            f"{path}/sum",
            "invalid_value",
        )
    operator, value, raw = _measure(node[measure], measure, f"{path}/{measure}")
    where = _where(node["where"], f"{path}/where", settings) if "where" in node else None
    window = _window(node.get("window"), f"{path}/window")
    return EventCondition(
        event, name, where, measure, operator, value, raw, window, settings.time_zone
    )


# --- evaluation -------------------------------------------------------------------------------


def predicate(cond: EventCondition, now: datetime) -> Callable[[dict], bool]:
    """The test of one profile document."""
    first, last = cond.days(now)
    first = -(2**62) if first is None else first
    last = 2**62 if last is None else last
    summed = cond.measure == "sum"
    chosen: dict[str, bool] = {}

    def matches(profile: dict) -> bool:
        behaviour = profile.get("behaviour") if isinstance(profile, dict) else None
        stored = behaviour.get("events") if isinstance(behaviour, dict) else None
        total = 0
        for key, days in stored.items() if isinstance(stored, dict) else ():
            counted = chosen.get(key)
            if counted is None:
                counted = chosen[key] = isinstance(key, str) and cond.counts_key(key, now)
            if counted:
                for day, count, cents in day_counts(days):
                    if first <= day <= last:
                        total += cents if summed else count
        return cond.decide(total / 100 if summed else total, now)

    return matches


def mask(cond: EventCondition, now: datetime, events) -> np.ndarray:
    """The same answer for every row of a snapshot's event columns (event_columns.py): per row,
    the window's total over the keys the condition counts, compared as a number column."""
    first_day, last_day = cond.days(now)
    summed = cond.measure == "sum"
    chosen = [
        cents if summed else counts
        for key, counts, cents in zip(events.keys, events.counts, events.cents)
        if (cents if summed else counts) is not None and cond.counts_key(key, now)
    ]
    if not chosen:
        return np.full(events.n, cond.decide(0, now))
    if len(chosen) == 1:
        total = chosen[0].window_sum_indexed(first_day, last_day)
    else:  # several keys (any, custom, a property filter): their window slices summed at once
        slices = [b.window_slice(first_day, last_day) for b in chosen]
        total = np.bincount(
            np.concatenate([rows for rows, _ in slices]),
            weights=np.concatenate([values for _, values in slices]),
            minlength=events.n,
        )
    # cents: a scaled integer column (x 10^2) that the number operators compare exactly as the
    # per-profile evaluator compares cents / 100; whole counts: the sums as they are (exact
    # doubles, compared as floats: a million-row conversion to integers cost a fifth of a rule)
    present = np.ones(events.n, dtype=bool)
    if summed:
        column = Column(NUMBER, present, total.astype(np.int64), scale=2)
    else:
        column = Column(NUMBER, present, np.asarray(total, dtype=np.float64))
    return cond.operator.mask(column, NUMBER, cond.value, now)
