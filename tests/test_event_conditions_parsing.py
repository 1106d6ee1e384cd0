"""Event conditions (rules/event_conditions.py) parsed once: a mistake is a 400 naming its place
with a JSON pointer, an event condition counts as a condition in the limits, and a parsed one is
stored as sent."""

import pytest
from event_reference import PROPERTIES, PURCHASES_2_IN_30, catalogue

from chalicelib.infra.errors import ValidationError
from chalicelib.rules import parse_rules
from chalicelib.rules.tree import MAX_CONDITIONS


@pytest.mark.parametrize(
    "rule, path, code",
    [
        (
            {"event": "login", "count": {"operator": "gte", "value": 1}},
            "/rules/0/event",
            "unknown_event",
        ),
        (
            {
                **PURCHASES_2_IN_30,
                "where": {"property": "colour", "operator": "eq", "value": "red"},
            },
            "/rules/0/where/property",
            "undeclared_property",
        ),
        (
            {**PURCHASES_2_IN_30, "window": {"between": ["2026-05-02", "2026-05-01"]}},
            "/rules/0/window/between",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "count": {"operator": "gte", "value": -1}},
            "/rules/0/count/value",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "count": {"operator": "gte", "value": 1.5}},
            "/rules/0/count/value",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "count": {"operator": "between", "value": [0, 2.5]}},
            "/rules/0/count/value/1",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "count": {"operator": "contains", "value": 1}},
            "/rules/0/count/operator",
            "unknown_operator",
        ),
        (
            {"event": "page_view", "sum": {"operator": "gte", "value": 1}},
            "/rules/0/sum",
            "invalid_value",
        ),
        ({"event": "purchase"}, "/rules/0/count", "missing"),
        (
            {**PURCHASES_2_IN_30, "sum": {"operator": "gte", "value": 1}},
            "/rules/0/count",
            "missing",
        ),
        (
            {**PURCHASES_2_IN_30, "window": {"within_last_days": 0}},
            "/rules/0/window/within_last_days",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "window": {"within_last_days": 7, "after": "2026-01-01"}},
            "/rules/0/window",
            "invalid_value",
        ),
        (
            {**PURCHASES_2_IN_30, "window": {"before": "2026-02-30"}},
            "/rules/0/window/before",
            "invalid_value",
        ),
        ({**PURCHASES_2_IN_30, "name": "signup"}, "/rules/0/name", "invalid_value"),
        ({**PURCHASES_2_IN_30, "colour": "red"}, "/rules/0/colour", "unknown_key"),
        (
            {
                **PURCHASES_2_IN_30,
                "where": {"property": "category", "operator": "gt", "value": "a"},
            },
            "/rules/0/where/value",
            "invalid_value",
        ),
    ],
)
def test_bad_event_conditions_are_refused_with_the_pointer(rule, path, code):
    """GIVEN an event condition with one mistake WHEN parsed THEN a 400 names its place."""
    with pytest.raises(ValidationError) as error:
        parse_rules({"rules": [rule]}, catalogue("UTC"))
    assert (error.value.path, error.value.code) == (path, code), error.value.message
    assert error.value.status == 400


def test_an_event_condition_counts_as_a_condition_in_the_limits():
    """GIVEN one more event condition than a segment may hold WHEN parsed THEN too many."""
    rules = [PURCHASES_2_IN_30] * (MAX_CONDITIONS + 1)
    with pytest.raises(ValidationError) as error:
        parse_rules({"rules": rules}, catalogue("UTC"))
    assert error.value.code == "too_many_conditions"


def test_a_parsed_event_condition_is_stored_as_sent():
    rule = {
        "event": "custom",
        "name": "signup",
        "where": {"property": PROPERTIES[0], "operator": "in", "value": ["a", "b"]},
        "count": {"operator": "between", "value": [1, 3]},
        "window": {"between": ["2026-05-01", "2026-05-31"]},
    }
    assert parse_rules({"match": "all", "rules": [rule]}, catalogue("UTC")).to_dict() == {
        "match": "all",
        "rules": [rule],
    }
