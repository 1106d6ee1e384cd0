"""Repository of job summaries (rescoring, training)."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from ..validation import now_iso
from .connection import bind
from .models import JobModel


def start(project_id: str, kind: str) -> JobModel:
    bind()
    # microseconds, so that jobs of one second still list in the order they started
    job_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)
    job = JobModel(project_id, job_id, kind=kind, status="running", started_at=now_iso(),
                   summary={})
    job.save()
    return job


def finish(job: JobModel, status: str, summary: dict) -> JobModel:
    job.update(actions=[JobModel.status.set(status), JobModel.finished_at.set(now_iso()),
                        JobModel.summary.set(summary)])
    return job


def recent(project_id: str, limit: int = 50) -> list[JobModel]:
    bind()
    return list(JobModel.query(project_id, scan_index_forward=False, limit=limit))


def to_document(job: JobModel) -> dict:
    return {"job_id": job.job_id, "kind": job.kind, "status": job.status,
            "started_at": job.started_at, "finished_at": job.finished_at, **(job.summary or {})}
