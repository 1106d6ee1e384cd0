"""A profile's size: its day-by-day history stays bounded, a write that would take the profile
over its limit is refused whole (nothing of the request is stored), and every profile within the
limit can still be written on the store we run on (moto: locally and in these tests)."""

import json
from datetime import date, datetime, timedelta, timezone

from chalicelib import behaviour as aggregates
from chalicelib.behaviour import apply_events, parse_event
from chalicelib.storage import profile_table
from chalicelib.storage.tables import EventModel, ProfileModel

START = date(1992, 1, 1)


def ts(day: date) -> str:
    return f"{day.isoformat()}T10:00:00Z"


def page_view(event_id, day, profile="big"):
    return {"event_id": event_id, "profile_id": profile, "type": "page_view", "timestamp": ts(day)}


def purchase(event_id, day, value=10.0, profile="big"):
    return {
        "event_id": event_id,
        "profile_id": profile,
        "type": "purchase",
        "timestamp": ts(day),
        "value": value,
    }


def events(raw):
    now = datetime(2100, 1, 1, tzinfo=timezone.utc)
    return [parse_event(e, "/", now) for e in raw]


def daily(n, first=START, prefix="e", kind=page_view):
    return [kind(f"{prefix}{i}", first + timedelta(days=i)) for i in range(n)]


def attributes_of(size: int) -> dict:
    """Attributes whose JSON takes exactly `size` bytes: lists of 100 strings of 200 characters
    (the largest values a client may send), a list of such strings, then one shorter string."""
    full = ["x" * 200] * 100
    attrs: dict = {}
    while len(json.dumps({**attrs, f"l{len(attrs)}": full})) + 300 <= size:
        attrs[f"l{len(attrs)}"] = full
    tail = attrs["tail"] = []
    while len(json.dumps(attrs)) + 504 <= size:
        tail.append("x" * 200)
    attrs["pad"] = ""
    attrs["pad"] = "x" * (size - len(json.dumps(attrs)))
    assert len(json.dumps(attrs)) == size
    return attrs


def profile_bytes(document) -> int:
    return sum(len(json.dumps(document[k])) for k in ("attributes", "behaviour", "predictive"))


# -- bounded history (pure) ------------------------------------------------------------------------


def test_days_older_than_the_daily_window_are_summed_into_their_month():
    """GIVEN page views and purchases on every day of 40 years
    WHEN they are aggregated
    THEN the last DAILY_HISTORY_DAYS days before the latest event are kept day by day, older days
    are summed into the first day of their month, and no count or amount is lost."""
    n = 40 * 366
    behaviour = apply_events(None, events(daily(n) + daily(n, prefix="o", kind=purchase)))
    last = START + timedelta(days=n - 1)
    cutoff = (last - timedelta(days=aggregates.DAILY_HISTORY_DAYS)).isoformat()
    for history in (behaviour["activity"], behaviour["purchases"]):
        recent = [d for d in history if d >= cutoff]
        older = [d for d in history if d < cutoff]
        assert len(recent) == aggregates.DAILY_HISTORY_DAYS + 1
        assert all(d.endswith("-01") for d in older)
        assert len(older) <= 40 * 12
    assert sum(v[1] for v in behaviour["activity"].values()) == behaviour["page_views"] == n
    assert sum(v[0] for v in behaviour["purchases"].values()) == behaviour["orders"] == n
    assert round(sum(v[1] for v in behaviour["purchases"].values()), 2) == 10.0 * n
    assert len(json.dumps(behaviour)) < 100_000  # was about 1 MB kept day by day


def test_the_bounded_history_does_not_depend_on_arrival_order():
    """GIVEN three years of daily events
    WHEN they arrive newest first, oldest first, or all at once
    THEN the behaviour is the same (aggregation stays commutative)."""
    raw = daily(3 * 365) + [
        purchase(f"o{i}", START + timedelta(days=7 * i), 3.3) for i in range(150)
    ]
    all_at_once = apply_events(None, events(raw))
    old_first = apply_events(apply_events(None, events(raw[:400])), events(raw[400:]))
    new_first = apply_events(apply_events(None, events(raw[400:])), events(raw[:400]))
    one_by_one = None
    for event in events(list(reversed(raw))):
        one_by_one = apply_events(one_by_one, [event])
    assert all_at_once == old_first == new_first == one_by_one
    assert len(all_at_once["activity"]) < 3 * 365


# -- the write path (in-process moto) --------------------------------------------------------------


