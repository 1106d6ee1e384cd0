"""Scoring use cases: rescore a project, score changed profiles, train a project's model."""

from __future__ import annotations

import logging
import os
import time
from datetime import date

from ..audience import column_merge, compaction
from ..audience.builder import SnapshotBuilder, save_snapshot
from ..infra import observability
from ..infra.errors import NotFound, ValidationError
from ..predict import artifact
from ..predict.model import PredictiveModel
from ..predict.scoring import changed, score
from ..predict.training import finish, train_project
from ..storage import (
    change_log,
    job_table,
    model_store,
    profile_table,
    project_table,
    score_writes,
    snapshot_store,
    work_queue,
)
from ..storage.connection import bind
from ..storage.work_messages import EvaluateSegment, RescoreShard
from . import memberships

log = logging.getLogger(__name__)
# a shard worker hands the rest of its shard on once it has run this long (Lambda stops at 900 s)
TIME_BUDGET_SECONDS = float(os.environ.get("SHARD_TIME_BUDGET_SECONDS", "600"))
PAGE = (
    2000  # profiles scored at a time: bigger batches spread per-call costs (bench/scoring_speed.py)
)


def current_model(project_id: str) -> PredictiveModel:
    """The project's promoted model, or the packaged default. A model that fails to load
    (missing, corrupt, untrusted types) is logged and the default keeps serving."""
    version = model_store.current_version(project_id)
    if not version:
        return artifact.default_model()
    try:
        return artifact.cached(
            f"{project_id}/{version}",
            lambda: artifact.from_bytes(*model_store.get(project_id, version)),
        )
    except Exception:
        log.exception(
            "model %s of project %s cannot be loaded; using the default", version, project_id
        )
        return artifact.default_model()


def _finish(job, status: str, summary: dict) -> None:
    """Record the job's end, and report its duration and counts as CloudWatch metrics."""
    job_table.finish(job, status, summary)
    observability.job_metrics(job.kind, status, summary)


def _score_and_write(
    models_batch: list,
    model: PredictiveModel,
    as_of: date | None,
    horizons: dict | None = None,
    change_at: str | None = None,
    change_after: str | None = None,
) -> dict:
    scores = score([m.behaviour or {} for m in models_batch], model, as_of, **(horizons or {}))
    counts = {"read": len(models_batch), "changed": 0, "written": 0, "stale": 0}
    # profiles written since the snapshot started are in its overlay: so are their new scores
    since = change_after[:19] + "Z" if change_after else None
    changes = []
    for profile, predictive in zip(models_batch, scores):
        if not changed(profile.predictive, predictive):
            continue
        at = change_at if since is None or (profile.updated_at or "") < since else None
        changes.append((profile, predictive, at))
    written = score_writes.write_scores(changes)
    for i, (profile, predictive) in enumerate(zip(models_batch, scores)):
        if profile.profile_id in written:
            models_batch[i] = profile.with_predictive(predictive)  # the snapshot takes the new
    counts["changed"] = len(changes)
    counts["written"] = len(written)
    counts["stale"] = len(changes) - len(written)  # changed since read: its trigger rescores it
    return counts


def _rescore(
    profiles,
    model: PredictiveModel,
    as_of: date | None,
    horizons: dict,
    snapshot: "SnapshotBuilder",
    progress=None,
) -> dict:
    """Score profiles page by page, write the changed scores, and collect the snapshot rows."""
    totals = {"profiles_read": 0, "changed": 0, "written": 0, "skipped_stale": 0}
    change_at = change_log.before_snapshot(snapshot.taken_at)
    batch = []
    for profile in profiles:
        batch.append(profile)
        if len(batch) == PAGE:
            _add(
                totals,
                _score_and_write(batch, model, as_of, horizons, change_at, snapshot.taken_at),
            )
            snapshot.add([profile_table.to_document(p) for p in batch])
            batch = []
            if progress:
                progress(totals["profiles_read"])
    if batch:
        _add(totals, _score_and_write(batch, model, as_of, horizons, change_at, snapshot.taken_at))
        snapshot.add([profile_table.to_document(p) for p in batch])
    return totals


def _horizons(conversion_horizon: int | None, clv_horizon: int | None) -> dict:
    return {
        "conversion_horizon": _horizon(conversion_horizon, "conversion_horizon_days"),
        "clv_horizon": _horizon(clv_horizon, "clv_horizon_days"),
    }


def rescore_project(
    project_id: str,
    as_of: date | None = None,
    kind: str = "rescore",
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
    progress=None,
) -> dict:
    """Every profile of the project in this process (the CLI); writes only the profiles whose
    fields moved, takes the columnar snapshot on the way, then evaluates every segment."""
    started = time.time()
    snapshot = SnapshotBuilder(project_id)
    horizons = _horizons(conversion_horizon, clv_horizon)
    model = current_model(project_id)
    job = job_table.start(project_id, kind, taken_at=snapshot.taken_at)
    with observability.context(job_id=job.job_id, project_id=project_id):
        return _run_rescore(job, project_id, snapshot, model, as_of, horizons, started, progress)


