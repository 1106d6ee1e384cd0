"""The fan-out rescore: one work-queue message per write shard, run in parallel by the workers.
A worker near the end of its time budget hands the rest of its shard on as the next piece (with
the last profile id as the cursor); the last shard to finish merges the shards' columnar parts
into the project's snapshot."""

from __future__ import annotations

import os
import time
from datetime import date

from ..audience import column_merge
from ..audience.builder import SnapshotBuilder, save_snapshot
from ..storage import change_log, job_table, model_store, profile_table, snapshot_store, work_queue
from ..storage.connection import bind
from ..storage.work_messages import EvaluateSegment, RescoreShard
from . import behaviour_fit, memberships, scoring_jobs

# a shard worker hands the rest of its shard on once it has run this long (Lambda stops at 900 s)
TIME_BUDGET_SECONDS = float(os.environ.get("SHARD_TIME_BUDGET_SECONDS", "600"))


def start_rescore(
    project_id: str,
    as_of: date | None = None,
    kind: str = "scheduled",
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
) -> dict:
    """Split the project into its write shards and queue one rescoring message per shard; the
    workers (`rescore_shard`) run in parallel, the last one to finish assembles the snapshot."""
    horizons = scoring_jobs._horizons(conversion_horizon, clv_horizon)
    behaviour_fit.refit_before_rescore(project_id, as_of)  # before the shards load the model
    shards = bind().profile_shards
    model_store.ensure_bucket()  # the shards write their snapshot parts there
    job = job_table.start(project_id, kind, shards=shards, taken_at=change_log.stamp())
    work_queue.send(
        [RescoreShard(project_id, job.job_id, shard, as_of, **horizons) for shard in range(shards)]
    )
    return job_table.to_document(job)


def rescore_shard(
    project_id: str,
    job_id: str,
    shard: int,
    as_of: date | None,
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
    piece: int = 0,
    after: str | None = None,
) -> dict:
    """One piece of one shard of a fan-out rescore: the shard's profiles after the id `after`,
    page by page, until the shard ends or the time budget does; then the rest of the shard is
    queued as the next piece. Where a piece ends is recorded once in the job, so a redelivered
    or retried message covers the same profiles again, which writes only scores that still
    differ: each profile is written once, and each piece counts once."""
    job = job_table.get(project_id, job_id)
    if job is None or job.finalized:
        return {"skipped": "the job is finished or unknown"}
    if shard in job.shards_done:
        return {"skipped": "the shard is done"}
    started = time.monotonic()
    end = job.piece_ends.get(f"{shard}.{piece}")
    if end is not None and snapshot_store.has_part(project_id, job_id, shard, piece):
        # a redelivery of a piece that was done: only what followed it may be missing
        return _piece_done(job, shard, piece, end, as_of, conversion_horizon, clv_horizon, {})
    try:
        snapshot = SnapshotBuilder(project_id, taken_at=job.taken_at)
        end, totals = _rescore_piece(
            job,
            shard,
            piece,
            after,
            as_of,
            snapshot,
            started,
            {"conversion_horizon": conversion_horizon, "clv_horizon": clv_horizon},
        )
        snapshot_store.save_part(project_id, job_id, shard, piece, snapshot.snapshot(), totals)
    except Exception as exc:
        job_table.shard_failed(job, shard, str(exc))
        raise
    return _piece_done(job, shard, piece, end, as_of, conversion_horizon, clv_horizon, totals)


def _piece_done(job, shard, piece, end, as_of, conversion_horizon, clv_horizon, totals) -> dict:
    """Queue the rest of the shard as the next piece, or count the shard done."""
    if end:  # the budget ran out: the rest of the shard is the next piece
        next_piece = RescoreShard(
            job.project_id,
            job.job_id,
            shard,
            as_of,
            conversion_horizon,
            clv_horizon,
            piece + 1,
            end,
        )
        work_queue.send([next_piece])
        return {"shard": shard, "piece": piece, "continued_after": end, **totals}
    job = job_table.shard_done(job, shard)
    if len(job.shards_done or ()) == job.shards_total and job_table.claim_finalization(job):
        finalize_rescore(job)
    return {"shard": shard, "piece": piece, **totals}


