"""Compaction folds the change log into a new snapshot without reading the profile table;
it is queued once; a request never walks a large table; shard parts merge by column."""

import random
import time
import zlib
from datetime import date

import numpy as np
import pytest
from conftest import purchase_event as purchase

from chalicelib import audience
from chalicelib.audience import column_merge, compaction
from chalicelib.audience.builder import snapshot_project
from chalicelib.rules import Catalogue, parse_rules
from chalicelib.rules.column_encoding import Snapshot
from chalicelib.rules.stored import field_value
from chalicelib.services import scoring_jobs
from chalicelib.storage import change_log, profile_table, snapshot_store

RULES = {
    "match": "any",
    "rules": [
        {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
        {"field": "behaviour.orders", "operator": "gte", "value": 2},
    ],
}


@pytest.fixture
def shop(api, project):
    api.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": f"p{i:02d}", "attributes": {"country": ["NL", "DE", "FR"][i % 3]}}
                for i in range(30)
            ]
        },
    )
    api.post("/events", {"events": [purchase(f"p{i:02d}", 0) for i in range(0, 30, 2)]})
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))  # the snapshot
    return api


def answers(project_id):
    root = parse_rules(RULES, Catalogue(profile_table.attribute_kinds(project_id)))
    a = audience.audience_of(project_id, root)
    return a.count(), a.ids(), a.worth().to_dict()


def comparable(snapshot):
    """A snapshot's rows as plain values per field (encodings may differ, values may not)."""
    out = {}
    for path, col in sorted(snapshot.columns.items()):
        if col.dictionary and col.offsets is None:
            values = [col.dictionary[c] if c >= 0 else None for c in col.values]
        elif col.offsets is not None:
            values = [
                sorted(col.dictionary[c] for c in col.values[col.offsets[i] : col.offsets[i + 1]])
                for i in range(snapshot.n)
            ]
        elif col.type in ("number", "date"):
            values = np.round(column_merge._as_float(col), 6).tolist()
            values = [None if v != v else v for v in values]
        else:
            values = col.values.tolist()
        out[path] = (col.present.tolist(), values)
    return list(snapshot.profile_ids), out


def test_a_compaction_equals_a_fresh_snapshot_and_reads_no_profile(shop, project, monkeypatch):
    # GIVEN a snapshot, then writes, events, a new profile and an erasure after it
    pid = project["id"]
    shop.put("/profiles/p01", {"attributes": {"country": "NL", "tier": "gold"}})
    shop.post("/events", {"events": [purchase("p04", 1), purchase("p04", 2)]})
    shop.post("/profiles", {"profiles": [{"profile_id": "new", "attributes": {"country": "BE"}}]})
    shop.delete("/profiles/p06")
    before = answers(pid)
    reads = []
    real = profile_table.batch_get
    monkeypatch.setattr(
        profile_table, "batch_get", lambda p, ids: reads.extend(ids) or real(p, ids)
    )
    monkeypatch.setattr(profile_table, "iter_profiles", lambda *a, **k: 1 / 0)  # no walk
    # WHEN the change log is compacted
    result = compaction.compact(pid)
    # THEN the new snapshot holds the same rows as one taken fresh from the table, no profile
    # outside the 2-minute margin was read, and the answers are unchanged
    assert result["kind"] == "compaction" and result["profiles"] == 30
    compacted, taken_at = snapshot_store.latest(pid)
    assert set(reads) <= {f"p{i:02d}" for i in range(30)}  # re-read: changed around the snapshot
    monkeypatch.undo()
    assert answers(pid) == before
    snapshot_project(pid)
    fresh, _ = snapshot_store.latest(pid)
    assert comparable(compacted) == comparable(fresh)
    assert "p06" not in compacted.profile_ids and "new" in compacted.profile_ids


def test_a_compaction_keeps_no_row_or_value_of_a_profile_erased_meanwhile(shop, project):
    # GIVEN a profile with a value no one else holds, written after the snapshot, then erased
    pid = project["id"]
    shop.put("/profiles/p02", {"attributes": {"country": "XX-only-p02"}})
    shop.delete("/profiles/p02")
    # WHEN the log is compacted
    compaction.compact(pid)
    # THEN neither its row nor its text is in the snapshot
    snapshot, _ = snapshot_store.latest(pid)
    assert "p02" not in snapshot.profile_ids
    assert all("XX-only-p02" not in c.dictionary for c in snapshot.columns.values())


