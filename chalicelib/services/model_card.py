"""The model card of a project (GET /projects/{p}/model): which model scores it, trained on what
and when, how it did on its served-horizon backtest against the classic model (figures stored
in the artifact's metadata when it was trained or packaged, never computed here), and whether
the project has the data for a model of its own.

The project's data is measured on its latest columnar snapshot (taken by every rescore): one
S3 read, no table scan.
"""

from __future__ import annotations

import math

import numpy as np

from ..infra.errors import NotFound
from ..predict import artifact, promotion
from ..predict import fields as predictive_fields
from ..rules.column_encoding import Snapshot, valid
from ..storage import model_store, project_table, snapshot_store
from ..storage.connection import bind

BANDS = {
    "better": "better than the classic model: lower Brier score (the interval is below 0) and "
    "a ranking at least as good",
    "on_par": "on par with the classic model: the differences are within the intervals",
    "behind": "behind the classic model: a higher Brier score or a worse ranking beyond the "
    "interval",
    "unknown": "no served-horizon backtest is recorded for this model",
}
DATE_PATHS = (
    "behaviour.first_seen",
    "behaviour.first_order_at",
    "behaviour.last_seen",
    "behaviour.last_order_at",
)


def quality_band(lift: dict | None) -> dict:
    """The band from the model's lift over the classic model (differences model - classic with
    95 % intervals; Brier lower is better, AUC higher is better)."""
    if not lift or not lift.get("brier") or not lift.get("auc"):
        return {"band": "unknown", "message": BANDS["unknown"]}
    brier, auc = lift["brier"], lift["auc"]
    if None in brier or None in auc:
        return {"band": "unknown", "message": BANDS["unknown"]}
    if brier[1] > 0 or auc[2] < 0:
        band = "behind"
    elif brier[2] < 0 and auc[2] >= 0:
        band = "better"
    else:
        band = "on_par"
    return {
        "band": band,
        "message": BANDS[band],
        "brier_difference": brier,
        "auc_difference": auc,
    }


def _dates(snapshot: Snapshot, path: str) -> np.ndarray:
    """A date column as day numbers since the epoch (NaN where absent)."""
    col = snapshot.columns.get(path)
    if col is None:
        return np.full(snapshot.n, np.nan)
    seconds = (
        col.values.astype(np.float64) if col.scale < 0 else col.values / 10**col.scale + col.offset
    )
    return np.where(valid(col), seconds / 86400.0, np.nan)


def data_stats(snapshot: Snapshot) -> dict:
    """Profiles, customers, customers with 2+ orders and days of history of a snapshot."""
    orders = np.nan_to_num(snapshot.decoded("behaviour.orders"), nan=0.0)
    days = np.column_stack([_dates(snapshot, p) for p in DATE_PATHS]) if snapshot.n else None
    span = 0
    if days is not None and np.isfinite(days).any():
        # calendar days from the first to the last, both counted
        span = int(math.floor(np.nanmax(days)) - math.floor(np.nanmin(days))) + 1
    return {
        "profiles": int(snapshot.n),
        "customers": int((orders >= 1).sum()),
        "repeat_customers": int((orders >= 2).sum()),
        "history_days": span,
    }


def requirements(stats: dict | None, conversion_horizon: int) -> dict:
    """Each requirement for a model of the project's own, and whether the project meets it."""
    needed = [
        ("profiles", "profiles", promotion.MIN_PROFILES),
        ("repeat_customers", "customers with 2 or more orders", promotion.MIN_REPEAT_CUSTOMERS),
        (
            "history_days",
            "days of history (events and orders)",
            promotion.history_days_needed(conversion_horizon),
        ),
    ]
    items = [
        {
            "name": name,
            "label": label,
            "needed": minimum,
            "actual": None if stats is None else stats[name],
            "met": None if stats is None else stats[name] >= minimum,
        }
        for name, label, minimum in needed
    ]
    meets = None if stats is None else all(i["met"] for i in items)
    return {"meets": meets, "items": items, **({"measured": stats} if stats else {})}