def _rescore_piece(job, shard, piece, after, as_of, snapshot, started, horizons):
    """Score the piece's pages; returns (the last id of the piece if the shard goes on in
    another piece, else "", and the piece's counts)."""
    project_id = job.project_id
    end = (job.piece_ends or {}).get(f"{shard}.{piece}")  # recorded by an earlier delivery
    model = scoring_jobs.current_model(project_id)
    totals = {"profiles_read": 0, "changed": 0, "written": 0, "skipped_stale": 0}
    change_at = change_log.before_snapshot(snapshot.taken_at)
    profiles = (
        profile_table.iter_shard(project_id, shard, scoring_jobs.PAGE)
        if after is None
        else profile_table.iter_shard(project_id, shard, scoring_jobs.PAGE, after=after)
    )
    last = after
    for batch, more in _pages(profiles, scoring_jobs.PAGE):
        if end:  # keep to the recorded end
            batch = [p for p in batch if p.profile_id <= end]
            if not batch:
                break
        scoring_jobs._add(
            totals,
            scoring_jobs._score_and_write(
                batch, model, as_of, horizons, change_at, snapshot.taken_at
            ),
        )
        snapshot.add([profile_table.to_document(p) for p in batch])
        last = batch[-1].profile_id
        if end and last >= end:
            return end, totals
        if end is None and more and time.monotonic() - started > TIME_BUDGET_SECONDS:
            end = job_table.end_piece(job, shard, piece, last)
            if end and end <= last:  # another delivery ended this piece earlier
                snapshot.truncate(end)
                return end, totals
    if end is None:
        end = job_table.end_piece(job, shard, piece, "")
    if end and last is not None and end < last:
        snapshot.truncate(end)
    return end, totals


def _pages(profiles, size: int):
    """(page, whether more profiles follow): one profile is read ahead."""
    batch = []
    for profile in profiles:
        if len(batch) == size:
            yield batch, True
            batch = []
        batch.append(profile)
    if batch:
        yield batch, False


def finalize_rescore(job) -> dict:
    """Merge the shards' snapshot parts into the project's snapshot (column by column, in id
    order: chalicelib.audience.column_merge), sum their counts, and queue the evaluation of
    every segment."""
    started = time.time()
    ends = job.piece_ends or {}
    totals = {"profiles_read": 0, "changed": 0, "written": 0, "skipped_stale": 0}
    parts = []
    for shard in range(int(job.shards_total)):
        piece = 0
        while True:
            part, counts = snapshot_store.load_part(job.project_id, job.job_id, shard, piece)
            parts.append(part)
            for name in totals:
                totals[name] += counts[name]
            if not ends.get(f"{shard}.{piece}"):
                break
            piece += 1
    try:
        merged = column_merge.merge(parts)
        del parts
        totals["snapshot_bytes_per_profile"] = save_snapshot(job.project_id, merged, job.taken_at)
    except ValueError as exc:  # the field catalogue changed while the shards ran
        totals["snapshot_skipped"] = str(exc)
    segment_ids = memberships.segment_ids(job.project_id)
    work_queue.send(
        [EvaluateSegment(job.project_id, segment_id, "rescore") for segment_id in segment_ids]
    )
    snapshot_store.delete_parts(job.project_id, job.job_id)
    started_at = change_log.parse(job.taken_at)
    summary = {
        **totals,
        "segments_queued": len(segment_ids),
        "duration_seconds": round(time.time() - started_at.timestamp(), 3),
        "finalize_seconds": round(time.time() - started, 3),
    }
    scoring_jobs._finish(job, "succeeded", summary)
    return summary
