"""Event handlers: the scheduled rescoring, the profiles-stream trigger, the work-queue worker."""

from __future__ import annotations

import logging
import os
from collections import defaultdict

from chalice import Blueprint, Rate

from ..infra import observability
from ..services import scoring_jobs, work
from ..services.ad_audiences import identity
from ..storage.profile_stream import parse_stream_record

bp = Blueprint(__name__)
log = logging.getLogger(__name__)
# Read when chalice loads the app to deploy it (stage variables from .chalice/config.json).
RESCORE_RATE_HOURS = int(os.environ.get("RESCORE_RATE_HOURS", "24"))
PROFILES_STREAM_ARN = os.environ.get(
    "PROFILES_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:123456789012:table/segments-dev-profiles/stream/local",
)
WORK_QUEUE = os.environ.get("WORK_QUEUE", "segments-dev-work")


def handle_profile_changes(records) -> dict:
    """Score changed profiles; report the records that failed, not the whole batch."""
    failures, by_project = [], defaultdict(list)
    for record in records:
        try:
            change = parse_stream_record(record)
        except Exception:
            log.exception("unreadable stream record %s", getattr(record, "sequence_number", "?"))
            failures.append(getattr(record, "sequence_number", None))
            continue
        if change.needs_scoring:
            by_project[change.project_id].append(change)
    for project_id, changes in by_project.items():
        ids = sorted({c.profile_id for c in changes})
        try:
            scoring_jobs.score_profiles(project_id, ids)
            identity.queue_swaps(project_id, changes)  # emails and phones changed by any writer
        except Exception:
            log.exception("scoring %d profiles of %s failed", len(ids), project_id)
            failures += [c.sequence_number for c in changes]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failures if s]}


def handle_work(records) -> dict:
    """Process each queued message on its own; report the ones that failed (SQS redelivers them,
    and after five deliveries moves them to the dead-letter queue)."""
    failures = []
    for record in records:
        message_id = record.to_dict().get("messageId")
        try:
            item = work.parse(record.body)
            with observability.context(
                job_id=getattr(item, "job_id", None) or message_id, project_id=item.project_id
            ):
                result = work.process(item)
                log.info("work %s done: %s", type(item).__name__, result)
        except work.MalformedMessage as exc:  # redelivered, then dead-lettered, for a look
            log.error("malformed work message %s: %s", message_id, exc)
            failures.append(message_id)
            _retry_later(record)
        except Exception:
            log.exception("work message %s failed", message_id)
            failures.append(message_id)
            _retry_later(record)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures if m]}


def _retry_later(record) -> None:
    """Back off before the next delivery of a failed message (best effort: without it, SQS
    redelivers after the queue's visibility timeout)."""
    try:
        count = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        work.retry_later(record.receipt_handle, count)
    except Exception:
        log.warning("could not delay the retry of a failed work message", exc_info=True)


@bp.schedule(Rate(RESCORE_RATE_HOURS, unit=Rate.HOURS))
def rescore_all_projects(event):
    results = scoring_jobs.rescore_all()
    log.info("scheduled rescoring queued: %s", results)
    return {"projects": len(results)}


@bp.on_sqs_message(queue=WORK_QUEUE, batch_size=1)
def run_work(event):
    return handle_work(list(event))


@bp.on_dynamodb_record(stream_arn=PROFILES_STREAM_ARN, batch_size=100, starting_position="LATEST")
def score_changed_profiles(event):
    return handle_profile_changes(list(event))
