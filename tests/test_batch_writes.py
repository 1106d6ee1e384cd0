"""Batch writes (storage.profile_batch): many profiles per transaction, kind counts in one delta
item per transaction, and the guarantees of single writes kept (concurrency, redelivery)."""

from chalicelib.profile_documents import merge_attributes
from chalicelib.storage import kind_counts, profile_batch, profile_table, profile_writes
from chalicelib.storage.tables import AttributeKindModel


def purchase(i, profile, ts="2026-02-01T10:00:00Z"):
    return {
        "event_id": f"o{i}",
        "profile_id": profile,
        "type": "purchase",
        "timestamp": ts,
        "value": 10.0,
    }


def delta_items(project_id):
    return [
        item
        for item in AttributeKindModel.query(project_id)
        if item.name.startswith(kind_counts.DELTA_PREFIX)
    ]


def test_a_batch_counts_kinds_once_per_profile_and_folds_its_deltas(api, project):
    # GIVEN 120 profiles (more than one transaction holds), each with a string and a number
    profiles = [
        {"profile_id": f"p{i}", "attributes": {"country": "NL", "age": i}} for i in range(120)
    ]
    status, body = api.post("/profiles", {"profiles": profiles})
    assert status == 200 and body["succeeded"] == 120
    # THEN the counters hold every profile once and no delta item is left
    assert delta_items(project["id"]) == []
    kinds = profile_table.attribute_kinds(project["id"])
    assert kinds["country"]["string"] == 120 and kinds["age"]["number"] == 120
    # WHEN 30 of them change the kind of age and 10 drop country
    changes = [{"profile_id": f"p{i}", "attributes": {"age": "old"}} for i in range(30)]
    changes += [{"profile_id": f"p{i}", "attributes": {"country": None}} for i in range(30, 40)]
    assert api.post("/profiles", {"profiles": changes})[1]["succeeded"] == 40
    # THEN the counts moved by exactly that
    kinds = profile_table.attribute_kinds(project["id"])
    assert (kinds["age"]["number"], kinds["age"]["string"]) == (90, 30)
    assert kinds["country"]["string"] == 110


def test_a_profile_sent_twice_in_one_batch_applies_in_order(api):
    # GIVEN one profile twice in a batch, the second item removing what the first set
    status, body = api.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": "a", "attributes": {"x": 1}},
                {"profile_id": "b", "attributes": {"x": 2}},
                {"profile_id": "a", "attributes": {"x": None, "y": 3}},
            ]
        },
    )
    # THEN both apply, in order
    assert [r["status"] for r in body["results"]] == ["created", "created", "updated"]
    assert api.get("/profiles/a")[1]["attributes"] == {"y": 3}


def test_a_concurrent_write_inside_a_batch_is_not_lost(project, monkeypatch):
    # GIVEN stored profiles, and another writer that changes one of them after the batch has
    # read it and before the batch commits
    pid = project["id"]
    for i in range(5):
        profile_table.upsert_attributes(pid, f"p{i}", {"n": i}, merge_attributes)
    plan, raced = profile_writes.plan, []

    def plan_with_a_race(project_id, profile_id, *args):
        if profile_id == "p3" and not raced:
            raced.append(profile_id)
            profile_table.upsert_attributes(pid, "p3", {"other": "w"}, merge_attributes)
        return plan(project_id, profile_id, *args)

    monkeypatch.setattr(profile_writes, "plan", plan_with_a_race)
    # WHEN the batch writes every profile
    outcomes = profile_batch.write_many(
        pid,
        {
            f"p{i}": (lambda e, x: (merge_attributes(e.attributes, {"b": True}), e.behaviour, []))
            for i in range(5)
        },
    )
    # THEN every write is there, the concurrent one included, and each counted once
    assert raced and not any(o.error for o in outcomes.values())
    assert profile_table.get(pid, "p3").attributes == {"n": 3, "other": "w", "b": True}
    for i in range(5):
        assert profile_table.get(pid, f"p{i}").attributes["b"] is True
    kinds = profile_table.attribute_kinds(pid)
    assert kinds["b"]["boolean"] == 5 and kinds["other"]["string"] == 1
    assert kinds["n"]["number"] == 5


def test_a_redelivered_event_among_many_profiles_counts_once(api):
    # GIVEN events of 40 profiles stored
    first = [purchase(i, f"u{i}") for i in range(40)]
    assert api.post("/events", {"events": first})[1]["accepted"] == 40
    # WHEN a batch resends two of them among 38 new ones
    batch = [first[3], first[17]] + [purchase(100 + i, f"u{i}") for i in range(38)]
    status, body = api.post("/events", {"events": batch})
    # THEN the two are duplicates and every profile counts each event once
    assert status == 200 and (body["accepted"], body["duplicates"]) == (38, 2)
    for i in range(40):
        orders = api.get(f"/profiles/u{i}")[1]["behaviour"]["orders"]
        assert orders == (2 if i < 38 else 1), i