def _message(source: str, reqs: dict, measured_at: str | None) -> str:
    if reqs["meets"] is None:
        return (
            "This project's data has not been measured yet: it is measured on the snapshot "
            "every rescore takes. Until then it is scored by the "
            + ("default model." if source == "default" else "model below.")
        )
    short = [
        f"{i['actual']:,} {i['label']} (needs {i['needed']:,})"
        for i in reqs["items"]
        if not i["met"]
    ]
    if short:
        return (
            "This project does not have the data for a model of its own yet: "
            + "; ".join(short)
            + ". "
            + (
                "It is scored by the default model, trained on CDNOW's 1997 CD buyers and "
                "generated web visitors: the figures below describe those data, not this "
                "project's customers."
                if source == "default"
                else "Its own model was trained when it had them."
            )
        )
    if source == "default":
        return (
            "This project has the data for a model of its own: `python -m chalicelib.cli "
            "train --project P --as-of DATE` trains one and promotes it if it beats the "
            "default on the backtest. Until then the default model scores it."
        )
    return "This project meets the data requirements; its own model scores it."


def card(
    metadata: dict,
    source: str,
    stats: dict | None,
    measured_at: str | None,
    conversion_horizon: int,
    clv_horizon: int,
) -> dict:
    """The card from a model's metadata and the project's measured data (pure)."""
    backtest = metadata.get("served_backtest")
    reqs = requirements(stats, conversion_horizon)
    return {
        "model": {
            "version": metadata.get("version"),
            "source": source,
            "trained_at": metadata.get("trained_at"),
            "training_data": metadata.get("training_data"),
            **{k: metadata[k] for k in ("trained_what", "derived_from") if k in metadata},
            **(
                {
                    "conversion_blend": {
                        k: metadata["conversion_blend"].get(k)
                        for k in ("weight", "chosen_on", "brier")
                    }
                }
                if metadata.get("conversion_blend")
                else {}
            ),
            **(
                {
                    "spend_blend": {
                        k: metadata["spend_blend"].get(k)
                        for k in ("weight", "chosen_on", "predicted_over_actual")
                    }
                }
                if metadata.get("spend_blend")
                else {}
            ),
            "money_scale": metadata.get("money_scale", 1.0),
            "horizons": {
                "conversion_days": metadata.get("conversion_horizon_days"),
                "clv_days": metadata.get("clv_horizon_days"),
            },
            "served_horizons": {"conversion_days": conversion_horizon, "clv_days": clv_horizon},
            "label_days": {
                "conversion": metadata.get("conversion_label_days"),
                "clv": metadata.get("clv_label_days"),
            },
            "libraries": metadata.get("libraries"),
        },
        "fields": [
            {"name": f.name, "label": f.label, "type": f.type, "explained": f.explained}
            for f in predictive_fields.FIELDS
        ],
        "backtest": backtest,
        "quality": quality_band((backtest or {}).get("lift_over_classic")),
        "data_requirements": {
            **reqs,
            "measured_at": measured_at,
            "message": _message(source, reqs, measured_at),
        },
    }


def project_model_card(project_id: str) -> dict:
    """The card of the model that scores the project now."""
    from .scoring_jobs import current_model  # the model rescoring would use, default fallback

    if project_table.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    model = current_model(project_id)
    own = model_store.current_version(project_id)
    source = "default"
    if own and model.metadata.get("version") == own:
        # the default with the project's own BG/NBD (behaviour_fit) is still the default
        default_version = artifact.default_model().metadata.get("version")
        source = "default" if model.metadata.get("derived_from") == default_version else "project"
    latest = snapshot_store.latest(project_id)
    stats, measured_at = (data_stats(latest[0]), latest[1]) if latest else (None, None)
    settings = bind()
    return {
        "project_id": project_id,
        **card(
            model.metadata,
            source,
            stats,
            measured_at,
            settings.conversion_horizon_days,
            settings.clv_horizon_days,
        ),
    }