def test_a_compaction_is_queued_once_until_it_is_done(shop, project, drain, monkeypatch):
    # GIVEN a tiny threshold, and changes past it
    pid = project["id"]
    monkeypatch.setattr(compaction, "COMPACT_MIN", 3)
    for i in range(5):
        shop.put(f"/profiles/p{i:02d}", {"attributes": {"country": "BE"}})
    # WHEN many requests see the long overlay, and the stream trigger counts the changes
    for _ in range(4):
        shop.post("/segments/preview", RULES)
    scoring_jobs.score_profiles(pid, [f"p{i:02d}" for i in range(5)])
    # THEN one compaction message was queued; once it ran, the next request may queue again
    assert drain() == 1
    assert snapshot_store.compaction_state(pid)["compaction_requested_at"] is None
    assert snapshot_store.compaction_state(pid)["changes_since_snapshot"] == 0
    assert compaction.request(pid) is True and compaction.request(pid) is False


def test_a_compaction_queued_before_a_restart_does_not_hold_back_the_next(shop, project):
    # GIVEN a compaction queued on a queue that was then lost (the local stack's is not saved)
    pid = project["id"]
    assert compaction.request(pid) is True
    # WHEN the local stack starts again and forgets the queued work
    compaction.forget_queued([pid])
    # THEN the next request queues a compaction at once, not STALE_SECONDS later
    assert compaction.request(pid) is True


def test_a_large_project_without_a_usable_snapshot_is_503_not_walked(shop, project, monkeypatch):
    # GIVEN a project too large to walk in a request, whose snapshot is gone
    pid = project["id"]
    monkeypatch.setattr(audience, "WALK_LIMIT", 10)
    monkeypatch.setattr(snapshot_store, "latest", lambda project_id: None)
    # WHEN a preview is asked
    status, body = shop.post("/segments/preview", RULES)
    # THEN it is a 503 that says when to retry and how far the snapshot is, and a snapshot job
    # is queued
    assert status == 503
    assert body["error"]["code"] == "snapshot_pending"
    assert body["error"]["retry_after_seconds"] == compaction.RETRY_AFTER_SECONDS
    assert body["error"]["progress"]["compaction_requested_at"]
    response = shop.client.http.post(
        f"/projects/{pid}/segments/preview",
        headers={"x-api-key": project["key"], "content-type": "application/json"},
        body=__import__("json").dumps(RULES),
    )
    assert response.headers["Retry-After"] == str(compaction.RETRY_AFTER_SECONDS)


def test_a_rank_rule_does_not_walk_a_large_project_either(shop, project, monkeypatch):
    """GIVEN a project too large to walk and no usable snapshot WHEN a rank rule is previewed
    THEN it is the same 503, and the rank's population walk stops at the limit too (regression:
    rank bounds were read over the whole table before the walk's limit was checked)."""
    from chalicelib.storage import profile_table

    monkeypatch.setattr(audience, "WALK_LIMIT", 10)
    monkeypatch.setattr(snapshot_store, "latest", lambda project_id: None)
    read, walk = [], profile_table.iter_documents

    def counted(*args, **kwargs):
        for item in walk(*args, **kwargs):
            read.append(item)
            yield item

    monkeypatch.setattr(profile_table, "iter_documents", counted)
    rule = {"field": "predictive.clv", "operator": "top_percent", "value": 10}
    status, body = shop.post("/segments/preview", {"match": "all", "rules": [rule]})
    assert status == 503 and body["error"]["code"] == "snapshot_pending"
    assert len(read) <= 11


FIELDS = {
    "attributes.n": "number",
    "attributes.c": "text",
    "attributes.b": "boolean",
    "attributes.l": "list",
    "attributes.d": "date",
}


