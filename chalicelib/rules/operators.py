"""The operator registry, the one place each operator is declared: its name and label, the field
types it applies to, its value's shape (and so the check run when a segment is saved), what it
gives for a field the profile lacks or holds with another type, its test of one stored value
(the per-profile evaluator) and its mask over a column of each type it applies to (the columnar
evaluator). Both evaluators only walk the tree and ask the operator. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import numpy as np

from ..infra.errors import ValidationError
from . import vectors as v
from .column_encoding import Column, valid
from .day_window import DayWindow
from .stored import (
    ABSENT,
    BOOLEAN,
    COERCE,
    DATE,
    ENUM,
    FIELD_TYPES,
    LIST,
    MISMATCH,
    NUMBER,
    TEXT,
    is_number,
    parse_datetime,
)

MAX_TEXT = 1000
MAX_IN_VALUES = 500
MAX_DAYS = 36500


# --- value checks: run once when a segment is saved; return the normalised value -------------


def _scalar(field_type: str, values: tuple[str, ...], value: Any, path: str) -> Any:
    if field_type == NUMBER:
        if not is_number(value):
            raise ValidationError("expected a finite number", path, "invalid_value")
        return value
    if field_type == TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValidationError(
                f"expected a string of at most {MAX_TEXT} characters", path, "invalid_value"
            )
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
        raise ValidationError(
            f"expected a list of 1 to {MAX_IN_VALUES} values", path, "invalid_value"
        )
    return frozenset(_scalar(field_type, values, v, f"{path}/{i}") for i, v in enumerate(value))


def _check_days(field_type, values, value, path):
    if not is_number(value) or not 0 <= value <= MAX_DAYS:
        raise ValidationError(
            f"expected a number of days from 0 to {MAX_DAYS}", path, "invalid_value"
        )
    return DayWindow(value)  # the parser sets the project's time zone


def _check_percent(field_type, values, value, path):
    if not is_number(value) or not 0 < value <= 100:
        raise ValidationError(
            "expected a percentage greater than 0 and at most 100", path, "invalid_value"
        )
    return v.Rank(value)


def _check_none(field_type, values, value, path):
    if value is not None:
        raise ValidationError("this operator takes no value", path, "invalid_value")
    return None


NONE, SCALAR, PAIR, MANY, DAYS, PERCENT = "none", "scalar", "pair", "list", "days", "percent"
# A value shape's check: run once when a segment is saved; returns the normalised value.
VALUE_CHECKS: dict[str, Callable[[str, tuple, Any, str], Any]] = {
    NONE: _check_none,
    SCALAR: _scalar,
    PAIR: _check_pair,
    MANY: _check_many,
    DAYS: _check_days,
    PERCENT: _check_percent,  # a rank: the value is a v.Rank (rules/ranks.py resolves it)
}


@dataclass(frozen=True)
class Operator:
    name: str
    label: str  # as the segment builder shows it
    types: tuple[str, ...]
    value: str  # the value's shape: one of VALUE_CHECKS
    # test(stored, value, now) with stored already coerced to the field's type
    test: Callable[[Any, Any, datetime], bool]
    # per field type: the mask over a column of that type (see vectors.py)
    vectors: dict[str, v.VectorMask] = field(repr=False, compare=False)
    if_absent: bool = False  # the answer for a profile that lacks the field
    if_mismatch: bool = False  # ... and for one holding a value of another type

    def __post_init__(self):
        """The registry's self-check: an operator that applies to a type has a mask for it, so
        the columnar evaluator can answer every rule the parser accepts."""
        if self.value not in VALUE_CHECKS or not set(self.types) <= set(FIELD_TYPES):
            raise ValueError(f"operator {self.name}: unknown value shape or field type")
        missing = [t for t in self.types if t not in self.vectors]
        if missing:
            raise ValueError(f"operator {self.name} has no column mask for {missing}")

    def check_value(self, field_type: str, values: tuple, value: Any, path: str) -> Any:
        return VALUE_CHECKS[self.value](field_type, values, value, path)

    def predicate(
        self, field_type: str, read: Callable[[dict], Any], value: Any, now: datetime
    ) -> Callable[[dict], bool]:
        """The test of one profile; `read` gives its stored value (or ABSENT), `value` is the
        normalised rule value."""
        if isinstance(value, v.Rank):
            value.bound()  # unresolved: fail here, not at the first profile
        test, if_absent, if_mismatch, coerce = (
            self.test,
            self.if_absent,
            self.if_mismatch,
            COERCE[field_type],
        )

        def matches(profile: dict) -> bool:
            raw = read(profile)
            if raw is ABSENT:
                return if_absent
            stored = coerce(raw)
            if stored is MISMATCH:
                return if_mismatch
            try:
                return bool(test(stored, value, now))
            except TypeError:  # e.g. a list attribute holding a non-string element
                return False

        return matches

    def mask(self, col: Column, field_type: str, value: Any, now: datetime) -> np.ndarray:
        """The same answer for every row of a column of the field's type."""
        out = self.vectors[field_type](col, value, now)
        if self.if_mismatch:
            out = out | (col.present & ~valid(col))
        if self.if_absent:
            out = out | ~col.present
        return out

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "types": list(self.types),
        }