def test_a_profile_stored_with_decades_of_daily_history_keeps_taking_events(api, project):
    """GIVEN a profile stored with 25 years of day-by-day activity (about 280 KB, as profiles
    were kept before histories were bounded)
    WHEN a batch of events arrives for it
    THEN the events are accepted (not a 500) and the stored history is bounded again."""
    api.put("/profiles/big", {"attributes": {"plan": "gold"}})
    old = apply_events(None, [])
    old["activity"] = {
        (START + timedelta(days=i)).isoformat(): [0, 1, 0, 0, 0] for i in range(25 * 365)
    }
    old["page_views"] = 25 * 365
    ProfileModel.get(profile_table.profile_key(project["id"], "big"), "big").update(
        actions=[ProfileModel.behaviour.set(old)]
    )  # planted as older code stored it
    assert len(json.dumps(old)) > 250_000

    newest = START + timedelta(days=25 * 365)
    status, body = api.post("/events", {"events": daily(180, newest, prefix="n")})
    assert status == 200 and (body["accepted"], body["rejected"]) == (180, 0), body
    behaviour = api.get("/profiles/big")[1]["behaviour"]
    assert behaviour["page_views"] == 25 * 365 + 180
    assert sum(v[1] for v in behaviour["activity"].values()) == behaviour["page_views"]
    assert len(behaviour["activity"]) < aggregates.DAILY_HISTORY_DAYS + 25 * 12


def test_a_profile_just_under_the_limit_can_still_be_written(api):
    """GIVEN a profile 2,000 bytes under the profile limit
    WHEN an event arrives that keeps it under the limit, then attributes that take it over
    THEN the event is stored (the store accepts every profile the limit lets through, not a 500),
    and the attributes are a 413 naming /attributes."""
    status, _ = api.put(
        "/profiles/big", {"attributes": attributes_of(profile_table.MAX_PROFILE_BYTES - 2_000 - 4)}
    )
    assert status == 201
    status, body = api.post("/events", {"events": daily(1, date(2026, 1, 1))})
    assert status == 200 and body["accepted"] == 1, body
    status, body = api.put("/profiles/big", {"attributes": {"more": ["x" * 200] * 20}})
    assert status == 413 and body["error"]["path"] == "/attributes", body
    assert api.get("/profiles/big")[1]["behaviour"]["page_views"] == 1


def test_a_batch_that_would_outgrow_the_profile_writes_nothing(api, project):
    """GIVEN a profile 4,000 bytes under the limit, and a batch of 180 of its events on new days
    (two transactions: the first 90 alone would fit, all 180 would not) and one event of another
    profile
    WHEN the batch is sent, and sent again
    THEN the profile's 180 events are each rejected (413 payload_too_large at /profile_id), none of
    them is stored or counted, and the other profile's event is accepted."""
    api.put(
        "/profiles/big", {"attributes": attributes_of(profile_table.MAX_PROFILE_BYTES - 4_000 - 4)}
    )
    before = api.get("/profiles/big")[1]
    batch = daily(180, date(2025, 1, 1)) + [page_view("x1", date(2025, 1, 1), profile="other")]
    grown = apply_events(None, events(batch[:90]))
    assert (
        profile_bytes({**before, "behaviour": grown}) <= profile_table.MAX_PROFILE_BYTES
    )  # premise
    grown = apply_events(None, events(batch[:180]))
    assert (
        profile_bytes({**before, "behaviour": grown}) > profile_table.MAX_PROFILE_BYTES
    )  # premise

    for attempt in range(2):
        status, body = api.post("/events", {"events": batch})
        assert status == 200, body
        assert api.get("/profiles/big")[1] == before
        assert [e.event_id for e in EventModel.query(f"{project['id']}#big")] == []
        assert (body["accepted"], body["rejected"]) == (1 - attempt, 180), body
        assert {(e["error"]["code"], e["error"]["path"]) for e in body["errors"]} == {
            ("payload_too_large", "/profile_id")
        }


def test_a_redelivered_batch_of_a_profile_near_the_limit_is_answered_as_duplicates(api):
    """GIVEN a profile that stored a batch of 180 purchases and is now 100 bytes under the limit
    (counted twice, the batch would take it over)
    WHEN the same batch is delivered again
    THEN it is answered as 180 duplicates, not refused: redelivered events do not grow it."""
    batch = [purchase(f"o{i}", date(2025, 1, 1) + timedelta(days=i), 5.0) for i in range(180)]
    once = apply_events(None, events(batch))
    twice = apply_events(once, events(batch))
    room = profile_table.MAX_PROFILE_BYTES - 100 - len(json.dumps(once)) - len("{}")
    api.put("/profiles/big", {"attributes": attributes_of(room)})
    assert room + len(json.dumps(twice)) + len("{}") > profile_table.MAX_PROFILE_BYTES  # premise
    status, body = api.post("/events", {"events": batch})
    assert status == 200 and body["accepted"] == 180, body
    stored = api.get("/profiles/big")[1]
    assert profile_bytes(stored) == profile_table.MAX_PROFILE_BYTES - 100

    status, body = api.post("/events", {"events": batch})
    assert status == 200 and (body["accepted"], body["duplicates"], body["rejected"]) == (
        0,
        180,
        0,
    ), body
    assert api.get("/profiles/big")[1] == stored
