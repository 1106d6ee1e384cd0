"""A shard worker that runs out of its time budget hands the rest of its shard on; every profile
is still written exactly once, and score writes go in transactions with their change entries."""

import zlib
from datetime import date

from chalicelib.services import rescore_fanout, scoring_jobs
from chalicelib.storage import profile_table, score_writes, snapshot_store
from chalicelib.storage.work_messages import RescoreShard


def shard_sizes(n=40, shards=4):
    sizes = [0] * shards
    for p in range(n):
        sizes[zlib.crc32(f"p{p:02d}".encode()) % shards] += 1
    return sizes


def test_a_shard_that_continues_three_times_writes_each_profile_once(
    scored_shop, project, drain, monkeypatch
):
    # GIVEN pages so small that the largest shard takes four, and a budget that ends each piece
    # after one page
    sizes = shard_sizes()
    big = max(range(4), key=sizes.__getitem__)
    page = -(-sizes[big] // 4)
    assert -(-sizes[big] // page) == 4
    monkeypatch.setattr(scoring_jobs, "PAGE", page)
    monkeypatch.setattr(rescore_fanout, "TIME_BUDGET_SECONDS", -1.0)
    sent, writes = [], {}
    real_send, real_write = rescore_fanout.work_queue.send, score_writes.write_scores

    def counting_send(messages):
        # SQS may deliver a message twice: the second continuation of the big shard is
        duplicated = [m for m in messages if getattr(m, "piece", 0) == 2 and m.shard == big]
        sent.extend(messages + duplicated)
        return real_send(messages + duplicated)

    def counting_write(changes):
        written = real_write(changes)
        for pid in written:
            writes[pid] = writes.get(pid, 0) + 1
        return written

    monkeypatch.setattr(rescore_fanout.work_queue, "send", counting_send)
    monkeypatch.setattr(score_writes, "write_scores", counting_write)
    # WHEN the fan-out rescore runs, and one continuation message is delivered twice
    job = rescore_fanout.start_rescore(project["id"], date(2026, 11, 20))
    drain()
    # THEN the big shard continued three times, every profile was written exactly once, and the
    # snapshot holds every profile once
    pieces = [m for m in sent if isinstance(m, RescoreShard) and m.shard == big and m.piece]
    assert sorted({m.piece for m in pieces}) == [1, 2, 3]
    assert [m.piece for m in pieces].count(2) == 2
    assert sorted(writes) == [f"p{p:02d}" for p in range(40)]
    assert set(writes.values()) == {1}
    done = scored_shop.get(f"/jobs/{job['job_id']}")[1]
    assert done["status"] == "succeeded" and done["profiles_read"] == 40
    assert done["written"] == 40
    snapshot, _ = snapshot_store.latest(project["id"])
    assert list(snapshot.profile_ids) == [f"p{p:02d}" for p in range(40)]


def test_a_redelivered_piece_covers_the_rows_recorded_for_it(scored_shop, project, monkeypatch):
    # GIVEN a piece whose end was recorded by an earlier delivery, after 2 profiles
    monkeypatch.setattr(scoring_jobs, "PAGE", 1)
    job = rescore_fanout.start_rescore(project["id"], date(2026, 11, 20))
    shard = max(range(4), key=shard_sizes().__getitem__)
    ids = [p.profile_id for p in profile_table.iter_shard(project["id"], shard)]
    record = rescore_fanout.job_table.get(project["id"], job["job_id"])
    rescore_fanout.job_table.end_piece(record, shard, 0, ids[1])
    # WHEN the piece is delivered again, with time to spare
    result = rescore_fanout.rescore_shard(project["id"], job["job_id"], shard, date(2026, 11, 20))
    # THEN it stops at the recorded end and hands the rest on from there
    assert result["continued_after"] == ids[1] and result["profiles_read"] == 2
    part, _ = snapshot_store.load_part(project["id"], job["job_id"], shard, 0)
    assert list(part.profile_ids) == ids[:2]


def test_score_writes_skip_a_profile_changed_since_it_was_read_and_write_the_rest(
    scored_shop, project
):
    # GIVEN three profiles read, one of which is written again before its score
    profiles = [profile_table.get(project["id"], f"p{i:02d}") for i in range(3)]
    scored_shop.put("/profiles/p01", {"attributes": {"moved": True}})
    # WHEN their scores are written in one transaction
    written = score_writes.write_scores([(p, {"clv": 5.0}, None) for p in profiles])
    # THEN the stale one is left out and the others carry the scores
    assert written == {"p00", "p02"}
    assert profile_table.get(project["id"], "p00").predictive == {"clv": 5.0}
    assert profile_table.get(project["id"], "p01").predictive != {"clv": 5.0}
