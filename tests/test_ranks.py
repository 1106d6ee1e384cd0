"""Rank operators (top_percent / bottom_percent): resolved over the population before a profile is
evaluated (rules/ranks.py), computed alike from a column; the edge cases the README states (ties
at the boundary, fewer profiles than 100/X, missing values), bad values, and both audience
backends on the same fresh view."""

import math

import numpy as np
import pytest
from conftest import set_predictive
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import CATALOGUE, NOW, cond

from chalicelib.audience import SnapshotAudience, TableWalkAudience
from chalicelib.audience.builder import snapshot_project
from chalicelib.infra.errors import ValidationError
from chalicelib.rules import Catalogue, compile_rules, parse_rules, parse_segment, ranks
from chalicelib.rules.columnar import Snapshot, compile_mask
from chalicelib.rules.vectors import UnresolvedRank, rank_count
from chalicelib.storage import profile_table


def tree(*rules, match="all"):
    return parse_segment({"name": "r", "match": match, "rules": list(rules)}, CATALOGUE).root


def documents_of(values):
    """Profiles p0.. with attributes.n = value; None leaves the field out."""
    out = []
    for i, v in enumerate(values):
        attributes = {} if v is None else {"n": v}
        out.append({"profile_id": f"p{i:03d}", "attributes": attributes})
    return out


def answers(root, documents):
    """(per-profile answers after resolving over the documents, the column-only mask, the mask
    of the resolved tree), each as a list of booleans in document order."""
    resolved = ranks.resolve(root, lambda paths: ranks.numbers_of(documents, paths))
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n", "attributes.t"])
    per_profile = [compile_rules(resolved, NOW)(d) for d in documents]
    column = compile_mask(root, NOW)(snapshot).tolist()
    resolved_mask = compile_mask(resolved, NOW)(snapshot).tolist()
    # resolved over the snapshot (as the audience does) gives the same bounds
    again = ranks.resolve(root, lambda paths: ranks.snapshot_numbers(snapshot, paths, (), ()))
    assert again == resolved
    # ... and so does a view where every third profile changed since (its document unchanged)
    changed = documents[::3]
    ids = {d["profile_id"] for d in changed}
    mixed = ranks.resolve(root, lambda p: ranks.snapshot_numbers(snapshot, p, ids, changed))
    assert mixed == resolved
    return per_profile, column, resolved_mask


def reference(values, percent, top):
    """Straight from the README: rank the numbers, keep the first ceil(X/100 n) (at least one),
    and everyone tied with the last kept one."""

    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    numbers = [v for v in values if is_number(v)]
    if not numbers:
        return [False] * len(values)
    k = max(1, math.ceil(round(percent * len(numbers) / 100, 9)))
    edge = sorted(numbers, reverse=top)[k - 1]
    return [is_number(v) and (v >= edge if top else v <= edge) for v in values]


STORED = st.one_of(
    st.sampled_from([0, 1, 2, 2, 3, 10, -1.5, 0.25, 12.34, 1e6]),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
    st.sampled_from([None, "12", True, [1]]),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(STORED, min_size=0, max_size=40),
    percent=st.sampled_from([0.1, 1, 5, 10, 12.5, 25, 33.3, 50, 99.9, 100]),
    top=st.booleans(),
)
def test_resolved_per_profile_and_columnar_answers_agree_with_the_reference(values, percent, top):
    # GIVEN profiles holding numbers, ties, missing values and values of another type
    documents = documents_of(values)
    root = tree(cond("attributes.n", "top_percent" if top else "bottom_percent", percent))
    # WHEN the rank is answered per profile (resolved first), from the column, and resolved
    per_profile, column, resolved_mask = answers(root, documents)
    # THEN all three give the reference answer
    expected = reference(values, percent, top)
    assert per_profile == column == resolved_mask == expected


def test_ties_at_the_boundary_are_all_in():
    # GIVEN four profiles, three tied at the top
    documents = documents_of([5, 5, 5, 1])
    # WHEN asking for the top 25 % (k = 1)
    per_profile, column, _ = answers(tree(cond("attributes.n", "top_percent", 25)), documents)
    # THEN every profile tied with the first is in: three, not one
    assert per_profile == column == [True, True, True, False]


def test_fewer_profiles_than_100_over_x_give_at_least_the_top_one():
    # GIVEN three profiles (top 10 % would be 0.3 of a profile)
    documents = documents_of([7, 9, 8])
    # WHEN asking for the top and bottom 10 %
    top, top_column, _ = answers(tree(cond("attributes.n", "top_percent", 10)), documents)
    bottom, bottom_column, _ = answers(tree(cond("attributes.n", "bottom_percent", 10)), documents)
    # THEN the single highest (lowest) is in
    assert top == top_column == [False, True, False]
    assert bottom == bottom_column == [True, False, False]


