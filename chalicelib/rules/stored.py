"""Stored values as rules read them: the field types, a value at a dotted path, and a value as its
field's type compares it. Shared by the per-profile evaluator and the columnar snapshot. Pure."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

NUMBER, TEXT, ENUM, DATE, BOOLEAN, LIST = "number", "text", "enum", "date", "boolean", "list"
FIELD_TYPES = (NUMBER, TEXT, ENUM, DATE, BOOLEAN, LIST)

ABSENT = object()  # what field_value gives for a field the profile does not hold
MISMATCH = object()  # a stored value of another type than the field: see each operator


def _walk(profile: Any, parts: tuple[str, ...] | list[str]) -> Any:
    node = profile
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return ABSENT if node is None else node


def field_value(profile: dict, path: str) -> Any:
    """The stored value at a dotted path, or ABSENT. A stored null counts as absent."""
    return _walk(profile, path.split("."))


def reader(path: str) -> Callable[[dict], Any]:
    """field_value with the path split once, for evaluating many profiles."""
    parts = tuple(path.split("."))
    return lambda profile: _walk(profile, parts)


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
    """A finite int or float, not a bool. An int too large for a float is not a number here:
    JSON allows `1` and 309 zeros, which no comparison with a float can take."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _number(raw: Any) -> Any:
    return raw if is_number(raw) else MISMATCH


def _text(raw: Any) -> Any:
    return raw if isinstance(raw, str) else MISMATCH


def _boolean(raw: Any) -> Any:
    return raw if isinstance(raw, bool) else MISMATCH


def _date(raw: Any) -> Any:
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    return MISMATCH if parsed is None else parsed


def _list(raw: Any) -> Any:
    return raw if isinstance(raw, list) else MISMATCH


# A stored value as the field's type compares it, or MISMATCH.
COERCE: dict[str, Callable[[Any], Any]] = {
    NUMBER: _number,
    TEXT: _text,
    ENUM: _text,
    BOOLEAN: _boolean,
    DATE: _date,
    LIST: _list,
}


def coerce_stored(field_type: str, raw: Any) -> Any:
    """A stored value as the field's type compares it, or MISMATCH."""
    return COERCE[field_type](raw) if field_type in COERCE else MISMATCH
