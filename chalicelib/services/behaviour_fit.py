"""The behavioural model fitted per project at rescore (issue 12, item 2): BG/NBD on the
project's own purchase history, never pooled with other data, served with the project's current
pipelines (training.with_bgnbd). The scoring model's BG/NBD quantities (features and horizon
carries) are then computed on the project's population, as each training row's were on its own
dataset's; the packaged default otherwise serves a BG/NBD fitted on CDNOW and generated visitors
together. The conversion blend's weight (predict/blend.py: the pipeline's share against BG/NBD)
is chosen again on the project's own customers, since the pipelines were trained elsewhere.

The derived model is stored and promoted like a trained one (models/<project>/<version>), so
every scorer (shards, the stream trigger) loads it as the project's model; its version names its
base (`default-2+bg1a2b3c4d`) and its metadata says what trained what (`trained_what`). A project
with fewer than promotion.MIN_REPEAT_CUSTOMERS repeat customers keeps its model as it is.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from ..predict import artifact
from ..predict.features import History
from ..predict.scoring import cut_of
from ..predict.training import for_population
from ..storage import model_store, profile_table

log = logging.getLogger(__name__)
PAGE = 2000


def refit(project_id: str, as_of: date | None = None) -> dict:
    """Fit the project's BG/NBD on its history before `as_of` and promote the derived model."""
    from .scoring_jobs import current_model

    started = time.time()
    as_of = as_of or date.today()
    # customers only: BG/NBD reads nothing else, and the blend is judged on customers
    behaviours = [
        p.behaviour
        for _, p in profile_table.iter_profiles(project_id, page_size=PAGE)
        if p.behaviour and p.behaviour.get("purchases")
    ]
    customers = len(behaviours)
    model = current_model(project_id)
    base = model.metadata.get("derived_from") or model.metadata.get("version")
    derived = for_population(
        model,
        History.from_behaviours(behaviours),
        cut_of(as_of),
        f"this project's {customers} customers' purchases before {as_of.isoformat()} "
        "(fitted at rescore)",
        # the packaged default's pipelines learned elsewhere: their weight is judged here
        pipelines_trained_elsewhere=base == artifact.default_model().metadata.get("version"),
    )
    kept = "kept: too few repeat customers for a fit of the project's own"
    if derived is None:
        return {"bgnbd": kept}
    if derived.metadata["version"] == model.metadata.get("version"):
        return {"bgnbd": "unchanged", "model_version": derived.metadata["version"]}
    blob, metadata = artifact.to_bytes(derived)
    model_store.ensure_bucket()
    model_store.put(project_id, blob, metadata)
    model_store.promote(project_id, metadata["version"])
    return {
        "bgnbd": "refitted" if derived.bg is not model.bg else kept,
        "model_version": metadata["version"],
        "customers": customers,
        "conversion_blend": derived.blend_weight,
        "spend_blend": (derived.spend_blend or {}).get("weight", 1.0),
        "seconds": round(time.time() - started, 3),
    }


def refit_before_rescore(project_id: str, as_of: date | None = None) -> None:
    """The rescore's hook: a failed fit is logged, and the rescore goes on with the model as
    it is."""
    try:
        log.info("behavioural model of %s: %s", project_id, refit(project_id, as_of))
    except Exception:
        log.exception("fitting the behavioural model of %s failed; scoring goes on", project_id)
