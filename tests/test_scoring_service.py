"""Rescoring jobs, the stream trigger and the schedule, on moto."""

from datetime import date

from chalice.test import Client
from conftest import events_for

from chalicelib.api import triggers
from chalicelib.predict import artifact
from chalicelib.services import rescore_fanout, scoring_jobs
from chalicelib.storage import model_store, profile_table, score_writes
from chalicelib.storage.profile_stream import parse_stream_record
from chalicelib.storage.table_keys import profile_partition


def test_a_rescore_writes_only_what_changed(scored_shop, project):
    first = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert (first["profiles_read"], first["written"]) == (40, 40)
    again = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert (again["profiles_read"], again["changed"], again["written"]) == (40, 0, 0)
    # 2 of 40 profiles (5 %) get new orders: only they are written
    scored_shop.post("/events", {"events": events_for("p01", 9, "2026-11-15")[3:]})
    scored_shop.post("/events", {"events": events_for("p02", 9, "2026-11-15")[3:]})
    third = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert third["written"] == 2
    status, body = scored_shop.get("/jobs")
    assert [j["written"] for j in body["jobs"]] == [2, 0, 40]
    # 40 profiles: too few repeat customers for a BG/NBD of their own, and too few buyers to
    # trust the default's pipeline less than alone: the default with the pipeline alone
    version = body["jobs"][0]["model_version"]
    assert version.startswith("default-2+bg") and version == first["model_version"]
    assert scoring_jobs.current_model(project["id"]).blend_weight == 1.0


def test_scores_are_written_without_touching_client_data(scored_shop, project):
    before = scored_shop.get("/profiles/p03")[1]
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    after = scored_shop.get("/profiles/p03")[1]
    assert after["attributes"] == before["attributes"]
    assert after["behaviour"] == before["behaviour"]
    assert 0 <= after["predictive"]["conversion_potential"] <= 100
    # a client write right after keeps the score (score writes never bump the version)
    scored_shop.put("/profiles/p03", {"attributes": {"vip": True}})
    assert scored_shop.get("/profiles/p03")[1]["predictive"] == after["predictive"]


def test_a_stale_score_is_not_written_over_newer_data(scored_shop, project):
    profile = profile_table.get(project["id"], "p04")
    scored_shop.put("/profiles/p04", {"attributes": {"changed": 1}})  # version moves on
    assert score_writes.write_scores([(profile, {"clv": 1}, None)]) == set()
    assert profile_table.get(project["id"], "p04").predictive == {}


class Record:
    def __init__(self, seq, name, keys, new=None, old=None):
        self.sequence_number, self.event_name, self.keys = seq, name, keys
        self.new_image, self.old_image = new, old


def image(project, profile, **attrs):
    out = {"pk": {"S": profile_partition(project, 0)}, "profile_id": {"S": profile}}
    out.update({k: {"S": v} for k, v in attrs.items()})
    return out


def test_the_trigger_ignores_score_only_changes_and_removals():
    keys = {"pk": {"S": profile_partition("acme", 1)}, "profile_id": {"S": "p1"}}
    score_only = Record(
        "1",
        "MODIFY",
        keys,
        new=image("acme", "p1", predictive='{"a": 2}'),
        old=image("acme", "p1", predictive='{"a": 1}'),
    )
    removal = Record("2", "REMOVE", keys, old=image("acme", "p1"))
    content = Record(
        "3",
        "MODIFY",
        keys,
        new=image("acme", "p1", attributes='{"x": 2}'),
        old=image("acme", "p1", attributes='{"x": 1}'),
    )
    assert not parse_stream_record(score_only).needs_scoring
    assert not parse_stream_record(removal).needs_scoring
    change = parse_stream_record(content)
    assert change.needs_scoring and (change.project_id, change.profile_id) == ("acme", "p1")


def test_the_trigger_scores_and_reports_failures_per_record(scored_shop, project, monkeypatch):
    def keys(p, pid):
        return {"pk": {"S": profile_partition(p, 0)}, "profile_id": {"S": pid}}

    records = [
        Record(
            "10",
            "INSERT",
            keys(project["id"], "p05"),
            new=image(project["id"], "p05", attributes="{}"),
        ),
        Record("11", "INSERT", keys("broken", "x"), new=image("broken", "x")),
    ]
    real = scoring_jobs.score_profiles

    def flaky(project_id, ids):
        if project_id == "broken":
            raise RuntimeError("injected")
        return real(project_id, ids)

    monkeypatch.setattr(scoring_jobs, "score_profiles", flaky)
    result = triggers.handle_profile_changes(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert scored_shop.get("/profiles/p05")[1]["predictive"]["model_version"] == "default-2"
    # delivered again: the same stored result
    first = scored_shop.get("/profiles/p05")[1]["predictive"]
    triggers.handle_profile_changes(records[:1])
    again = scored_shop.get("/profiles/p05")[1]["predictive"]
    assert {k: v for k, v in again.items() if k != "scored_at"} == {
        k: v for k, v in first.items() if k != "scored_at"
    }


def test_the_scheduled_handler_fans_out_one_message_per_shard(
    scored_shop, project, other_project, drain
):
    from app import app

    with Client(app) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", resources=[], detail={}
        )
        assert client.lambda_.invoke("rescore_all_projects", event).payload == {"projects": 2}
    job = scored_shop.get("/jobs")[1]["jobs"][0]
    assert job["status"] == "running"
    assert job["shards"] == {"total": 4, "done": 0, "failed": 0, "pending": 4}
    # when: the workers take the messages (4 shards a project; acme has no segments to evaluate)
    assert drain() == 8
    # then: every shard is done, every profile scored once, the snapshot is assembled
    job = scored_shop.get(f"/jobs/{job['job_id']}")[1]
    assert job["status"] == "succeeded"
    assert job["shards"] == {"total": 4, "done": 4, "failed": 0, "pending": 0}
    assert (job["profiles_read"], job["written"]) == (40, 40)
    assert scored_shop.get("/profiles/p00")[1]["predictive"]["conversion_potential"] >= 0
    from chalicelib.storage import snapshot_store

    snapshot, taken_at = snapshot_store.latest(project["id"])
    assert sorted(snapshot.profile_ids) == [f"p{p:02d}" for p in range(40)]
    assert list(snapshot.profile_ids) == sorted(snapshot.profile_ids)


