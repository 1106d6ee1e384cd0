"""What the rule-engine tests share (tests/test_segments_evaluate*.py): a fixed clock and a
catalogue, hypothesis strategies of profiles and rule trees over every field type, and a plain
reference evaluator written straight from the contract in the README."""

import math
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from chalicelib.predict.fields import CUSTOMER_TYPES
from chalicelib.rules import Catalogue
from chalicelib.rules.operators import OPERATORS, OPERATORS_BY_TYPE

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _day_opening(days) -> datetime:
    """The UTC midnight opening the last `days` whole days up to NOW's day (today included)."""
    first = NOW.date() - timedelta(days=math.ceil(days) - 1)
    return datetime(first.year, first.month, first.day, tzinfo=timezone.utc)


CATALOGUE = Catalogue(
    {
        "n": {"number": 1},
        "t": {"string": 1},
        "l": {"list": 1},
        "b": {"boolean": 1},
        "d": {"date": 1},
    }
)


def cond(field, operator, value=None):
    rule = {"field": field, "operator": operator}
    if value is not None:
        rule["value"] = value
    return rule


FIELDS = {
    "attributes.n": "number",
    "attributes.t": "text",
    "attributes.l": "list",
    "attributes.b": "boolean",
    "attributes.d": "date",
    "predictive.customer_type": "enum",
}
# Small value sets, so stored values often hit rule values and boundaries exactly.
WORDS = st.sampled_from(["", "a", "ab", "b", "ba", "NL", "nl"])
NUMBERS = st.sampled_from([-1, 0, 1, 2, 0.5, 1.0])
DAYS = st.integers(-3, 3).map(lambda d: (NOW - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ"))
ENUMS = st.sampled_from(CUSTOMER_TYPES)

VALUES = {
    "number": NUMBERS,
    "text": WORDS,
    "list": st.lists(WORDS, max_size=3),
    "boolean": st.booleans(),
    "date": DAYS,
    "enum": ENUMS,
}


def stored(field_type):
    wrong = st.sampled_from([None, 1, "x", True, ["x"], {"k": 1}])
    return st.one_of(VALUES[field_type], wrong)


@st.composite
def profiles(draw):
    profile = {"attributes": {}, "predictive": {}}
    for path, field_type in FIELDS.items():
        if draw(st.booleans()):
            group, name = path.split(".")
            profile[group][name] = draw(stored(field_type))
    return profile


def operator_and_value(field_type):
    """An operator the registry allows for the field type, with a value of its declared shape:
    a new operator is drawn here without editing this test."""
    scalar = VALUES["text"] if field_type == "list" else VALUES[field_type]
    shapes = {
        "none": st.none(),
        "scalar": scalar,
        "pair": st.lists(scalar, min_size=2, max_size=2).map(sorted),
        "list": st.lists(scalar, min_size=1, max_size=3),
        "days": st.integers(0, 4),
    }
    # ranks depend on the whole population, not one profile: tests/test_ranks.py
    per_profile = [op for op in OPERATORS_BY_TYPE[field_type] if OPERATORS[op].value != "percent"]
    return st.sampled_from(per_profile).flatmap(
        lambda op: st.tuples(st.just(op), shapes[OPERATORS[op].value])
    )


@st.composite
def conditions(draw):
    path = draw(st.sampled_from(sorted(FIELDS)))
    op, value = draw(operator_and_value(FIELDS[path]))
    return cond(path, op, value)


rule_trees = st.recursive(
    conditions(),
    lambda children: st.builds(
        lambda m, r: {"match": m, "rules": r},
        st.sampled_from(["all", "any", "none"]),
        st.lists(children, max_size=3),
    ),
    max_leaves=8,
)


def _parse_date(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def reference(node, profile):
    """Plain and slow, straight from the README's contract."""
    if "rules" in node:
        results = [reference(r, profile) for r in node["rules"]]
        match = node.get("match", "all")
        return (
            all(results) if match == "all" else any(results) if match == "any" else not any(results)
        )
    group, name = node["field"].split(".")
    value = profile.get(group, {}).get(name)
    op, arg = node["operator"], node.get("value")
    if op == "exists":
        return value is not None
    if op == "not_exists":
        return value is None
    field_type = FIELDS[node["field"]]
    type_ok = {
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "text": isinstance(value, str),
        "enum": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "list": isinstance(value, list),
        "date": isinstance(value, str) and len(value) >= 10 and value[:4].isdigit(),
    }[field_type]
    if not type_ok:
        return False
    if field_type == "date":
        value = _parse_date(value)
        if op in ("before", "after"):
            arg = _parse_date(arg)
        if op == "between":
            arg = [_parse_date(a) for a in arg]
    if op == "eq":
        return value == arg
    if op == "neq":
        return value != arg
    if op in ("gt", "after"):
        return value > arg
    if op == "gte":
        return value >= arg
    if op in ("lt", "before"):
        return value < arg
    if op == "lte":
        return value <= arg
    if op == "between":
        return arg[0] <= value <= arg[1]
    if op == "in":
        return value in arg
    if op == "not_in":
        return value not in arg
    if op == "contains":
        return arg in value
    if op == "not_contains":
        return arg not in value
    if op == "starts_with":
        return value.startswith(arg)
    if op == "ends_with":
        return value.endswith(arg)
    if op == "within_last_days":  # whole UTC days, today included
        return _day_opening(arg) <= value <= NOW
    if op == "more_than_days_ago":
        return value < _day_opening(arg)
    raise AssertionError(op)