def test_a_resent_batch_is_written_in_transactions_not_profile_by_profile(api, monkeypatch):
    # GIVEN events of 40 profiles stored
    first = [purchase(i, f"u{i}") for i in range(40)]
    assert api.post("/events", {"events": first})[1]["accepted"] == 40
    single = []
    write_one = profile_writes.write_one
    monkeypatch.setattr(
        profile_writes, "write_one", lambda *a, **k: single.append(a[1]) or write_one(*a, **k)
    )
    # WHEN a client re-sends the whole batch, with a new event for ten of the profiles
    batch = first + [purchase(100 + i, f"u{i}") for i in range(10)]
    status, body = api.post("/events", {"events": batch})
    # THEN the old ones are duplicates, the new ones count, and no profile fell back to a
    # write of its own (a re-sent batch of 500 took 30 s that way on the local stack)
    assert status == 200 and (body["accepted"], body["duplicates"]) == (10, 40)
    assert single == []
    for i in range(40):
        orders = api.get(f"/profiles/u{i}")[1]["behaviour"]["orders"]
        assert orders == (2 if i < 10 else 1), i


def test_deltas_left_by_a_stopped_writer_are_counted_and_folded(project):
    # GIVEN a delta item that its writer never folded (it stopped)
    pid = project["id"]
    kind_counts.delta_item(pid, {"plan": {"string": 2}}).save()
    # THEN readers count it, and the read folds it into the counters
    assert profile_table.attribute_kinds(pid)["plan"]["string"] == 2
    assert delta_items(pid) == []
    assert profile_table.attribute_kinds(pid)["plan"]["string"] == 2


def test_a_score_write_is_one_entry_with_its_scores_and_nothing_when_stale(project):
    """GIVEN a stored profile WHEN it is scored THEN the change log gains one entry, its scores
    (before: a hint first, then the entry: two entries and three calls); a score of a version
    that is no longer current writes neither the scores nor an entry."""
    from chalicelib.storage import change_log, score_writes
    from chalicelib.storage.tables import ChangeModel

    pid = project["id"]
    profile, _ = profile_table.upsert_attributes(pid, "s1", {"plan": "pro"}, merge_attributes)
    before = {e.change_id for e in ChangeModel.query(pid)}
    assert score_writes.write_scores([(profile, {"churn_risk": 0.25}, None)]) == {"s1"}
    added = [e for e in ChangeModel.query(pid) if e.change_id not in before]
    # the entry carries the profile's segmentable document, scores included (storage/score_writes)
    assert [(e.kind, e.version, e.document["predictive"]) for e in added] == [
        (change_log.PREDICTIVE, profile.version, {"churn_risk": 0.25})
    ]
    profile_table.upsert_attributes(pid, "s1", {"plan": "max"}, merge_attributes)
    entries = {e.change_id for e in ChangeModel.query(pid)}
    assert score_writes.write_scores([(profile, {"churn_risk": 0.9}, None)]) == set()
    assert profile_table.get(pid, "s1").predictive == {"churn_risk": 0.25}
    assert {e.change_id for e in ChangeModel.query(pid)} == entries


def test_transactions_stay_within_dynamodb_item_count_and_bytes():
    """GIVEN planned writes of small and of large profiles THEN each transaction holds at most
    100 items (the delta item included) and about 3 MB (DynamoDB refuses more than 4 MB)."""
    from chalicelib.storage.profile_batch import MAX_TRANSACTION_BYTES, _groups
    from chalicelib.storage.profile_writes import Planned

    def planned(n, size, names, distinct=False):
        return [
            (
                f"p{i}",
                Planned(
                    None,
                    None,
                    [],
                    {f"a{i if distinct else 0}_{j}": {"string": 1} for j in range(names)},
                    size,
                ),
            )
            for i in range(n)
        ]

    small = _groups(planned(500, 500, 3))
    assert sum(len(g) for g in small) == 500
    assert all(1 + 2 * len(g) <= 100 for g in small) and len(small) == 11
    large = _groups(planned(20, 180_000, 3))
    assert all(2 * 180_000 * len(g) <= MAX_TRANSACTION_BYTES for g in large)
    assert sum(len(g) for g in large) == 20
    wide = _groups(planned(3, 500, 60, distinct=True))  # 180 names: not in one delta item
    assert len(wide) == 3
    assert all(len({n for _, p in g for n in p.deltas}) <= 98 for g in wide)
