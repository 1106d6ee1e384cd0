"""Behaviour aggregates built from events."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.infra.errors import ValidationError


def event(i, kind="page_view", ts="2026-03-01T10:00:00Z", **extra):
    return parse_event(
        {"event_id": f"e{i}", "profile_id": "p1", "type": kind, "timestamp": ts, **extra},
        f"/events/{i}",
    )


def test_counts_revenue_and_times():
    events = [
        event(1, "session_start", "2026-03-01T09:00:00Z"),
        event(2),
        event(3, "product_view", properties={"discount": True}),
        event(4, "add_to_cart"),
        event(5, "purchase", "2026-03-02T10:00:00+01:00", value=19.99),
        event(6, "purchase", "2026-03-05T10:00:00Z", value=5.01),
    ]
    b = apply_events(None, events)
    assert (b["sessions"], b["page_views"], b["product_views"], b["add_to_cart"]) == (1, 1, 1, 1)
    assert (b["orders"], b["revenue"], b["average_order_value"]) == (2, 25.0, 12.5)
    assert b["discount_interactions"] == 1
    assert b["first_seen"] == "2026-03-01T09:00:00Z"
    assert b["last_seen"] == b["last_order_at"] == "2026-03-05T10:00:00Z"
    assert b["first_order_at"] == "2026-03-02T09:00:00Z"  # normalised to UTC
    assert b["purchases"] == {"2026-03-02": [1, 19.99], "2026-03-05": [1, 5.01]}
    assert b["activity"]["2026-03-01"] == [1, 1, 1, 1, 1]


def test_persuasion_shown_and_responded_per_principle():
    events = [
        event(
            i,
            "persuasion",
            properties={"persuasion": {"principle": "Scarcity", "responded": i % 2 == 0}},
        )
        for i in range(4)
    ]
    assert apply_events(None, events)["persuasion"] == {"Scarcity": [4, 2]}


def test_aggregation_does_not_mutate_its_input():
    before = apply_events(None, [event(1)])
    snapshot = repr(before)
    apply_events(before, [event(2, "purchase", value=3)])
    assert repr(before) == snapshot


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["page_view", "purchase", "session_start"]),
            st.integers(1, 28),
            st.integers(0, 500),
        ),
        min_size=1,
        max_size=20,
    ),
    st.randoms(),
)
def test_order_of_arrival_does_not_matter(specs, rnd):
    events = [
        event(
            i,
            kind,
            f"2026-02-{day:02d}T12:00:00Z",
            **({"value": value / 4} if kind == "purchase" else {}),
        )
        for i, (kind, day, value) in enumerate(specs)
    ]
    shuffled = events[:]
    rnd.shuffle(shuffled)
    split = rnd.randint(0, len(events))
    in_two_batches = apply_events(apply_events(None, shuffled[:split]), shuffled[split:])
    assert in_two_batches == apply_events(None, events)


@pytest.mark.parametrize(
    "raw, path",
    [
        (
            {"event_id": "e", "profile_id": "p", "type": "purchase", "timestamp": "2026-01-01"},
            "/events/0/value",
        ),
        (
            {"event_id": "e", "profile_id": "p", "type": "teleport", "timestamp": "2026-01-01"},
            "/events/0/type",
        ),
        (
            {"event_id": "e", "profile_id": "p", "type": "page_view", "timestamp": "yesterday"},
            "/events/0/timestamp",
        ),
        (
            {"event_id": "e", "profile_id": "p", "type": "page_view", "timestamp": "2999-01-01"},
            "/events/0/timestamp",
        ),
        (
            {"event_id": "e e", "profile_id": "p", "type": "page_view", "timestamp": "2026-01-01"},
            "/events/0/event_id",
        ),
        (
            {
                "event_id": "e",
                "profile_id": "p",
                "type": "purchase",
                "timestamp": "2026-01-01",
                "value": -5,
            },
            "/events/0/value",
        ),
        (
            {
                "event_id": "e",
                "profile_id": "p",
                "type": "page_view",
                "timestamp": "2026-01-01",
                "properties": {"persuasion": {"principle": "Greed"}},
            },
            "/events/0/properties/persuasion/principle",
        ),
        ({"profile_id": "p", "type": "page_view", "timestamp": "2026-01-01"}, "/events/0/event_id"),
    ],
)
def test_invalid_events_name_the_field(raw, path):
    with pytest.raises(ValidationError) as info:
        parse_event(raw, "/events/0")
    assert info.value.path == path


def test_many_random_events_sum_up():
    rng = random.Random(3)
    values = [round(rng.uniform(1, 100), 2) for _ in range(200)]
    b = apply_events(None, [event(i, "purchase", value=v) for i, v in enumerate(values)])
    assert b["orders"] == 200 and b["revenue"] == pytest.approx(sum(values), abs=0.01)
