"""Repository of job summaries (rescoring, training), and the shard bookkeeping of fan-out jobs."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from pynamodb.exceptions import UpdateError

from ..validation import now_iso
from .connection import bind
from .models import JobModel


def start(project_id: str, kind: str, shards: int | None = None,
          taken_at: str | None = None) -> JobModel:
    bind()
    # microseconds, so that jobs of one second still list in the order they started
    job_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)
    job = JobModel(project_id, job_id, kind=kind, status="running", started_at=now_iso(),
                   summary={}, shards_total=shards, taken_at=taken_at)
    job.save()
    return job


def get(project_id: str, job_id: str) -> JobModel | None:
    bind()
    try:
        return JobModel.get(project_id, job_id, consistent_read=True)
    except JobModel.DoesNotExist:
        return None


def finish(job: JobModel, status: str, summary: dict) -> JobModel:
    job.update(actions=[JobModel.status.set(status), JobModel.finished_at.set(now_iso()),
                        JobModel.summary.set(summary)])
    return job


def shard_done(job: JobModel, shard: int) -> JobModel:
    """Mark a shard done (idempotent); the returned job shows every shard done so far."""
    job.update(actions=[JobModel.shards_done.add({shard}), JobModel.shards_failed.delete({shard})])
    return job


def shard_failed(job: JobModel, shard: int, error: str) -> None:
    job.update(actions=[JobModel.shards_failed.add({shard}),
                        JobModel.last_error.set(f"shard {shard}: {error}"[:500])])


def claim_finalization(job: JobModel) -> bool:
    """True for exactly one caller: the one that finalizes the job."""
    try:
        job.update(actions=[JobModel.finalized.set(True)],
                   condition=JobModel.finalized.does_not_exist())
        return True
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def recent(project_id: str, limit: int = 50) -> list[JobModel]:
    bind()
    return list(JobModel.query(project_id, scan_index_forward=False, limit=limit))


def to_document(job: JobModel) -> dict:
    out = {"job_id": job.job_id, "kind": job.kind, "status": job.status,
           "started_at": job.started_at, "finished_at": job.finished_at, **(job.summary or {})}
    if job.shards_total:
        done, failed = set(job.shards_done or ()), set(job.shards_failed or ()) - set(
            job.shards_done or ())
        if job.last_error:
            out["last_error"] = job.last_error
        out["shards"] = {"total": int(job.shards_total), "done": len(done),
                         "failed": len(failed), "pending": int(job.shards_total) - len(done)
                         - len(failed)}
    return out
