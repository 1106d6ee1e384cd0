"""The vectorised (columnar) rule engine answers as the per-profile evaluator does: property tests
over random rule trees and profiles (tests/rule_reference.py), exact number comparisons, folded
constant groups, serialised and shrunk snapshots."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import CATALOGUE, FIELDS, NOW, cond, profiles, reference, rule_trees

from chalicelib.rules import Catalogue, compile_rules, parse_segment
from chalicelib.rules.columnar import Snapshot, compile_mask


@settings(max_examples=300, deadline=None)
@given(tree=rule_trees, population=st.lists(profiles(), min_size=1, max_size=12))
def test_vectorised_masks_agree_with_the_per_profile_evaluator(tree, population):
    body = tree if "rules" in tree else {"match": "all", "rules": [tree]}
    root = parse_segment({"name": "p", **body}, CATALOGUE).root
    documents = [{"profile_id": f"p{i}", **p} for i, p in enumerate(population)]
    snapshot = Snapshot.build(documents, CATALOGUE, sorted(FIELDS))
    mask = compile_mask(root, NOW)(snapshot)
    predicate = compile_rules(root, NOW)
    assert mask.tolist() == [predicate(d) for d in documents]


def test_scaled_number_columns_compare_exactly():
    documents = [
        {"profile_id": f"p{i}", "attributes": {"n": v}}
        for i, v in enumerate([12.34, 12.35, 1000, -3.5, 0.01, -12.34])
    ]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    assert snapshot.columns["attributes.n"].scale == 2
    for op, value in [
        ("gte", 12.345),
        ("gt", 12.345),
        ("lte", 12.345),
        ("lt", 12.345),
        ("gte", -12.345),
        ("lt", -12.335),
        ("gt", 12.34),
        ("lte", 12.34),
        ("lt", 12.35),
        ("eq", 12.34),
        ("eq", 12.345),
        ("neq", 1000),
        ("between", [0.001, 12.34]),
        ("in", [1000, 12.3400001]),
        ("gte", 1e12),
        ("lte", -1e12),
    ]:
        root = parse_segment(
            {"name": "x", "rules": [cond("attributes.n", op, value)]}, CATALOGUE
        ).root
        assert compile_mask(root, NOW)(snapshot).tolist() == [
            compile_rules(root, NOW)(d) for d in documents
        ], (op, value)


def test_a_snapshot_survives_serialisation():
    documents = [
        {
            "profile_id": f"p{i}",
            "attributes": {
                "n": i / 4,
                "t": "ab"[i % 2],
                "l": ["a"] * (i % 3),
                "b": i % 2 == 0,
                "d": f"2026-05-{1 + i:02d}",
            },
        }
        for i in range(20)
    ] + [{"profile_id": "x", "attributes": {"n": "text"}}]
    snapshot = Snapshot.build(documents, CATALOGUE, sorted(FIELDS))
    again = Snapshot.from_bytes(snapshot.to_bytes())
    assert list(again.profile_ids) == list(snapshot.profile_ids)
    root = parse_segment(
        {
            "name": "s",
            "match": "any",
            "rules": [
                cond("attributes.n", "gte", 2),
                cond("attributes.l", "contains", "a"),
                cond("attributes.n", "exists"),
                cond("attributes.d", "before", "2026-05-03"),
            ],
        },
        CATALOGUE,
    ).root
    for rule in root.rules:
        assert compile_mask(rule, NOW)(again).tolist() == compile_mask(rule, NOW)(snapshot).tolist()


@pytest.mark.parametrize(
    "values, op, value",
    [
        ([0.1 + 0.2, 0.3, 1], "eq", 0.3),
        ([1, 2, 3], "gte", 1.0000000001),
        ([1e-7, 0, 2], "gt", 0),
        ([12.34, 12.35], "lte", 12.339999999999998),
        ([12.34, 12.35], "gt", 12.34),
        ([5, 6], "lt", 5.000000000000001),
    ],
)
def test_columnar_numbers_compare_like_floats(values, op, value):
    documents = [{"profile_id": f"p{i}", "attributes": {"n": v}} for i, v in enumerate(values)]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    root = parse_segment({"name": "x", "rules": [cond("attributes.n", op, value)]}, CATALOGUE).root
    assert compile_mask(root, NOW)(snapshot).tolist() == [
        compile_rules(root, NOW)(d) for d in documents
    ]


def test_a_column_of_another_type_than_the_catalogue_is_stale():
    from chalicelib.rules.columnar import StaleSnapshot

    documents = [{"profile_id": f"p{i}", "attributes": {"n": "text"}} for i in range(3)]
    text_catalogue = Catalogue({"n": {"string": 3}})
    snapshot = Snapshot.build(documents, text_catalogue, ["attributes.n"])
    root = parse_segment({"name": "x", "rules": [cond("attributes.n", "gt", 0)]}, CATALOGUE).root
    with pytest.raises(StaleSnapshot):
        compile_mask(root, NOW)(snapshot)


@settings(max_examples=150, deadline=None)
@given(
    tree=rule_trees,
    population=st.lists(profiles(), min_size=1, max_size=12),
    erased=st.sets(st.integers(0, 11)),
)
def test_a_snapshot_less_erased_rows_answers_like_one_built_without_them(tree, population, erased):
    body = tree if "rules" in tree else {"match": "all", "rules": [tree]}
    root = parse_segment({"name": "p", **body}, CATALOGUE).root
    documents = [{"profile_id": f"p{i:02d}", **p} for i, p in enumerate(population)]
    gone = {f"p{i:02d}" for i in erased}
    kept = [d for d in documents if d["profile_id"] not in gone]
    smaller = Snapshot.build(documents, CATALOGUE, sorted(FIELDS)).without(gone)
    assert list(smaller.profile_ids) == [d["profile_id"] for d in kept]
    assert compile_mask(root, NOW)(smaller).tolist() == [compile_rules(root, NOW)(d) for d in kept]
    # and nothing only the erased profiles held stays in the dictionaries
    again = Snapshot.from_bytes(smaller.to_bytes())
    for path, column in again.columns.items():
        assert (
            column.dictionary == Snapshot.build(kept, CATALOGUE, [path]).columns[path].dictionary
            if column.dictionary
            else True
        )


@pytest.mark.parametrize(
    "stored_values",
    [
        [i / 100 for i in range(-50, 50)],  # a scaled integer column
        [i / 7 for i in range(-50, 50)],  # a float64 column
    ],
)
def test_in_over_many_numbers_agrees_with_the_per_profile_evaluator(stored_values):
    # GIVEN a number column and `in` / `not_in` with more values than a few equalities take
    documents = [
        {"profile_id": f"p{i:03d}", "attributes": {"n": v}}
        for i, v in enumerate(stored_values + [None, "x"])
    ]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    wanted = stored_values[::3] + [1e9, -0.004, 0.125]
    for op in ("in", "not_in"):
        root = parse_segment(
            {"name": "x", "rules": [cond("attributes.n", op, wanted)]}, CATALOGUE
        ).root
        # THEN the mask equals the per-profile answers
        expected = [compile_rules(root, NOW)(d) for d in documents]
        assert compile_mask(root, NOW)(snapshot).tolist() == expected, op
        hits = len(stored_values[::3])  # the other wanted values are stored by no one
        assert sum(expected) == (hits if op == "in" else len(stored_values) - hits)


def test_in_over_many_texts_agrees_with_the_per_profile_evaluator():
    # GIVEN a text column and `in` / `not_in` with more values than a few equalities take
    documents = [
        {"profile_id": f"p{i:03d}", "attributes": {"t": f"w{i % 40}"}} for i in range(100)
    ] + [{"profile_id": "q", "attributes": {"t": 3}}]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.t"])
    for op in ("in", "not_in"):
        root = parse_segment(
            {"name": "x", "rules": [cond("attributes.t", op, [f"w{i}" for i in range(0, 60, 2)])]},
            CATALOGUE,
        ).root
        # THEN the mask equals the per-profile answers
        assert compile_mask(root, NOW)(snapshot).tolist() == [
            compile_rules(root, NOW)(d) for d in documents
        ], op


EMPTY_ALL, EMPTY_ANY = {"match": "all", "rules": []}, {"match": "any", "rules": []}


@pytest.mark.parametrize("match", ["all", "any", "none"])
@pytest.mark.parametrize(
    "rules",
    [
        [EMPTY_ALL],
        [EMPTY_ANY],
        [EMPTY_ALL, EMPTY_ANY],
        [{"match": "none", "rules": [EMPTY_ANY]}],
        [cond("attributes.n", "gte", 1), EMPTY_ANY],
        [cond("attributes.n", "gte", 1), EMPTY_ALL],
        [{"match": "none", "rules": [cond("attributes.n", "gte", 1)]}],
    ],
)
def test_constant_groups_fold_without_changing_answers(match, rules):
    # GIVEN groups that are constants (empty ones), which both evaluators fold away
    body = {"match": match, "rules": rules}
    root = parse_segment({"name": "c", **body}, CATALOGUE).root
    documents = [{"profile_id": f"p{i}", "attributes": {"n": n}} for i, n in enumerate([0, 2])]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    # THEN both answer as the reference evaluator does on the tree as written
    expected = [reference(body, d) for d in documents]
    assert [compile_rules(root, NOW)(d) for d in documents] == expected
    assert compile_mask(root, NOW)(snapshot).tolist() == expected


def test_negated_groups_fold_without_changing_answers():
    # GIVEN none(none(c)), none(any(c, d)), none(none(c, d)) and none(all(c)) around conditions
    c, d = cond("attributes.n", "gte", 1), cond("attributes.t", "eq", "a")
    documents = [
        {"profile_id": f"p{i}", "attributes": attrs}
        for i, attrs in enumerate([{"n": 0}, {"n": 2}, {"t": "a"}, {"n": 2, "t": "a"}, {}])
    ]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n", "attributes.t"])
    for inner in (
        {"match": "none", "rules": [c]},
        {"match": "any", "rules": [c, d]},
        {"match": "none", "rules": [c, d]},
        {"match": "all", "rules": [c]},
    ):
        body = {"match": "none", "rules": [inner]}
        root = parse_segment({"name": "f", **body}, CATALOGUE).root
        # THEN both evaluators answer as the reference does on the tree as written
        expected = [reference(body, doc) for doc in documents]
        assert [compile_rules(root, NOW)(doc) for doc in documents] == expected, inner
        assert compile_mask(root, NOW)(snapshot).tolist() == expected, inner


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=30),
    scale=st.sampled_from([1, 10, 100, 1000, 7]),
    picks=st.lists(st.integers(0, 29), max_size=20),
    nudge=st.sampled_from([0.0, 1e-9, -1e-12, 0.5]),
    op=st.sampled_from(["eq", "in", "not_in"]),
)
def test_scaled_equality_is_exact(stored, scale, picks, nudge, op):
    # GIVEN number columns of decimals (scaled integers, or float64 for sevenths) and rule
    # values taken from them, some nudged off
    values = [v / scale for v in stored]
    documents = [{"profile_id": f"p{i:02d}", "attributes": {"n": v}} for i, v in enumerate(values)]
    snapshot = Snapshot.build(documents, CATALOGUE, ["attributes.n"])
    wanted = [values[i % len(values)] + (nudge if i % 2 else 0) for i in picks] or [values[0]]
    value = wanted[0] if op == "eq" else wanted
    root = parse_segment({"name": "x", "rules": [cond("attributes.n", op, value)]}, CATALOGUE).root
    # THEN the mask equals the per-profile answers
    assert compile_mask(root, NOW)(snapshot).tolist() == [
        compile_rules(root, NOW)(d) for d in documents
    ]
