"""The day counts event conditions are evaluated over: a snapshot without them is stale, each
profile keeps a bounded number of keys, stored as day gaps; the day-ordered index sums windows as
window_sum does; sparse and dense keys survive the compact stored form; merged snapshots keep
them (tests/event_reference.py)."""

from datetime import date

import pytest
from event_reference import PURCHASES_2_IN_30, catalogue, documents_of, event_conditions, raw_events
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_reference import NOW

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.rules import parse_rules
from chalicelib.rules.columnar import Snapshot, StaleSnapshot, compile_mask
from chalicelib.rules.event_keys import MAX_CUSTOM_NAMES, MAX_PROPERTY_VALUES, EventSettings


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