def test_missing_values_are_not_counted_and_never_match():
    # GIVEN two profiles with a number and eight without it (or with text in it)
    documents = documents_of([10, 9] + [None] * 6 + ["12", None])
    # WHEN asking for the top 50 %
    per_profile, column, _ = answers(tree(cond("attributes.n", "top_percent", 50)), documents)
    # THEN n is 2, so only the highest number is in; no missing value matches
    assert per_profile == column == [True] + [False] * 9


def test_a_field_nobody_holds_matches_nobody_and_exactness_of_the_count():
    documents = documents_of([None, None, "x"])
    per_profile, column, _ = answers(tree(cond("attributes.n", "top_percent", 100)), documents)
    assert per_profile == column == [False, False, False]
    # 10 % of 30 is exactly 3 (no rounding up to 4), 7 % of 100 is 7
    assert rank_count(10, 30) == 3 and rank_count(7, 100) == 7 and rank_count(0.1, 1000) == 1


def test_ranks_combine_with_other_rules_and_groups():
    # GIVEN ten profiles 0..9
    documents = documents_of(list(range(10)))
    # WHEN top 30 % OR bottom 10 %, and NOT top 10 %
    root = tree(
        {
            "match": "any",
            "rules": [
                cond("attributes.n", "top_percent", 30),
                cond("attributes.n", "bottom_percent", 10),
            ],
        },
        {"match": "none", "rules": [cond("attributes.n", "top_percent", 10)]},
    )
    per_profile, column, resolved = answers(root, documents)
    # THEN 0, 7 and 8 are in (9 is the top 10 %)
    expected = [i in (0, 7, 8) for i in range(10)]
    assert per_profile == column == resolved == expected


@pytest.mark.parametrize("value", [0, -5, 100.5, 1000, "10", True, None, [10], float("inf")])
def test_a_rank_outside_0_to_100_is_a_400_naming_the_value(value):
    # GIVEN a rank whose value is not a percentage in (0, 100]
    body = {"name": "r", "rules": [{"field": "attributes.n", "operator": "top_percent"}]}
    body["rules"][0]["value"] = value
    # WHEN it is parsed THEN a validation error points at the value
    with pytest.raises(ValidationError) as caught:
        parse_segment(body, CATALOGUE)
    assert caught.value.path == "/rules/0/value"


def test_ranks_apply_to_number_fields_only():
    with pytest.raises(ValidationError) as caught:
        parse_segment({"name": "r", "rules": [cond("attributes.t", "top_percent", 10)]}, CATALOGUE)
    assert caught.value.path == "/rules/0/operator"
    # every number field takes them, predictive ones included
    catalogue = Catalogue()
    numbers = [f for f in catalogue if f.type == "number"]
    assert numbers and all("top_percent" in f.operators for f in numbers)
    assert "predictive.clv" in {f.path for f in numbers}


def test_an_unresolved_rank_cannot_be_evaluated_one_profile_at_a_time():
    # GIVEN a rank condition not resolved over a population
    root = tree(cond("attributes.n", "top_percent", 10))
    # WHEN it is compiled for one profile at a time THEN it fails at once, clearly
    with pytest.raises(UnresolvedRank):
        compile_rules(root, NOW)


def test_the_fresh_view_leaves_changed_rows_out_and_counts_their_documents():
    # GIVEN a snapshot of 0..9 (scaled to two decimals) where p009 and p008 changed since:
    # p009 was erased and p008 now holds 100.25
    documents = documents_of([i + 0.25 for i in range(10)])
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    fresh = [{"profile_id": "p008", "attributes": {"n": 100.25}}]
    numbers = ranks.snapshot_numbers(snapshot, {"attributes.n"}, {"p008", "p009"}, fresh)
    # THEN the numbers are the unchanged rows' exact values plus the changed document's
    numbers = numbers["attributes.n"]
    expected = [100.25] + [i + 0.25 for i in range(7, -1, -1)]
    assert numbers.n == 9
    assert [numbers.kth(k, top=True) for k in range(1, 10)] == expected
    assert [numbers.kth(k, top=False) for k in range(1, 10)] == expected[::-1]


