"""Evaluation semantics of the rule engine, and a property test against a plain reference
evaluator written straight from the contract in the README (tests/rule_reference.py). The
vectorised engine's agreement with it: tests/test_segments_evaluate_columnar.py."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import CATALOGUE, NOW, cond, profiles, reference, rule_trees

from chalicelib.rules import compile_rules, parse_segment


def matches(rules, profile, match="all"):
    definition = parse_segment({"name": "s", "match": match, "rules": rules}, CATALOGUE)
    return compile_rules(definition.root, NOW)(profile)


def test_missing_field_matches_only_not_exists():
    profile = {"attributes": {}}
    assert matches([cond("attributes.t", "not_exists")], profile)
    for rule in [
        cond("attributes.t", "neq", "x"),
        cond("attributes.t", "not_in", ["x"]),
        cond("attributes.t", "not_contains", "x"),
        cond("attributes.t", "exists"),
    ]:
        assert not matches([rule], profile)


def test_none_group_includes_a_profile_lacking_the_field():
    assert matches([cond("attributes.t", "eq", "x")], {"attributes": {}}, match="none")


def test_a_value_of_another_type_does_not_match():
    profile = {"attributes": {"n": "12"}}
    assert not matches([cond("attributes.n", "gte", 1)], profile)
    assert not matches([cond("attributes.n", "neq", 1)], profile)
    assert matches([cond("attributes.n", "exists")], profile)


def test_text_comparison_is_exact_and_case_sensitive():
    profile = {"attributes": {"t": "Amsterdam"}}
    assert matches([cond("attributes.t", "eq", "Amsterdam")], profile)
    assert not matches([cond("attributes.t", "eq", "amsterdam")], profile)
    assert matches([cond("attributes.t", "starts_with", "Am")], profile)
    assert matches([cond("attributes.t", "ends_with", "dam")], profile)
    assert matches([cond("attributes.t", "contains", "ster")], profile)


def test_contains_on_a_list_means_has_this_element():
    profile = {"attributes": {"l": ["jazz", "rock"]}}
    assert matches([cond("attributes.l", "contains", "jazz")], profile)
    assert not matches([cond("attributes.l", "contains", "ja")], profile)
    assert matches([cond("attributes.l", "not_contains", "pop")], profile)


def test_between_is_inclusive():
    for value, expected in [(10, True), (20, True), (9.99, False), (20.01, False)]:
        assert (
            matches([cond("attributes.n", "between", [10, 20])], {"attributes": {"n": value}})
            is expected
        )


def test_relative_dates_are_anchored_at_now():
    recent = (NOW - timedelta(days=3)).isoformat()
    old = (NOW - timedelta(days=40)).isoformat()
    assert matches([cond("attributes.d", "within_last_days", 7)], {"attributes": {"d": recent}})
    assert not matches([cond("attributes.d", "within_last_days", 7)], {"attributes": {"d": old}})
    assert matches([cond("attributes.d", "more_than_days_ago", 30)], {"attributes": {"d": old}})
    assert matches([cond("attributes.d", "before", "2026-05-01")], {"attributes": {"d": old}})
    assert matches(
        [cond("attributes.d", "after", "2026-05-01T00:00:00+02:00")], {"attributes": {"d": recent}}
    )


def test_predictive_enum_fields():
    profile = {"predictive": {"customer_type": "Economical", "conversion_potential": 62.5}}
    assert matches(
        [
            cond("predictive.customer_type", "eq", "Economical"),
            cond("predictive.conversion_potential", "gte", 50),
        ],
        profile,
    )
    assert not matches([cond("predictive.customer_type", "in", ["Believer", "Explorer"])], profile)


# --- property test against a reference evaluator -----------------------------------------------


@settings(max_examples=400, deadline=None)
@given(tree=rule_trees, population=st.lists(profiles(), min_size=1, max_size=5))
def test_compiled_rules_agree_with_the_reference_evaluator(tree, population):
    body = tree if "rules" in tree else {"match": "all", "rules": [tree]}
    definition = parse_segment({"name": "p", **body}, CATALOGUE)
    predicate = compile_rules(definition.root, NOW)
    for profile in population:
        assert predicate(profile) == reference(body, profile)
