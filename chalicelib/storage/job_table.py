"""Repository of job summaries (rescoring, training), and the shard bookkeeping of fan-out jobs."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from pynamodb.exceptions import UpdateError

from ..validation import now_iso
from .connection import bind
from .records import JobRecord
from .tables import JobModel, set_json


def _record(job: JobModel) -> JobRecord:
    return JobRecord(
        job.project_id,
        job.job_id,
        job.kind,
        job.status,
        job.started_at,
        job.finished_at,
        job.summary or {},
        int(job.shards_total) if job.shards_total is not None else None,
        frozenset(job.shards_done or ()),
        frozenset(job.shards_failed or ()),
        job.taken_at,
        job.finalized,
        job.last_error,
        job.piece_ends.as_dict() if job.piece_ends is not None else {},
    )


def _item(job: JobRecord) -> JobModel:
    """The job's item, by key, to update (jobs carry no version: updates are additive)."""
    bind()
    return JobModel(job.project_id, job.job_id)


def start(
    project_id: str, kind: str, shards: int | None = None, taken_at: str | None = None
) -> JobRecord:
    bind()
    # microseconds, so that jobs of one second still list in the order they started
    job_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)
    job = JobModel(
        project_id,
        job_id,
        kind=kind,
        status="running",
        started_at=now_iso(),
        summary={},
        shards_total=shards,
        taken_at=taken_at,
        piece_ends={} if shards else None,
    )
    job.save()
    return _record(job)


def get(project_id: str, job_id: str) -> JobRecord | None:
    bind()
    try:
        return _record(JobModel.get(project_id, job_id, consistent_read=True))
    except JobModel.DoesNotExist:
        return None


def finish(job: JobRecord, status: str, summary: dict) -> JobRecord:
    item = _item(job)
    item.update(
        actions=[
            JobModel.status.set(status),
            JobModel.finished_at.set(now_iso()),
            set_json(JobModel.summary, summary),
        ]
    )
    return _record(item)


def shard_done(job: JobRecord, shard: int) -> JobRecord:
    """Mark a shard done (idempotent); the returned job shows every shard done so far."""
    item = _item(job)
    item.update(actions=[JobModel.shards_done.add({shard}), JobModel.shards_failed.delete({shard})])
    return _record(item)


def shard_failed(job: JobRecord, shard: int, error: str) -> None:
    _item(job).update(
        actions=[
            JobModel.shards_failed.add({shard}),
            JobModel.last_error.set(f"shard {shard}: {error}"[:500]),
        ]
    )


def end_piece(job: JobRecord, shard: int, piece: int, last_id: str) -> str:
    """Record where a piece of a shard ends (its last profile id; "" for the shard's end), once:
    returns the end recorded first, which a redelivered piece then keeps to."""
    key = f"{shard}.{piece}"
    try:
        _item(job).update(
            actions=[JobModel.piece_ends[key].set(last_id)],
            condition=JobModel.piece_ends[key].does_not_exist(),
        )
        return last_id
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return get(job.project_id, job.job_id).piece_ends[key]


def claim_finalization(job: JobRecord) -> bool:
    """True for exactly one caller: the one that finalizes the job."""
    try:
        _item(job).update(
            actions=[JobModel.finalized.set(True)], condition=JobModel.finalized.does_not_exist()
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def recent(project_id: str, limit: int = 50) -> list[JobRecord]:
    bind()
    return [_record(j) for j in JobModel.query(project_id, scan_index_forward=False, limit=limit)]


def to_document(job: JobRecord) -> dict:
    out = {
        "job_id": job.job_id,
        "kind": job.kind,
        "status": job.status,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        **(job.summary or {}),
    }
    if job.shards_total:
        done, failed = (
            set(job.shards_done or ()),
            set(job.shards_failed or ()) - set(job.shards_done or ()),
        )
        if job.last_error:
            out["last_error"] = job.last_error
        out["shards"] = {
            "total": int(job.shards_total),
            "done": len(done),
            "failed": len(failed),
            "pending": int(job.shards_total) - len(done) - len(failed),
        }
    return out
