"""Parsing and validation of segment rules against the field catalogue."""

import pytest

from chalicelib.infra.errors import ValidationError
from chalicelib.rules import Catalogue, parse_segment
from chalicelib.rules.tree import MAX_CONDITIONS

CATALOGUE = Catalogue(
    {
        "country": {"string": 3},
        "age": {"number": 5, "string": 1},
        "tags": {"list": 2},
        "vip": {"boolean": 1},
        "signup_date": {"date": 4},
    }
)

BRIEF_SEGMENTS = [
    {
        "name": "High potential",
        "match": "all",
        "rules": [{"field": "predictive.conversion_potential", "operator": "gte", "value": 50}],
    },
    {
        "name": "Valuable",
        "match": "all",
        "rules": [{"field": "predictive.clv", "operator": "gte", "value": 1000}],
    },
    {
        "name": "Economical",
        "match": "all",
        "rules": [{"field": "predictive.customer_type", "operator": "eq", "value": "Economical"}],
    },
    {
        "name": "Scarcity",
        "match": "all",
        "rules": [{"field": "predictive.persuasion_type", "operator": "eq", "value": "Scarcity"}],
    },
]


def error_of(body) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_segment(body, CATALOGUE)
    return info.value


@pytest.mark.parametrize("body", BRIEF_SEGMENTS)
def test_the_four_segments_of_the_brief_parse_verbatim(body):
    definition = parse_segment(body, CATALOGUE)
    assert definition.to_dict() == body


def test_nested_example_of_the_contract_round_trips():
    body = {
        "name": "High potential",
        "match": "all",
        "rules": [
            {"field": "predictive.conversion_potential", "operator": "gte", "value": 50},
            {
                "match": "any",
                "rules": [
                    {"field": "predictive.customer_type", "operator": "eq", "value": "Economical"},
                    {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
                ],
            },
        ],
    }
    assert parse_segment(body, CATALOGUE).to_dict() == body


def test_attributes_are_typed_by_the_kind_most_values_have():
    assert CATALOGUE.get("attributes.age").type == "number"
    assert CATALOGUE.get("attributes.signup_date").type == "date"
    assert CATALOGUE.get("attributes.tags").type == "list"


@pytest.mark.parametrize(
    "rule, path, code",
    [
        (
            {"field": "attributes.nope", "operator": "eq", "value": 1},
            "/rules/1/rules/0/field",
            "unknown_field",
        ),
        (
            {"field": "attributes.country", "operator": "gte", "value": 1},
            "/rules/1/rules/0/operator",
            "operator_not_allowed",
        ),
        (
            {"field": "attributes.age", "operator": "gte", "value": "old"},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "predictive.customer_type", "operator": "eq", "value": "Shopaholic"},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.age", "operator": "between", "value": [10, 5]},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.age", "operator": "between", "value": [1, "x"]},
            "/rules/1/rules/0/value/1",
            "invalid_value",
        ),
        (
            {"field": "attributes.country", "operator": "in", "value": []},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.signup_date", "operator": "before", "value": "yesterday"},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.signup_date", "operator": "within_last_days", "value": -1},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.vip", "operator": "exists", "value": True},
            "/rules/1/rules/0/value",
            "invalid_value",
        ),
        (
            {"field": "attributes.vip", "operator": "like", "value": True},
            "/rules/1/rules/0/operator",
            "unknown_operator",
        ),
        (
            {"field": "attributes.vip", "operator": "eq", "value": True, "x": 1},
            "/rules/1/rules/0/x",
            "unknown_key",
        ),
        ("not a rule", "/rules/1/rules/0", "invalid_type"),
    ],
)
def test_a_bad_rule_is_reported_with_the_path_to_it(rule, path, code):
    body = {
        "name": "s",
        "match": "all",
        "rules": [
            {"field": "behaviour.orders", "operator": "gte", "value": 1},
            {"match": "any", "rules": [rule]},
        ],
    }
    error = error_of(body)
    assert (error.path, error.code) == (path, code)


def test_number_operators_refuse_booleans_and_text_refuses_numbers():
    assert (
        error_of(
            {"name": "s", "rules": [{"field": "behaviour.orders", "operator": "eq", "value": True}]}
        ).path
        == "/rules/0/value"
    )
    assert (
        error_of(
            {"name": "s", "rules": [{"field": "attributes.country", "operator": "eq", "value": 3}]}
        ).path
        == "/rules/0/value"
    )


def test_depth_is_limited_to_five_groups():
    rules = {"field": "behaviour.orders", "operator": "gte", "value": 1}
    for _ in range(4):
        rules = {"match": "any", "rules": [rules]}
    parse_segment({"name": "deep", "match": "all", "rules": [rules]}, CATALOGUE)  # 5 groups
    error = error_of(
        {"name": "deep", "match": "all", "rules": [{"match": "all", "rules": [rules]}]}
    )
    assert error.code == "too_deep"


def test_at_most_fifty_conditions():
    rule = {"field": "behaviour.orders", "operator": "gte", "value": 1}
    parse_segment({"name": "many", "rules": [rule] * MAX_CONDITIONS}, CATALOGUE)
    error = error_of({"name": "many", "rules": [rule] * (MAX_CONDITIONS + 1)})
    assert (error.code, error.path) == ("too_many_conditions", f"/rules/{MAX_CONDITIONS}")


@pytest.mark.parametrize(
    "body, path",
    [
        ({"match": "all", "rules": []}, "/name"),
        ({"name": "", "rules": []}, "/name"),
        ({"name": "x" * 201, "rules": []}, "/name"),
        ({"name": "x", "match": "some", "rules": []}, "/match"),
        ({"name": "x", "rules": {}}, "/rules"),
        ({"name": "x", "rules": [], "owner": "me"}, "/owner"),
        ([1, 2], "/"),
    ],
)
def test_segment_level_errors(body, path):
    assert error_of(body).path == path


@pytest.mark.parametrize(
    "value, path", [(10**309, "/rules/0/value"), ([1, -(10**309)], "/rules/0/value/1")]
)
def test_an_integer_no_float_holds_is_refused_by_the_rule_parser(value, path):
    # GIVEN a rule value that reached the parser as a Python int too large for a float (callers
    # other than the HTTP body parser, e.g. the CLI or a stored definition)
    operator = "between" if isinstance(value, list) else "gte"
    body = {
        "name": "s",
        "rules": [{"field": "attributes.age", "operator": operator, "value": value}],
    }
    # WHEN it is parsed THEN a ValidationError names the value (it was an OverflowError)
    with pytest.raises(ValidationError) as caught:
        parse_segment(body, CATALOGUE)
    assert (caught.value.code, caught.value.path) == ("invalid_value", path)


@pytest.mark.parametrize("match", [{"a": 1}, ["all"], 1, None])
def test_a_match_that_is_not_a_name_is_refused(match):
    # GIVEN a nested group whose match is an object, a list, a number or null (an object was a
    # TypeError, a 500: the matches are a dict now)
    body = {"name": "s", "rules": [{"match": match, "rules": []}]}
    # WHEN it is parsed THEN a ValidationError names the nested group's match
    with pytest.raises(ValidationError) as caught:
        parse_segment(body, CATALOGUE)
    assert caught.value.path == "/rules/0/match"