def _run_rescore(
    job,
    project_id: str,
    snapshot: "SnapshotBuilder",
    model: PredictiveModel,
    as_of: date | None,
    horizons: dict,
    started: float,
    progress=None,
) -> dict:
    try:
        profiles = (p for _, p in profile_table.iter_profiles(project_id, page_size=PAGE))
        totals = _rescore(profiles, model, as_of, horizons, snapshot, progress)
        totals["snapshot_bytes_per_profile"] = snapshot.save()
        totals["segments"] = _evaluate_all(project_id, "rescore")
    except Exception as exc:
        summary = {
            "error": str(exc)[:500],
            "model_version": model.metadata.get("version"),
            "duration_seconds": round(time.time() - started, 3),
        }
        _finish(job, "failed", summary)
        raise
    summary = {
        **totals,
        "model_version": model.metadata.get("version"),
        "as_of": (as_of or date.today()).isoformat(),
        "duration_seconds": round(time.time() - started, 3),
    }
    _finish(job, "succeeded", summary)
    return {"job_id": job.job_id, **summary}


def _evaluate_all(project_id: str, trigger: str) -> dict:
    results = [
        memberships.evaluate_segment(project_id, segment_id, trigger)
        for segment_id in memberships.segment_ids(project_id)
    ]
    return {
        "evaluated": sum(1 for r in results if "size" in r),
        "entered": sum(r.get("entered", 0) for r in results),
        "exited": sum(r.get("exited", 0) for r in results),
    }


# --- fan-out: one SQS message per shard --------------------------------------------------------


def start_rescore(
    project_id: str,
    as_of: date | None = None,
    kind: str = "scheduled",
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
) -> dict:
    """Split the project into its write shards and queue one rescoring message per shard; the
    workers (`rescore_shard`) run in parallel, the last one to finish assembles the snapshot."""
    horizons = _horizons(conversion_horizon, clv_horizon)
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
    model = current_model(project_id)
    totals = {"profiles_read": 0, "changed": 0, "written": 0, "skipped_stale": 0}
    change_at = change_log.before_snapshot(snapshot.taken_at)
    profiles = (
        profile_table.iter_shard(project_id, shard, PAGE)
        if after is None
        else profile_table.iter_shard(project_id, shard, PAGE, after=after)
    )
    last = after
    for batch, more in _pages(profiles, PAGE):
        if end:  # keep to the recorded end
            batch = [p for p in batch if p.profile_id <= end]
            if not batch:
                break
        _add(totals, _score_and_write(batch, model, as_of, horizons, change_at, snapshot.taken_at))
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
    _finish(job, "succeeded", summary)
    return summary


def _horizon(value: int | None, name: str) -> int | None:
    if value is not None and not 1 <= value <= 3650:
        raise ValidationError(f"{name} must be from 1 to 3650", f"/{name}")
    return value


def _add(totals: dict, counts: dict) -> None:
    totals["profiles_read"] += counts["read"]
    totals["changed"] += counts["changed"]
    totals["written"] += counts["written"]
    totals["skipped_stale"] += counts["stale"]


def score_profiles(project_id: str, profile_ids: list[str]) -> dict:
    """Score the given profiles now and re-evaluate their segment memberships (the stream
    trigger). Idempotent: it scores current data, and a transition is recorded once."""
    found = [
        p for p in (profile_table.get(project_id, pid) for pid in profile_ids) if p is not None
    ]
    if not found:
        return {"read": 0, "changed": 0, "written": 0, "stale": 0}
    counts = _score_and_write(found, current_model(project_id), None)
    try:  # the count that queues a compaction of a long change log; a miss is caught by reads
        compaction.note_changes(project_id, len(found))
    except Exception:
        log.warning("could not count %d changes of %s", len(found), project_id, exc_info=True)
    counts.update(
        memberships.evaluate_profiles(project_id, [profile_table.to_document(p) for p in found])
    )
    return counts


def rescore_all(as_of: date | None = None) -> list[dict]:
    """The scheduled job: queue a fan-out rescore of every project."""
    results = []
    for project in project_table.list_projects():
        try:
            results.append(
                {
                    "project_id": project.project_id,
                    **start_rescore(project.project_id, as_of, "scheduled"),
                }
            )
        except Exception as exc:  # one project's failure does not stop the others
            log.exception("rescoring %s failed", project.project_id)
            results.append({"project_id": project.project_id, "error": str(exc)[:300]})
    return results


def train(
    project_id: str,
    as_of: date,
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
) -> dict:
    """Train a candidate on the project's history before `as_of`; promote it if it wins."""
    if project_table.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    settings = bind()
    conversion_horizon = conversion_horizon or settings.conversion_horizon_days
    clv_horizon = clv_horizon or settings.clv_horizon_days
    _horizon(conversion_horizon, "conversion_horizon_days")
    _horizon(clv_horizon, "clv_horizon_days")
    started = time.time()
    job = job_table.start(project_id, "train")
    ids, behaviours = [], []
    for _, profile in profile_table.iter_profiles(project_id, page_size=PAGE):
        ids.append(profile.profile_id)
        behaviours.append(profile.behaviour or {})
    result = train_project(
        ids, behaviours, as_of, conversion_horizon, clv_horizon, current_model(project_id)
    )
    summary = {
        "status": result.status,
        "reason": result.reason,
        "backtest": result.backtest,
        "profiles_read": len(ids),
        "as_of": as_of.isoformat(),
        "duration_seconds": round(time.time() - started, 3),
    }
    if result.status == "promoted":
        model = finish(result.candidate, behaviours, as_of)
        blob, metadata = artifact.to_bytes(model)
        model_store.ensure_bucket()
        model_store.put(project_id, blob, metadata)
        model_store.promote(project_id, metadata["version"])
        summary["model_version"] = metadata["version"]
    _finish(job, result.status, summary)
    return {"job_id": job.job_id, **summary}
