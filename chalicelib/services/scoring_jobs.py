"""Scoring use cases: rescore a project, score changed profiles, train a project's model."""

from __future__ import annotations

import logging
import time
from datetime import date

from ..audience import compaction
from ..audience.builder import SnapshotBuilder
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
)
from ..storage.connection import bind
from . import behaviour_fit, memberships

log = logging.getLogger(__name__)
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
    behaviour_fit.refit_before_rescore(project_id, as_of)  # the project's own BG/NBD (model's)
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
    stored = profile_table.batch_get(project_id, profile_ids)  # consistent, 100 a call
    found = [stored[pid] for pid in dict.fromkeys(profile_ids) if pid in stored]
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
    from . import rescore_fanout

    results = []
    for project in project_table.list_projects():
        try:
            results.append(
                {
                    "project_id": project.project_id,
                    **rescore_fanout.start_rescore(project.project_id, as_of, "scheduled"),
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
    churn_horizon: int | None = None,
) -> dict:
    """Train a candidate on the project's history before `as_of`; promote it if it wins."""
    if project_table.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    settings = bind()
    conversion_horizon = conversion_horizon or settings.conversion_horizon_days
    clv_horizon = clv_horizon or settings.clv_horizon_days
    _horizon(conversion_horizon, "conversion_horizon_days")
    _horizon(clv_horizon, "clv_horizon_days")
    churn_horizon = churn_horizon or settings.churn_horizon_days
    _horizon(churn_horizon, "churn_horizon_days")
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
        model = finish(result.candidate, behaviours, as_of, churn_horizon)
        blob, metadata = artifact.to_bytes(model)
        model_store.ensure_bucket()
        model_store.put(project_id, blob, metadata)
        model_store.promote(project_id, metadata["version"])
        summary["model_version"] = metadata["version"]
    _finish(job, result.status, summary)
    return {"job_id": job.job_id, **summary}