def test_a_broken_project_model_falls_back_to_the_default(scored_shop, project):
    model_store.ensure_bucket()
    blob, metadata = artifact.to_bytes(artifact.default_model())
    metadata = {**metadata, "version": "bad-1"}
    model_store.put(project["id"], b"corrupt" + blob, metadata)
    model_store.promote(project["id"], "bad-1")
    assert scoring_jobs.current_model(project["id"]) is artifact.default_model()
    assert scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))["written"] == 40


def test_a_shard_killed_halfway_is_retried_without_skipping_or_double_writing(
    scored_shop, project, drain, monkeypatch
):
    # given: shard 2's first run dies after scoring part of it
    real_iter, real_write = profile_table.iter_shard, score_writes.write_scores
    runs, writes = {"shard2": 0}, {}

    def dying_iter(project_id, shard, page_size=500):
        profiles = list(real_iter(project_id, shard, page_size))
        if shard == 2 and runs["shard2"] == 0:
            runs["shard2"] += 1
            yield from profiles[: len(profiles) // 2]  # half of it gets scored and written...
            raise ConnectionError("injected: the worker died")  # ...then the worker is killed
        yield from profiles

    def counting_write(changes):
        written = real_write(changes)
        for pid in written:
            writes[pid] = writes.get(pid, 0) + 1
        return written

    monkeypatch.setattr(profile_table, "iter_shard", dying_iter)
    monkeypatch.setattr(score_writes, "write_scores", counting_write)
    monkeypatch.setattr(scoring_jobs, "PAGE", 2)  # small pages, so the dead run wrote some scores
    job = rescore_fanout.start_rescore(project["id"], date(2026, 11, 20))
    # when: the workers run; the failed message comes back (SQS redelivery) and succeeds
    from app import app
    from chalicelib.local.runners import deliver_queue_once

    while runs["shard2"] == 0:
        deliver_queue_once(app, "run_work", 1)
    mid = scored_shop.get(f"/jobs/{job['job_id']}")[1]
    assert mid["shards"]["failed"] == 1 and mid["status"] == "running"
    assert "the worker died" in mid["last_error"]
    drain()
    # then: every profile was written exactly once, and the job counts each shard once
    done = scored_shop.get(f"/jobs/{job['job_id']}")[1]
    assert done["status"] == "succeeded"
    assert done["shards"] == {"total": 4, "done": 4, "failed": 0, "pending": 0}
    assert sorted(writes) == [f"p{p:02d}" for p in range(40)]
    assert set(writes.values()) == {1}
    assert done["profiles_read"] == 40


def test_a_redelivered_shard_message_after_the_job_finished_changes_nothing(
    scored_shop, project, drain
):
    job = rescore_fanout.start_rescore(project["id"], date(2026, 11, 20))
    drain()
    finished = scored_shop.get(f"/jobs/{job['job_id']}")[1]
    assert rescore_fanout.rescore_shard(project["id"], job["job_id"], 1, date(2026, 11, 20)) == {
        "skipped": "the job is finished or unknown"
    }
    assert scored_shop.get(f"/jobs/{job['job_id']}")[1] == finished


def test_unknown_jobs_are_404(scored_shop):
    assert scored_shop.get("/jobs/nope")[0] == 404


def test_stream_records_out_of_order_or_twice_give_the_same_stored_result(scored_shop, project):
    keys = {"pk": {"S": f"{project['id']}#000"}, "profile_id": {"S": "p06"}}
    older = Record(
        "20",
        "MODIFY",
        keys,
        new=image(project["id"], "p06", attributes='{"v": 1}'),
        old=image(project["id"], "p06", attributes="{}"),
    )
    newer = Record(
        "21",
        "MODIFY",
        keys,
        new=image(project["id"], "p06", attributes='{"v": 2}'),
        old=image(project["id"], "p06", attributes='{"v": 1}'),
    )

    def stored():
        predictive = scored_shop.get("/profiles/p06")[1]["predictive"]
        return {k: v for k, v in predictive.items() if k != "scored_at"}

    assert triggers.handle_profile_changes([older, newer]) == {"batchItemFailures": []}
    in_order = stored()
    for records in ([newer, older], [newer, newer, older, older]):
        assert triggers.handle_profile_changes(records) == {"batchItemFailures": []}
        assert stored() == in_order  # the trigger scores the stored profile, not the record