def _contains(stored, value, now):
    return value in stored  # substring for text, element for list


def _not_contains(stored, value, now):
    return value not in stored


def _starts_with(stored, value, now):
    return stored.startswith(value)


def _ends_with(stored, value, now):
    return stored.endswith(value)


_EQ = {NUMBER: v.compare("eq"), TEXT: v.text_eq, ENUM: v.text_eq, BOOLEAN: v.boolean_eq}
_IN = {NUMBER: v.number_in, TEXT: v.text_in, ENUM: v.text_in}
_ALL = FIELD_TYPES

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("eq", "is", tuple(_EQ), SCALAR, lambda s, x, now: s == x, _EQ),
        Operator(
            "neq",
            "is not",
            tuple(_EQ),
            SCALAR,
            lambda s, x, now: s != x,
            {t: v.negation(mask) for t, mask in _EQ.items()},
        ),
        Operator(
            "gt",
            "greater than",
            (NUMBER,),
            SCALAR,
            lambda s, x, now: s > x,
            {NUMBER: v.compare("gt")},
        ),
        Operator(
            "gte",
            "at least",
            (NUMBER,),
            SCALAR,
            lambda s, x, now: s >= x,
            {NUMBER: v.compare("gte")},
        ),
        Operator(
            "lt", "less than", (NUMBER,), SCALAR, lambda s, x, now: s < x, {NUMBER: v.compare("lt")}
        ),
        Operator(
            "lte",
            "at most",
            (NUMBER,),
            SCALAR,
            lambda s, x, now: s <= x,
            {NUMBER: v.compare("lte")},
        ),
        # Ranks among the project's profiles that hold a number (rules/ranks.py): ties at the
        # boundary are in; the per-profile test needs the threshold ranks.resolve sets.
        Operator(
            "top_percent",
            "in the top (%)",
            (NUMBER,),
            PERCENT,
            lambda s, x, now: s >= x.bound(),
            {NUMBER: v.rank_mask(top=True)},
        ),
        Operator(
            "bottom_percent",
            "in the bottom (%)",
            (NUMBER,),
            PERCENT,
            lambda s, x, now: s <= x.bound(),
            {NUMBER: v.rank_mask(top=False)},
        ),
        Operator(
            "between",
            "between",
            (NUMBER, DATE),
            PAIR,
            lambda s, x, now: x[0] <= s <= x[1],
            {NUMBER: v.between, DATE: v.between},
        ),
        Operator("in", "is one of", tuple(_IN), MANY, lambda s, x, now: s in x, _IN),
        Operator(
            "not_in",
            "is none of",
            tuple(_IN),
            MANY,
            lambda s, x, now: s not in x,
            {t: v.negation(mask) for t, mask in _IN.items()},
        ),
        Operator(
            "contains",
            "contains",
            (TEXT, LIST),
            SCALAR,
            _contains,
            {TEXT: v.by_dictionary(_contains), LIST: v.list_contains},
        ),
        Operator(
            "not_contains",
            "does not contain",
            (TEXT, LIST),
            SCALAR,
            _not_contains,
            {TEXT: v.by_dictionary(_not_contains), LIST: v.negation(v.list_contains)},
        ),
        Operator(
            "starts_with",
            "starts with",
            (TEXT,),
            SCALAR,
            _starts_with,
            {TEXT: v.by_dictionary(_starts_with)},
        ),
        Operator(
            "ends_with",
            "ends with",
            (TEXT,),
            SCALAR,
            _ends_with,
            {TEXT: v.by_dictionary(_ends_with)},
        ),
        Operator(
            "before", "before", (DATE,), SCALAR, lambda s, x, now: s < x, {DATE: v.compare("lt")}
        ),
        Operator(
            "after", "after", (DATE,), SCALAR, lambda s, x, now: s > x, {DATE: v.compare("gt")}
        ),
        Operator(
            "within_last_days",
            "in the last (days)",
            (DATE,),
            DAYS,
            lambda s, x, now: x.opening(now) <= s <= now,
            {DATE: v.within_last_days},
        ),
        Operator(
            "more_than_days_ago",
            "more than (days) ago",
            (DATE,),
            DAYS,
            lambda s, x, now: s < x.opening(now),
            {DATE: v.more_than_days_ago},
        ),
        # Presence alone: any stored value, of the field's type or not, has a value.
        Operator(
            "exists",
            "has a value",
            _ALL,
            NONE,
            lambda s, x, now: True,
            {t: v.typed_rows for t in _ALL},
            if_mismatch=True,
        ),
        Operator(
            "not_exists",
            "has no value",
            _ALL,
            NONE,
            lambda s, x, now: False,
            {t: v.no_rows for t in _ALL},
            if_absent=True,
        ),
    )
}

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    t: tuple(name for name, op in OPERATORS.items() if t in op.types) for t in _ALL
}

__all__ = [
    "BOOLEAN",
    "DATE",
    "ENUM",
    "LIST",
    "NUMBER",
    "TEXT",
    "MAX_DAYS",
    "MAX_IN_VALUES",
    "MAX_TEXT",
    "OPERATORS",
    "OPERATORS_BY_TYPE",
    "Operator",
    "is_number",
    "parse_datetime",
]
