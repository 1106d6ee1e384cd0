"""Event conditions (rules/event_conditions.py): parsed once with JSON-pointer errors; the
per-profile evaluator and the vectorised one over the snapshot's day buckets agree with each
other and with a reference written from the contract (tests/event_reference.py), in any time
zone, inside any rule tree."""

from datetime import date

import pytest
from event_reference import (
    PROPERTIES,
    ZONES,
    behaviour_of,
    catalogue,
    event_conditions,
    event_reference,
    raw_events,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import FIELDS, NOW, conditions, profiles, reference

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.infra.errors import ValidationError
from chalicelib.rules import compile_rules, parse_rules, parse_segment
from chalicelib.rules.columnar import Snapshot, StaleSnapshot, compile_mask
from chalicelib.rules.event_keys import MAX_CUSTOM_NAMES, MAX_PROPERTY_VALUES, EventSettings
from chalicelib.rules.tree import MAX_CONDITIONS

PURCHASES_2_IN_30 = {
    "event": "purchase",
    "count": {"operator": "gte", "value": 2},
    "window": {"within_last_days": 30},
}


def documents_of(populations, zone, attributes=None):
    return [
        {
            "profile_id": f"p{i:02d}",
            "attributes": (attributes or {}).get(i, {}),
            "predictive": {},
            "behaviour": behaviour_of(events, zone),
        }
        for i, events in enumerate(populations)
    ]


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


def test_a_snapshot_without_day_counts_is_stale_for_event_conditions():
    """GIVEN a snapshot stored before snapshots held day counts WHEN an event condition is
    evaluated over it THEN it is stale (the audience re-reads profiles instead)."""
    cat = catalogue("UTC")
    old = Snapshot.build(documents_of([[]], "UTC"), cat, [])
    old.events = None
    with pytest.raises(StaleSnapshot):
        compile_mask(parse_rules({"rules": [PURCHASES_2_IN_30]}, cat), NOW)(old)


def _event(i, kind="custom", **properties):
    return parse_event(
        {
            "event_id": f"e{i}",
            "profile_id": "p",
            "type": kind,
            "timestamp": "2026-05-20T10:00:00Z",
            **({"value": 1} if kind == "purchase" else {}),
            "properties": properties,
        },
        "/",
        now=NOW,
    )


def test_day_counts_stay_bounded_per_profile():
    """GIVEN more custom names and more values of a declared property than a profile keeps
    WHEN aggregated THEN the extra names count under plain `custom` and the extra values are
    not kept; undeclared properties are never kept."""
    settings_ = EventSettings("UTC", ("category",))
    names = [_event(i, name=f"n{i}") for i in range(MAX_CUSTOM_NAMES + 5)]
    values = [
        _event(100 + i, "purchase", category=f"c{i}", colour="x")
        for i in range(MAX_PROPERTY_VALUES + 5)
    ]
    stored = apply_events(None, names + values, settings_)["events"]
    assert sum(k.startswith("custom:") for k in stored) == MAX_CUSTOM_NAMES
    assert stored["custom"][1] == [5]
    assert sum(k.startswith('["purchase","category",') for k in stored) == MAX_PROPERTY_VALUES
    assert not any("colour" in k for k in stored)


def test_day_counts_are_stored_as_day_gaps():
    """GIVEN purchases on three days WHEN aggregated THEN the key holds the first day number,
    the gaps to the next days, the counts and the amounts."""
    raw = [
        {"event_id": f"o{i}", "profile_id": "p", "type": "purchase", "timestamp": ts, "value": v}
        for i, (ts, v) in enumerate(
            [
                ("2024-10-01T10:00:00Z", 5),
                ("2024-10-01T11:00:00Z", 2.5),
                ("2024-10-08T00:00:00Z", 1),
            ]
        )
    ]
    stored = apply_events(None, [parse_event(e, "/", now=NOW) for e in raw])["events"]
    first = (date(2024, 10, 1) - date(1970, 1, 1)).days  # 19997
    assert stored == {"purchase": [[first, 7], [2, 1], [7.5, 1]]}


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.dictionaries(
            st.integers(0, 40).map(lambda d: f"2026-05-{1 + d % 31:02d}"), st.integers(0, 5)
        ),
        max_size=10,
    ),
    first=st.none() | st.integers(20570, 20610),
    width=st.integers(-2, 40),
)
def test_the_day_ordered_index_sums_windows_as_window_sum_does(rows, first, width):
    """GIVEN day buckets of whole numbers WHEN a window is summed through the day-ordered index
    THEN each row's sum is window_sum's (an empty window, or no buckets, gives zeros)."""
    from chalicelib.rules.day_buckets import DayBuckets

    buckets = DayBuckets.from_rows(rows)
    last = None if first is None else first + width
    assert (
        buckets.window_sum_indexed(first, last).tolist() == buckets.window_sum(first, last).tolist()
    )


def test_sparse_and_dense_keys_survive_the_compact_stored_form():
    """GIVEN a key on one day of one profile among many active days (stored as positions) and
    keys on most days (stored as a bitmap) WHEN the snapshot is stored and read back THEN every
    key holds the same days and counts, and its bytes are counted."""
    from chalicelib.rules.event_columns import EventColumns

    rows = [{"page_view": [[20000 + i, *([1] * 39)], [1 + i % 3] * 40]} for i in range(30)]
    rows[7]["purchase"] = [[20005], [2], [12.5]]
    events = EventColumns.from_rows(rows)
    arrays, meta = events.to_arrays()
    assert meta["stored"] == ["bits", "at"]  # keys sorted: page_view, purchase
    again = EventColumns.from_arrays(len(rows), arrays, meta)
    for before, after in zip(events.counts + events.cents[1:], again.counts + again.cents[1:]):
        assert before.offsets.tolist() == after.offsets.tolist()
        assert before.days.tolist() == after.days.tolist()
        assert before.values.tolist() == after.values.tolist()
    assert events.nbytes() < sum(len(r["page_view"][0]) for r in rows) * 4


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


@settings(max_examples=40, deadline=None)
@given(
    rule=event_conditions(),
    populations=st.lists(raw_events(), min_size=2, max_size=8),
    cut=st.integers(0, 8),
)
def test_merged_snapshots_keep_the_day_counts(rule, populations, cut):
    """GIVEN two snapshots of disjoint profiles (a compaction's base less the changed rows, and
    the change log's rows; or a rescore's shard parts) WHEN merged (audience/column_merge.py)
    THEN an event condition answers on the merged snapshot as on one built from all documents
    (regression: the merge dropped the day counts, so event rules lost their columns)."""
    from chalicelib.audience import column_merge

    cat = catalogue("UTC")
    documents = documents_of(populations, "UTC")
    cut = min(cut, len(documents))
    parts = [Snapshot.build(documents[cut:], cat, []), Snapshot.build(documents[:cut], cat, [])]
    merged = column_merge.merge(parts)
    whole = Snapshot.build(documents, cat, [])
    root = parse_rules({"rules": [rule]}, cat)
    assert compile_mask(root, NOW)(merged).tolist() == compile_mask(root, NOW)(whole).tolist()
    dropped = column_merge.drop(merged, {documents[0]["profile_id"]})
    assert compile_mask(root, NOW)(dropped).tolist() == compile_mask(root, NOW)(whole)[1:].tolist()
