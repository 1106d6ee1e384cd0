"""Event conditions (rules/event_conditions.py) evaluated: the per-profile evaluator and the
vectorised one over the snapshot's day buckets agree with each other and with a reference written
from the contract (tests/event_reference.py), in any time zone, inside any rule tree; the project's
time zone applies to every day-based rule. Parsing: tests/test_event_conditions_parsing.py; the
stored day counts: tests/test_event_conditions_day_counts.py."""

import pytest
from event_reference import (
    ZONES,
    catalogue,
    documents_of,
    event_conditions,
    event_reference,
    raw_events,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import FIELDS, NOW, conditions, profiles, reference

from chalicelib.rules import compile_rules, parse_rules, parse_segment
from chalicelib.rules.columnar import Snapshot, compile_mask


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    rule=event_conditions(),
    populations=st.lists(raw_events(), min_size=1, max_size=8),
)
def test_both_evaluators_count_events_as_the_contract_says(zone, rule, populations):
    """GIVEN profiles whose events were aggregated by the product, in a project time zone
    WHEN an event condition is evaluated per profile and over the snapshot (also serialised)
    THEN each profile's answer is the reference's, computed from the raw events."""
    cat = catalogue(zone)
    root = parse_rules({"match": "all", "rules": [rule]}, cat)
    documents = documents_of(populations, zone)
    expected = [event_reference(rule, events, zone) for events in populations]
    predicate = compile_rules(root, NOW)
    assert [predicate(d) for d in documents] == expected
    snapshot = Snapshot.build(documents, cat, [])
    assert compile_mask(root, NOW)(snapshot).tolist() == expected
    again = Snapshot.from_bytes(snapshot.to_bytes())
    assert compile_mask(root, NOW)(again).tolist() == expected


mixed_trees = st.recursive(
    st.one_of(conditions(), event_conditions()),
    lambda children: st.builds(
        lambda m, r: {"match": m, "rules": r},
        st.sampled_from(["all", "any", "none"]),
        st.lists(children, max_size=3),
    ),
    max_leaves=6,
)


def _reference(node, document, events, zone):
    if "rules" in node:
        results = [_reference(r, document, events, zone) for r in node["rules"]]
        match = node.get("match", "all")
        return (
            all(results) if match == "all" else any(results) if match == "any" else not any(results)
        )
    if "event" in node:
        return event_reference(node, events, zone)
    return reference(node, document)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    tree=mixed_trees,
    population=st.lists(st.tuples(raw_events(), profiles()), min_size=1, max_size=8),
    erased=st.sets(st.integers(0, 7)),
)
def test_event_conditions_nest_anywhere_and_survive_erasure(zone, tree, population, erased):
    """GIVEN rule trees mixing field and event conditions at any depth
    WHEN evaluated per profile, over the snapshot, and over the snapshot less erased rows
    THEN all three agree with the reference."""
    cat = catalogue(zone)
    body = tree if "rules" in tree else {"match": "all", "rules": [tree]}
    root = parse_segment({"name": "p", **body}, cat).root
    events = [e for e, _ in population]
    documents = [{**fields, **d} for d, (_, fields) in zip(documents_of(events, zone), population)]
    for d, (_, fields) in zip(documents, population):
        d["attributes"], d["predictive"] = fields["attributes"], fields["predictive"]
    expected = [_reference(body, d, e, zone) for d, e in zip(documents, events)]
    assert [compile_rules(root, NOW)(d) for d in documents] == expected
    snapshot = Snapshot.build(documents, cat, sorted(FIELDS))
    assert compile_mask(root, NOW)(snapshot).tolist() == expected
    gone = {f"p{i:02d}" for i in erased}
    kept = [x for d, x in zip(documents, expected) if d["profile_id"] not in gone]
    assert compile_mask(root, NOW)(snapshot.without(gone)).tolist() == kept


def test_a_purchase_late_in_the_evening_counts_on_the_project_s_own_day():
    """GIVEN a purchase at 23:30 UTC on 31 May, in a project on Amsterdam time (01:30, 1 June)
    WHEN 'purchase after 31 May' is asked (NOW is 1 June, 12:00 UTC)
    THEN it counts there, and not in a UTC project."""
    raw = [
        {
            "event_id": "o1",
            "profile_id": "p",
            "type": "purchase",
            "timestamp": "2026-05-31T23:30:00Z",
            "value": 10,
        }
    ]
    rule = {
        "event": "purchase",
        "count": {"operator": "eq", "value": 1},
        "window": {"after": "2026-05-31"},
    }
    for zone, expected in (("Europe/Amsterdam", True), ("UTC", False)):
        cat = catalogue(zone)
        root = parse_rules({"rules": [rule]}, cat)
        documents = documents_of([raw], zone)
        assert compile_rules(root, NOW)(documents[0]) is expected
        assert compile_mask(root, NOW)(Snapshot.build(documents, cat, [])).tolist() == [expected]


@pytest.mark.parametrize("zone, matches", [("UTC", True), ("Pacific/Auckland", False)])
def test_day_operators_on_date_fields_count_whole_days_in_the_project_zone(zone, matches):
    """GIVEN a project time zone and a date at 11:00 UTC on NOW's UTC day (NOW is 12:00 UTC,
    already the next day in Auckland) WHEN "in the last 1 days" (today only) is evaluated per
    profile and over the snapshot THEN it is today in UTC, yesterday in Auckland: the zone applies
    to every day-based rule, not only to event conditions."""
    cat = catalogue(zone)
    doc = {
        "profile_id": "p1",
        "attributes": {"d": "2026-06-01T11:00:00Z"},
        "behaviour": {},
        "predictive": {},
    }
    for operator, expected in (("within_last_days", matches), ("more_than_days_ago", not matches)):
        root = parse_rules(
            {"rules": [{"field": "attributes.d", "operator": operator, "value": 1}]}, cat
        )
        assert compile_rules(root, NOW)(doc) is expected
        snap = Snapshot.build([doc], cat, ["attributes.d"])
        assert bool(compile_mask(root, NOW)(snap)[0]) is expected
