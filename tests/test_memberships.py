"""Segment membership and its history: backfill on save, entries and exits when profiles change
or are rescored, size over time, exactly-once transitions, and erasure."""

from datetime import date

import pytest

from chalicelib.services import memberships, scoring_jobs
from chalicelib.storage import membership_table

BIG_SPENDERS = {
    "name": "big spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}


def purchase(pid, i, value):
    return {
        "event_id": f"{pid}-{i}",
        "profile_id": pid,
        "type": "purchase",
        "timestamp": "2026-11-01T10:00:00Z",
        "value": value,
    }


@pytest.fixture
def shop(api):
    # p00..p09 spent 60 (members), p10..p19 spent 20 (not)
    api.post(
        "/events",
        {"events": [purchase(f"p{i:02d}", 0, 60.0 if i < 10 else 20.0) for i in range(20)]},
    )
    return api


def all_changes(api, sid, since="2000-01-01T00:00:00Z", limit=500):
    out, cursor = [], None
    while True:
        page = api.get(
            f"/segments/{sid}/changes?since={since}&limit={limit}"
            + (f"&cursor={cursor}" if cursor else "")
        )[1]
        out += page["changes"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def test_saving_a_segment_backfills_its_membership_in_the_background(shop, project, drain):
    status, body = shop.post("/segments", BIG_SPENDERS)
    assert (status, body["backfill"]) == (201, "queued")
    sid = body["segment_id"]
    assert membership_table.members(project["id"], sid) == set()  # not yet: it is queued
    assert drain() == 2  # the backfill, and the first snapshot an answer walked for queued
    assert membership_table.members(project["id"], sid) == {f"p{i:02d}" for i in range(10)}
    changes = all_changes(shop, sid)
    assert sorted(c["profile_id"] for c in changes) == [f"p{i:02d}" for i in range(10)]
    assert {c["change"] for c in changes} == {"entered"}
    stats = shop.get(f"/segments/{sid}/stats")[1]
    assert stats["size"] == 10
    assert [(h["size"], h["entered"], h["exited"], h["trigger"]) for h in stats["history"]] == [
        (10, 10, 0, "saved")
    ]
    assert stats["last_computed_at"] == stats["history"][0]["at"]
    assert stats["last_duration_ms"] >= 0


def test_editing_a_segment_records_who_left_and_who_came_in(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    edited = {
        **BIG_SPENDERS,
        "rules": [{"field": "behaviour.revenue", "operator": "lt", "value": 50}],
    }
    assert shop.put(f"/segments/{sid}", edited)[0] == 200
    drain()
    assert membership_table.members(project["id"], sid) == {f"p{i:02d}" for i in range(10, 20)}
    changes = all_changes(shop, sid)
    assert sum(c["change"] == "exited" for c in changes) == 10
    assert sum(c["change"] == "entered" for c in changes) == 20
    sizes = [h["size"] for h in shop.get(f"/segments/{sid}/stats")[1]["history"]]
    assert sizes == [10, 10]  # newest first


def test_a_changed_profile_enters_and_leaves_through_the_trigger(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    before = all_changes(shop, sid)[-1]["at"]
    # when: p15 buys for 40 more (20 -> 60) and the trigger scores and evaluates it
    shop.post("/events", {"events": [purchase("p15", 1, 40.0)]})
    result = scoring_jobs.score_profiles(project["id"], ["p15"])
    assert result["entered"] == 1
    # then: it is a member, with its entry recorded after the backfill's entries
    assert "p15" in membership_table.members(project["id"], sid)
    latest = all_changes(shop, sid, since=before)
    assert [(c["profile_id"], c["change"]) for c in latest if c["at"] >= before][-1] == (
        "p15",
        "entered",
    )
    # delivered again: nothing more is recorded
    assert scoring_jobs.score_profiles(project["id"], ["p15"])["entered"] == 0
    assert len(all_changes(shop, sid)) == 11


def test_the_stream_trigger_updates_membership(shop, project, drain):
    from chalicelib.api import triggers
    from chalicelib.storage.table_keys import profile_partition

    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    shop.post("/events", {"events": [purchase("p11", 1, 35.0)]})

    class Record:
        sequence_number, event_name = "1", "MODIFY"
        keys = {"pk": {"S": profile_partition(project["id"], 0)}, "profile_id": {"S": "p11"}}
        new_image = {**keys, "attributes": {"S": '{"a": 1}'}}
        old_image = {**keys, "attributes": {"S": "{}"}}

    assert triggers.handle_profile_changes([Record()]) == {"batchItemFailures": []}
    assert "p11" in membership_table.members(project["id"], sid)


def test_a_transition_is_recorded_once_however_often_it_is_applied(project):
    assert membership_table.apply(project["id"], "seg_x", {"a", "b"}, set()) == (2, 0)
    assert membership_table.apply(project["id"], "seg_x", {"a", "b", "c"}, set()) == (1, 0)
    assert membership_table.apply(project["id"], "seg_x", set(), {"a", "zz"}) == (0, 1)
    items, more = membership_table.history(project["id"], "seg_x", "2000", None, 100)
    assert sorted((i.profile_id, i.change) for i in items) == [
        ("a", "entered"),
        ("a", "exited"),
        ("b", "entered"),
        ("c", "entered"),
    ]
    assert membership_table.members(project["id"], "seg_x") == {"b", "c"}


def test_redelivered_evaluations_change_nothing(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    again = memberships.evaluate_segment(project["id"], sid, "saved")
    assert (again["size"], again["entered"], again["exited"]) == (10, 0, 0)
    assert len(all_changes(shop, sid)) == 10


def test_a_rescore_evaluates_every_segment(shop, project, drain):
    sid = shop.post(
        "/segments",
        {
            "name": "scored",
            "match": "all",
            "rules": [{"field": "predictive.conversion_potential", "operator": "gte", "value": 0}],
        },
    )[1]["segment_id"]
    drain()
    assert membership_table.members(project["id"], sid) == set()  # nobody is scored yet
    result = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert result["segments"] == {"evaluated": 1, "entered": 20, "exited": 0}
    assert len(membership_table.members(project["id"], sid)) == 20
    assert shop.get(f"/segments/{sid}/stats")[1]["history"][0]["trigger"] == "rescore"


def test_changes_paginate_with_a_cursor_bound_to_the_query(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    pages = all_changes(shop, sid, limit=3)
    assert len(pages) == 10 and len({c["profile_id"] for c in pages}) == 10
    first = shop.get(f"/segments/{sid}/changes?since=2000-01-01T00:00:00Z&limit=3")[1]
    # the cursor of one query is refused by another (different since)
    status, body = shop.get(
        f"/segments/{sid}/changes?since=2001-01-01T00:00:00Z&limit=3&cursor={first['next_cursor']}"
    )
    assert (status, body["error"]["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize(
    "query, path",
    [
        ("since=yesterday", "/since"),
        ("since=2026-13-01T00:00:00Z", "/since"),
        ("limit=0", "/limit"),
        ("limit=abc", "/limit"),
    ],
)
def test_bad_changes_queries_get_a_400_naming_the_parameter(shop, project, query, path):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    status, body = shop.get(f"/segments/{sid}/changes?{query}")
    assert status == 400 and body["error"]["path"] == path


def test_unknown_segments_have_no_changes_or_stats(shop):
    assert shop.get("/segments/seg_nope/changes")[0] == 404
    assert shop.get("/segments/seg_nope/stats")[0] == 404


def test_erasing_a_profile_removes_its_memberships_and_history(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    assert shop.delete("/profiles/p03")[0] == 200
    assert "p03" not in membership_table.members(project["id"], sid)
    assert all(c["profile_id"] != "p03" for c in all_changes(shop, sid))


def test_deleting_a_segment_removes_its_memberships_history_and_stats(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    drain()
    assert shop.delete(f"/segments/{sid}")[0] == 200
    assert membership_table.members(project["id"], sid) == set()
    assert membership_table.history(project["id"], sid, "2000", None, 10) == ([], False)
    assert membership_table.stats(project["id"], sid, 10) == []


def test_a_profile_lists_the_segments_it_is_in(shop, project, drain):
    sid = shop.post("/segments", BIG_SPENDERS)[1]["segment_id"]
    other = shop.post(
        "/segments",
        {
            **BIG_SPENDERS,
            "name": "small",
            "rules": [{"field": "behaviour.revenue", "operator": "lt", "value": 50}],
        },
    )[1]["segment_id"]
    drain()
    assert shop.get("/profiles/p01/segments")[1] == {
        "profile_id": "p01",
        "segments": [{"segment_id": sid, "name": "big spenders"}],
    }
    assert [s["segment_id"] for s in shop.get("/profiles/p12/segments")[1]["segments"]] == [other]
    assert shop.get("/profiles/nobody/segments")[0] == 404
