"""Segments answered from the columnar snapshot plus the change log: the same answers as a walk
over the table, and fresh (a change a moment ago counts)."""

import time
from datetime import date

import pytest

from chalicelib.services import scoring_jobs
from chalicelib.storage import snapshot_store

RULES = {
    "name": "buyers",
    "match": "all",
    "rules": [
        {"field": "behaviour.orders", "operator": "gte", "value": 1},
        {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
    ],
}


def purchase(pid, i, value=10.0):
    return {
        "event_id": f"{pid}-{i}",
        "profile_id": pid,
        "type": "purchase",
        "timestamp": "2026-11-01T10:00:00Z",
        "value": value,
    }


@pytest.fixture
def shop(api, project):
    api.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": f"p{i:02d}", "attributes": {"country": ["NL", "BE", "DE"][i % 3]}}
                for i in range(30)
            ]
        },
    )
    api.post("/events", {"events": [purchase(f"p{i:02d}", 0) for i in range(0, 30, 2)]})
    return api


def walk(api, path, body=None):
    """The same request answered with the snapshot hidden."""
    saved = snapshot_store.latest
    snapshot_store.latest = lambda project_id: None
    try:
        return api.post(path, body)[1] if body is not None else api.get(path)[1]
    finally:
        snapshot_store.latest = saved


def test_snapshot_answers_equal_the_walk_and_stay_fresh(shop, project):
    sid = shop.post("/segments", RULES)[1]["segment_id"]
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))  # takes the snapshot
    assert snapshot_store.latest(project["id"]) is not None

    def check():
        preview = shop.post("/segments/preview", RULES)[1]
        walked = walk(shop, "/segments/preview", RULES)
        for key in ("count", "scored", "expected_conversions", "expected_value", "histograms"):
            assert (
                preview[key] == pytest.approx(walked[key])
                if key != "histograms"
                else preview[key] == walked[key]
            ), key
        members, cursor = [], None
        while True:
            page = shop.get(
                f"/segments/{sid}/members?limit=4" + (f"&cursor={cursor}" if cursor else "")
            )[1]
            members += [p["profile_id"] for p in page["profiles"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        walked_members = walk(shop, f"/segments/{sid}/members?limit=500")["profiles"]
        assert members == sorted(members)
        assert sorted(members) == sorted(p["profile_id"] for p in walked_members)
        assert shop.get(f"/segments/{sid}/count")[1]["count"] == preview["count"] == len(members)
        return preview["count"]

    before = check()
    shop.post("/events", {"events": [purchase("p01", 1)]})  # p01 (BE) now bought: enters
    assert check() == before + 1
    shop.put("/profiles/p00", {"attributes": {"country": "DE"}})  # p00 leaves
    shop.delete("/profiles/p06")  # p06 (NL, bought) erased: leaves
    shop.post("/events", {"events": [purchase("new", 0)]})
    shop.put("/profiles/new", {"attributes": {"country": "NL"}})  # a new member
    assert check() == before + 1 - 2 + 1


def test_the_snapshot_is_compact(shop, project):
    result = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert 0 < result["snapshot_bytes_per_profile"] < 80


def test_changed_profiles_come_from_the_change_log_not_the_table(shop, project, monkeypatch):
    # given: a snapshot, then events, attribute writes, a score write and an erasure (no margin:
    # with one, the profiles the fixture wrote just before the snapshot are read again)
    from chalicelib.storage import change_log

    monkeypatch.setattr(change_log, "MARGIN_SECONDS", 0)
    sid = shop.post("/segments", RULES)[1]["segment_id"]
    time.sleep(1.1)  # profiles written in the snapshot's first second have their scores re-read
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    shop.post("/events", {"events": [purchase("p01", 1), purchase("p04", 1)]})
    shop.put("/profiles/p00", {"attributes": {"country": "DE"}})
    scoring_jobs.score_profiles(project["id"], ["p01", "p04"])
    shop.delete("/profiles/p06")
    from chalicelib.storage import profile_table

    reread = []
    real = profile_table.batch_get
    monkeypatch.setattr(
        profile_table, "batch_get", lambda pid, ids: reread.extend(ids) or real(pid, ids)
    )
    # when: the segment is counted
    count = shop.get(f"/segments/{sid}/count")[1]
    # then: no changed profile was read from the table, and the answer equals the walk's
    assert reread == []
    walked = walk(shop, f"/segments/{sid}/members?limit=500")
    assert count["count"] == walked["count"]
    preview = shop.post("/segments/preview", RULES)[1]
    assert preview["expected_value"] == pytest.approx(
        walk(shop, "/segments/preview", RULES)["expected_value"]
    )


def test_the_change_log_resolves_each_profile_to_its_latest_document():
    from chalicelib.storage.change_log import ERASED, PREDICTIVE, WRITE, resolve

    def doc(v, p=None):
        return {"v": v, "predictive": p or {}}

    def scores(p):
        return {"predictive": p}

    # the highest version wins, whatever the stamps
    assert resolve([("t2", WRITE, 1, doc(1)), ("t1", WRITE, 2, doc(2))]) == (True, doc(2))
    # a score stamped after the write replaces its predictive fields
    assert resolve([("t1", WRITE, 3, doc(3)), ("t2", PREDICTIVE, 3, scores({"c": 1}))]) == (
        True,
        doc(3, {"c": 1}),
    )
    # ... even one of an older version (committed after the write read the profile)
    assert resolve([("t1", WRITE, 4, doc(4)), ("t2", PREDICTIVE, 3, scores({"c": 2}))]) == (
        True,
        doc(4, {"c": 2}),
    )
    # a score stamped before the write is already in the write's document
    assert resolve(
        [("t1", PREDICTIVE, 3, scores({"c": 9})), ("t2", WRITE, 4, doc(4, {"c": 1}))]
    ) == (True, doc(4, {"c": 1}))
    # not known: the latest entry is a hint, or scores with no write
    assert resolve([("t1", WRITE, 1, doc(1)), ("t2", None, None, None)]) == (False, None)
    assert resolve([("t1", PREDICTIVE, 1, scores({"c": 1}))]) == (False, None)
    # erased, then created again
    assert resolve([("t1", WRITE, 5, doc(5)), ("t2", ERASED, None, None)]) == (True, None)
    assert resolve(
        [("t1", WRITE, 5, doc(5)), ("t2", ERASED, None, None), ("t3", WRITE, 1, doc(1))]
    ) == (True, doc(1))
