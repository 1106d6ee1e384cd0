"""Scoring use cases: rescore a project, score changed profiles, train a project's model."""
from __future__ import annotations

import logging
import time
from datetime import date

from ..errors import NotFound, ValidationError
from ..predict import artifact
from ..predict.model import PredictiveModel
from ..predict.scoring import changed, score
from ..predict.training import finish, train_project
from ..storage import jobs, keys, model_store
from ..storage import profiles as store
from ..storage.connection import bind

log = logging.getLogger(__name__)
PAGE = 500


def current_model(project_id: str) -> PredictiveModel:
    """The project's promoted model, or the packaged default. A model that fails to load
    (missing, corrupt, untrusted types) is logged and the default keeps serving."""
    version = model_store.current_version(project_id)
    if not version:
        return artifact.default_model()
    try:
        return artifact.cached(f"{project_id}/{version}",
                               lambda: artifact.from_bytes(*model_store.get(project_id, version)))
    except Exception:
        log.exception("model %s of project %s cannot be loaded; using the default", version,
                      project_id)
        return artifact.default_model()


def _score_and_write(models_batch: list, model: PredictiveModel, as_of: date | None,
                     horizons: dict | None = None) -> dict:
    scores = score([m.behaviour or {} for m in models_batch], model, as_of, **(horizons or {}))
    counts = {"read": len(models_batch), "changed": 0, "written": 0, "stale": 0}
    for profile, predictive in zip(models_batch, scores):
        if not changed(profile.predictive, predictive):
            continue
        counts["changed"] += 1
        if store.write_predictive(profile, predictive):
            counts["written"] += 1
        else:
            counts["stale"] += 1  # changed since it was read: its own trigger rescores it
    return counts


def rescore_project(project_id: str, as_of: date | None = None, kind: str = "rescore",
                    conversion_horizon: int | None = None, clv_horizon: int | None = None) -> dict:
    """Every profile of the project, page by page; writes only the profiles whose fields moved.
    On the way it collects the segmentable fields into the project's columnar snapshot."""
    started = time.time()
    snapshot = SnapshotBuilder(project_id)
    horizons = {"conversion_horizon": _horizon(conversion_horizon, "conversion_horizon_days"),
                "clv_horizon": _horizon(clv_horizon, "clv_horizon_days")}
    model = current_model(project_id)
    job = jobs.start(project_id, kind)
    totals = {"profiles_read": 0, "changed": 0, "written": 0, "skipped_stale": 0}
    batch = []
    try:
        for _, profile in store.iter_profiles(project_id, page_size=PAGE):
            batch.append(profile)
            if len(batch) == PAGE:
                _add(totals, _score_and_write(batch, model, as_of, horizons))
                snapshot.add(batch)
                batch = []
        if batch:
            _add(totals, _score_and_write(batch, model, as_of, horizons))
            snapshot.add(batch)
        totals["snapshot_bytes_per_profile"] = snapshot.save()
    except Exception as exc:
        summary = {**totals, "error": str(exc)[:500], "model_version": model.metadata.get("version"),
                   "duration_seconds": round(time.time() - started, 3)}
        jobs.finish(job, "failed", summary)
        raise
    summary = {**totals, "model_version": model.metadata.get("version"),
               "as_of": (as_of or date.today()).isoformat(),
               "duration_seconds": round(time.time() - started, 3)}
    jobs.finish(job, "succeeded", summary)
    return {"job_id": job.job_id, **summary}


class SnapshotBuilder:
    """Collects each profile's segmentable values during a rescore; saves them as a snapshot.
    It is taken as of the job's start: changes from then on are in the change log, and segment
    evaluation re-reads those profiles on top of it."""

    def __init__(self, project_id: str):
        from ..services.segments import catalogue
        from ..storage import changes
        self.project_id = project_id
        self.taken_at = changes.stamp()
        self.fields = list(catalogue(project_id))
        self.ids: list[str] = []
        self.values = {f.path: (f.type, []) for f in self.fields}

    def add(self, profiles: list) -> None:
        from ..segments import field_value
        for profile in profiles:
            document = store.to_document(profile)
            self.ids.append(profile.profile_id)
            for f in self.fields:
                value = field_value(document, f.path)
                self.values[f.path][1].append(value)

    def save(self) -> float:
        from ..segments.columnar import Snapshot
        from ..storage import snapshots
        snapshot = Snapshot.from_values(self.ids, self.values)
        model_store.ensure_bucket()
        snapshots.save(self.project_id, snapshot, self.taken_at)
        return round(snapshot.nbytes() / max(snapshot.n, 1), 1)


def snapshot_project(project_id: str) -> dict:
    """Refresh the project's snapshot without rescoring (e.g. when the change log grew long)."""
    started = time.time()
    builder = SnapshotBuilder(project_id)
    batch = []
    for _, profile in store.iter_profiles(project_id, page_size=PAGE):
        batch.append(profile)
        if len(batch) == PAGE:
            builder.add(batch)
            batch = []
    builder.add(batch)
    return {"profiles": len(builder.ids), "bytes_per_profile": builder.save(),
            "seconds": round(time.time() - started, 2)}


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
    """Score the given profiles now (the stream trigger). Idempotent: it scores current data."""
    found = [p for p in (store.get(project_id, pid) for pid in profile_ids) if p is not None]
    if not found:
        return {"read": 0, "changed": 0, "written": 0, "stale": 0}
    return _score_and_write(found, current_model(project_id), None)


def rescore_all(as_of: date | None = None) -> list[dict]:
    """The scheduled job: every project, one after the other."""
    results = []
    for project in keys.list_projects():
        try:
            results.append({"project_id": project.project_id,
                            **rescore_project(project.project_id, as_of, "scheduled")})
        except Exception as exc:  # one project's failure does not stop the others
            log.exception("rescoring %s failed", project.project_id)
            results.append({"project_id": project.project_id, "error": str(exc)[:300]})
    return results


def train(project_id: str, as_of: date, conversion_horizon: int | None = None,
          clv_horizon: int | None = None) -> dict:
    """Train a candidate on the project's history before `as_of`; promote it if it wins."""
    if keys.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    settings = bind()
    conversion_horizon = conversion_horizon or settings.conversion_horizon_days
    clv_horizon = clv_horizon or settings.clv_horizon_days
    _horizon(conversion_horizon, "conversion_horizon_days")
    _horizon(clv_horizon, "clv_horizon_days")
    started = time.time()
    job = jobs.start(project_id, "train")
    ids, behaviours = [], []
    for _, profile in store.iter_profiles(project_id, page_size=PAGE):
        ids.append(profile.profile_id)
        behaviours.append(profile.behaviour or {})
    result = train_project(ids, behaviours, as_of, conversion_horizon, clv_horizon,
                           current_model(project_id))
    summary = {"status": result.status, "reason": result.reason, "backtest": result.backtest,
               "profiles_read": len(ids), "as_of": as_of.isoformat(),
               "duration_seconds": round(time.time() - started, 3)}
    if result.status == "promoted":
        model = finish(result.candidate, behaviours, as_of)
        blob, metadata = artifact.to_bytes(model)
        model_store.ensure_bucket()
        model_store.put(project_id, blob, metadata)
        model_store.promote(project_id, metadata["version"])
        summary["model_version"] = metadata["version"]
    jobs.finish(job, result.status, summary)
    return {"job_id": job.job_id, **summary}