@pytest.fixture
def ranked_shop(api, project):
    api.post(
        "/profiles",
        {"profiles": [{"profile_id": f"p{i:02d}", "attributes": {"x": 1}} for i in range(20)]},
    )
    for i in range(0, 20):
        if i % 5:  # every fifth profile has no CLV
            set_predictive(project["id"], f"p{i:02d}", {"clv": float(i // 2)})
    return project["id"]


def test_both_audience_backends_rank_on_the_same_fresh_view(api, ranked_shop):
    shop = ranked_shop
    rules = {"rules": [{"field": "predictive.clv", "operator": "top_percent", "value": 15}]}

    def root():
        return parse_rules(rules, Catalogue(profile_table.attribute_kinds(shop)))

    # GIVEN 16 profiles with a CLV (0..9, mostly in tied pairs): the top 15 % is k = 3, so the
    # bound is the third largest, 8, and the tie at 8 is in (four profiles)
    walked = TableWalkAudience(shop, root()).ids()
    assert walked == ["p16", "p17", "p18", "p19"]
    # WHEN a snapshot is taken and a profile changes after it (CLV 50, the new top)
    snapshot_project(shop)
    set_predictive(shop, "p01", {"clv": 50.0})
    api.put("/profiles/p01", {"attributes": {"x": 2}})  # through the API: in the change log
    snap = SnapshotAudience.open(shop, root())
    walk = TableWalkAudience(shop, root())
    # THEN both backends see the change: p01 is in and the bound rises to 9
    assert snap is not None
    assert snap.ids() == walk.ids() == ["p01", "p18", "p19"]


def test_a_bounded_walk_with_a_rank_reads_the_table_once(ranked_shop, monkeypatch):
    # GIVEN a rank rule, answered by a request's bounded walk
    from chalicelib.audience import table_walk_backend

    rules = {"rules": [{"field": "predictive.clv", "operator": "top_percent", "value": 15}]}
    root = parse_rules(rules, Catalogue(profile_table.attribute_kinds(ranked_shop)))
    walks, iter_documents = [], profile_table.iter_documents
    monkeypatch.setattr(
        table_walk_backend.profile_table,
        "iter_documents",
        lambda *a, **k: walks.append(1) or iter_documents(*a, **k),
    )
    # WHEN it is answered
    ids = TableWalkAudience(ranked_shop, root, limit=1000).ids()
    # THEN the table was read once, for the bound and the matches both
    assert ids == ["p16", "p17", "p18", "p19"] and len(walks) == 1


def test_a_changed_profile_moves_others_out_of_a_rank_segment(api, project, drain):
    from chalicelib.services import scoring_jobs
    from chalicelib.storage import membership_table

    def purchase(pid, i, value):
        return {
            "event_id": f"{pid}-{i}",
            "profile_id": pid,
            "type": "purchase",
            "timestamp": "2026-11-01T10:00:00Z",
            "value": value,
        }

    # GIVEN ten customers who spent 10..100 and a saved "top 10 % revenue" segment (p09)
    api.post("/events", {"events": [purchase(f"p{i:02d}", 0, 10.0 * (i + 1)) for i in range(10)]})
    top = {
        "name": "top revenue",
        "rules": [{"field": "behaviour.revenue", "operator": "top_percent", "value": 10}],
    }
    sid = api.post("/segments", top)[1]["segment_id"]
    drain()
    assert membership_table.members(project["id"], sid) == {"p09"}
    # WHEN p00 buys for 500 more and the trigger scores and evaluates only p00
    api.post("/events", {"events": [purchase("p00", 1, 500.0)]})
    result = scoring_jobs.score_profiles(project["id"], ["p00"])
    # THEN p00 entered and p09, which did not change, left: the segment was evaluated whole
    assert membership_table.members(project["id"], sid) == {"p00"}
    assert (result["entered"], result["exited"]) == (1, 1)


def test_a_tree_with_an_event_condition_and_a_rank_resolves():
    """GIVEN a parsed tree mixing an event condition with a rank rule (regression: rank
    resolution walked event conditions as groups and raised AttributeError, a 500 on members)
    WHEN its ranks are resolved THEN the rank gets its bound and the event condition stays."""
    from event_reference import catalogue as event_catalogue

    event = {"event": "purchase", "count": {"operator": "gte", "value": 1}}
    root = parse_rules(
        {"rules": [event, {"field": "attributes.n", "operator": "top_percent", "value": 50}]},
        event_catalogue("UTC"),
    )
    assert ranks.rank_paths(root) == {"attributes.n"}
    resolved = ranks.resolve(root, lambda paths: {"attributes.n": np.array([1.0, 2.0, 3.0, 4.0])})
    assert resolved.rules[0] is root.rules[0]
    assert resolved.rules[1].value.threshold == 3.0
