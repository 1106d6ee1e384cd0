"""The operator registry: every operator, the field types it applies to, how its value is checked
when a segment is saved, and how it tests one stored value. Pure: no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from ..errors import ValidationError

NUMBER, TEXT, ENUM, DATE, BOOLEAN, LIST = "number", "text", "enum", "date", "boolean", "list"

MAX_TEXT = 1000
MAX_IN_VALUES = 500
MAX_DAYS = 36500
MISMATCH = object()  # a stored value of another type than the field: matches nothing


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> datetime | None:
    """ISO-8601 date or date-time; naive values are taken as UTC. None if not ISO-8601."""
    if not isinstance(text, str) or not 10 <= len(text) <= 40 or not text[:4].isdigit():
        return None
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # year 1 or 9999 shifted past the calendar's ends
        return None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def coerce_stored(field_type: str, raw: Any) -> Any:
    """A stored value as the field's type compares it, or MISMATCH."""
    if field_type == NUMBER:
        return raw if is_number(raw) else MISMATCH
    if field_type in (TEXT, ENUM):
        return raw if isinstance(raw, str) else MISMATCH
    if field_type == BOOLEAN:
        return raw if isinstance(raw, bool) else MISMATCH
    if field_type == DATE:
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        return MISMATCH if parsed is None else parsed
    if field_type == LIST:
        return raw if isinstance(raw, list) else MISMATCH
    return MISMATCH


# --- value checks: run once when a segment is saved; return the normalised value -------------

def _scalar(field_type: str, values: tuple[str, ...], value: Any, path: str) -> Any:
    if field_type == NUMBER:
        if not is_number(value):
            raise ValidationError("expected a finite number", path, "invalid_value")
        return value
    if field_type == TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValidationError(f"expected a string of at most {MAX_TEXT} characters", path,
                                  "invalid_value")
        return value
    if field_type == ENUM:
        if value not in values:
            raise ValidationError(f"expected one of {list(values)}", path, "invalid_value")
        return value
    if field_type == BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError("expected true or false", path, "invalid_value")
        return value
    if field_type == DATE:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValidationError("expected an ISO-8601 date or date-time", path, "invalid_value")
        return parsed
    if field_type == LIST:  # a list field's operators take one element
        return _scalar(TEXT, values, value, path)
    raise ValidationError(f"unsupported field type {field_type}", path, "invalid_value")


def _check_pair(field_type, values, value, path):
    if not isinstance(value, list) or len(value) != 2:
        raise ValidationError("expected [low, high]", path, "invalid_value")
    low = _scalar(field_type, values, value[0], f"{path}/0")
    high = _scalar(field_type, values, value[1], f"{path}/1")
    if low > high:
        raise ValidationError("low must not be greater than high", path, "invalid_value")
    return (low, high)


def _check_many(field_type, values, value, path):
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
        raise ValidationError(f"expected a list of 1 to {MAX_IN_VALUES} values", path,
                              "invalid_value")
    return frozenset(_scalar(field_type, values, v, f"{path}/{i}") for i, v in enumerate(value))


def _check_days(field_type, values, value, path):
    if not is_number(value) or not 0 <= value <= MAX_DAYS:
        raise ValidationError(f"expected a number of days from 0 to {MAX_DAYS}", path,
                              "invalid_value")
    return timedelta(days=value)


def _check_none(field_type, values, value, path):
    if value is not None:
        raise ValidationError("this operator takes no value", path, "invalid_value")
    return None


def _contains(stored, value, now):
    return value in stored  # substring for text, element for list


# --- the registry ------------------------------------------------------------------------------

NONE, SCALAR, PAIR, MANY, DAYS = "none", "scalar", "pair", "list", "days"
# A value shape's check: run once when a segment is saved; returns the normalised value.
VALUE_CHECKS: dict[str, Callable[[str, tuple, Any, str], Any]] = {
    NONE: _check_none, SCALAR: _scalar, PAIR: _check_pair, MANY: _check_many, DAYS: _check_days}


@dataclass(frozen=True)
class Operator:
    name: str
    label: str  # as the segment builder shows it
    types: tuple[str, ...]
    value: str  # the value's shape: one of VALUE_CHECKS
    # test(stored, value, now) with stored already coerced to the field's type (never MISMATCH)
    test: Callable[[Any, Any, datetime], bool]

    def check_value(self, field_type: str, values: tuple, value: Any, path: str) -> Any:
        return VALUE_CHECKS[self.value](field_type, values, value, path)

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "value": self.value,
                "types": list(self.types)}


_ORDERED = (NUMBER,)
_EQUALITY = (NUMBER, TEXT, ENUM, BOOLEAN)
_MEMBERSHIP = (NUMBER, TEXT, ENUM)
_ALL = (NUMBER, TEXT, ENUM, DATE, BOOLEAN, LIST)

OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("eq", "is", _EQUALITY, SCALAR, lambda s, v, now: s == v),
    Operator("neq", "is not", _EQUALITY, SCALAR, lambda s, v, now: s != v),
    Operator("gt", "greater than", _ORDERED, SCALAR, lambda s, v, now: s > v),
    Operator("gte", "at least", _ORDERED, SCALAR, lambda s, v, now: s >= v),
    Operator("lt", "less than", _ORDERED, SCALAR, lambda s, v, now: s < v),
    Operator("lte", "at most", _ORDERED, SCALAR, lambda s, v, now: s <= v),
    Operator("between", "between", (NUMBER, DATE), PAIR, lambda s, v, now: v[0] <= s <= v[1]),
    Operator("in", "is one of", _MEMBERSHIP, MANY, lambda s, v, now: s in v),
    Operator("not_in", "is none of", _MEMBERSHIP, MANY, lambda s, v, now: s not in v),
    Operator("contains", "contains", (TEXT, LIST), SCALAR, _contains),
    Operator("not_contains", "does not contain", (TEXT, LIST), SCALAR,
             lambda s, v, now: not _contains(s, v, now)),
    Operator("starts_with", "starts with", (TEXT,), SCALAR, lambda s, v, now: s.startswith(v)),
    Operator("ends_with", "ends with", (TEXT,), SCALAR, lambda s, v, now: s.endswith(v)),
    Operator("before", "before", (DATE,), SCALAR, lambda s, v, now: s < v),
    Operator("after", "after", (DATE,), SCALAR, lambda s, v, now: s > v),
    Operator("within_last_days", "in the last (days)", (DATE,), DAYS,
             lambda s, v, now: now - v <= s <= now),
    Operator("more_than_days_ago", "more than (days) ago", (DATE,), DAYS,
             lambda s, v, now: s < now - v),
    # exists / not_exists are decided on presence alone (see evaluate.py); test is unused.
    Operator("exists", "has a value", _ALL, NONE, lambda s, v, now: True),
    Operator("not_exists", "has no value", _ALL, NONE, lambda s, v, now: False),
)}

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    t: tuple(name for name, op in OPERATORS.items() if t in op.types) for t in _ALL
}