def documents(n, seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = {}
        if rng.random() < 0.8:
            a["n"] = rng.choice([1, 2.5, 1_000_000.25, -3, "x"])
        if rng.random() < 0.8:
            a["c"] = rng.choice(["NL", "BE", "DE", f"only{i}"])
        if rng.random() < 0.5:
            a["b"] = rng.random() < 0.5
        if rng.random() < 0.5:
            a["l"] = rng.sample(["a", "b", "c", "d"], 2)
        if rng.random() < 0.5:
            a["d"] = f"2026-0{rng.randint(1, 9)}-01T00:00:00Z"
        out.append({"profile_id": f"p{i:05d}", "attributes": a})
    return out


def build(docs, fields=FIELDS):
    return Snapshot.from_values(
        [d["profile_id"] for d in docs],
        {p: (t, [field_value(d, p) for d in docs]) for p, t in fields.items()},
    )


def test_sorted_parts_merge_into_the_snapshot_of_all_their_rows():
    # GIVEN documents split over shards, each shard's part built alone (one lacks a field)
    docs = documents(600)
    parts = [
        build(
            [d for d in docs if zlib.crc32(d["profile_id"].encode()) % 5 == k],
            {p: t for p, t in FIELDS.items() if not (k == 2 and p == "attributes.l")},
        )
        for k in range(5)
    ]
    for d in docs:  # the part without the list column holds no list: so must the whole
        if zlib.crc32(d["profile_id"].encode()) % 5 == 2:
            d["attributes"].pop("l", None)
    # WHEN they are merged
    merged = column_merge.merge(parts, FIELDS)
    # THEN it equals the snapshot built from every document at once
    assert comparable(merged) == comparable(build(docs))
    # and rows dropped later take their dictionary values with them
    dropped = column_merge.drop(merged, {"p00003", "p00007"})
    assert dropped.n == 598 and comparable(dropped) == comparable(
        build([d for d in docs if d["profile_id"] not in ("p00003", "p00007")])
    )


def test_parts_that_share_an_id_or_disagree_on_a_type_are_refused():
    docs = documents(10)
    with pytest.raises(ValueError):
        column_merge.merge([build(docs[:6]), build(docs[5:])])
    with pytest.raises(ValueError):
        column_merge.merge([build(docs[:5]), build(docs[5:], {"attributes.n": "text"})])


def test_after_a_compaction_neither_answers_nor_the_next_one_read_profiles(
    shop, project, monkeypatch
):
    # GIVEN a compacted snapshot, then more changes right after it (no margin: with one, the
    # profiles the fixture wrote just before the rescore's snapshot are read again)
    pid = project["id"]
    monkeypatch.setattr(change_log, "MARGIN_SECONDS", 0)
    monkeypatch.setattr(change_log, "LOG_MARGIN_SECONDS", 0)
    time.sleep(1.1)  # profiles written in the snapshot's first second have their scores re-read
    scoring_jobs.rescore_project(pid, date(2026, 11, 20))
    shop.put("/profiles/p01", {"attributes": {"country": "NL"}})
    compaction.compact(pid)
    shop.put("/profiles/p01", {"attributes": {"country": "DE"}})
    shop.post("/events", {"events": [purchase("p05", 1), purchase("p05", 2)]})
    shop.post("/profiles", {"profiles": [{"profile_id": "p99", "attributes": {"country": "BE"}}]})
    shop.delete("/profiles/p00")
    reads = []
    real = profile_table.batch_get
    monkeypatch.setattr(
        profile_table, "batch_get", lambda p, ids: reads.extend(ids) or real(p, ids)
    )
    # WHEN the segment is answered, and the log compacted again
    answered = answers(pid)
    compaction.compact(pid)
    # THEN no profile was read from the table, and the answers equal a walk's
    assert reads == []
    monkeypatch.setattr(profile_table, "batch_get", real)
    root = parse_rules(RULES, Catalogue(profile_table.attribute_kinds(pid)))
    walk = audience.TableWalkAudience(pid, root)
    assert answered == answers(pid) == (walk.count(), walk.ids(), walk.worth().to_dict())


def test_a_whole_score_entry_tells_the_profile_without_its_write_entry():
    from chalicelib.storage.change_log import PREDICTIVE, WRITE, resolve

    # GIVEN a score entry carrying the profile as scored, its write entry out of the overlay
    scored = {"profile_id": "p", "attributes": {"a": 1}, "predictive": {"c": 5}}
    # WHEN it is resolved alone, or with an older write and a newer score-only entry
    alone = resolve([("t2", PREDICTIVE, 3, scored)])
    mixed = resolve(
        [
            ("t1", WRITE, 3, {**scored, "predictive": {}}),
            ("t2", PREDICTIVE, 3, scored),
            ("t3", PREDICTIVE, 3, {"predictive": {"c": 7}}),
        ]
    )
    # THEN the profile is known from the score entry, and a later score still replaces it
    assert alone == (True, scored)
    assert mixed == (True, {**scored, "predictive": {"c": 7}})


def test_an_answer_walked_for_want_of_a_snapshot_queues_the_first_one(api, project, drain):
    # GIVEN profiles loaded through the API, and no snapshot yet
    pid = project["id"]
    profiles = [{"profile_id": f"p{i}", "attributes": {"country": "NL"}} for i in range(5)]
    api.post("/profiles", {"profiles": profiles})
    assert snapshot_store.latest(pid) is None
    # WHEN a preview is answered (by a walk of the table)
    status, body = api.post("/segments/preview", RULES)
    # THEN the first snapshot is queued, and once the queue ran, answers come from it
    assert status == 200 and drain() >= 1
    latest = snapshot_store.latest(pid)
    assert latest is not None and latest[0].n == 5
