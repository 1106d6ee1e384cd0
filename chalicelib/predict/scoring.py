"""Scoring: profile documents in, the four predictive fields (with explanations) out. Pure and
vectorised over a batch."""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np

from . import customer_types, persuasion
from .explain import reasons
from .features import F, History
from .model import MODEL_FEATURES, PredictiveModel, bg_features, transform

# A rescore writes a profile only when a field moved by more than this (or a label changed).
TOLERANCE = {"conversion_potential": 0.5, "clv": 0.5, "clv_past": 0.005, "clv_predicted": 0.5}


def cut_of(as_of: date) -> int:
    """Scoring as of a date counts that whole day."""
    return as_of.toordinal() + 1


def score(behaviours: list[dict], model: PredictiveModel, as_of: date | None = None,
          with_explanations: bool = True, conversion_horizon: int | None = None,
          clv_horizon: int | None = None) -> list[dict]:
    now = datetime.now(timezone.utc)
    as_of = as_of or now.date()
    cut = cut_of(as_of)
    history = History.from_behaviours(behaviours)
    conversion_horizon = conversion_horizon or model.conversion_horizon
    clv_horizon = clv_horizon or model.clv_horizon
    out = model.predict(history, cut, conversion_horizon, clv_horizon)
    X = out["features"]
    # never store NaN or infinity: a numerical failure reads as "no signal"
    p = np.nan_to_num(out["conversion"], nan=0.0, posinf=1.0, neginf=0.0)
    clv_past = X[:, F["spend"]]
    clv_predicted = np.clip(np.nan_to_num(out["clv_predicted"], nan=0.0, posinf=0.0), 0, 1e12)
    clv = clv_past + clv_predicted
    md = model.metadata
    delay = X[:, F["days_since_first_seen"]] - X[:, F["days_since_first_order"]]
    types, type_reasons = customer_types.classify(
        X, clv, np.nan_to_num(delay, nan=np.inf), X[:, F["page_views"]],
        X[:, F["discount_interactions"]], float(md.get("clv_reference", 100.0)),
        with_reasons=with_explanations)
    shown, responded = persuasion.counts(behaviours)
    prior = np.array(md.get("persuasion_prior") or [persuasion.DEFAULT_RATE] * shown.shape[1])
    principles, _, principle_reasons = persuasion.profile(shown, responded, prior)
    if with_explanations:
        Xc = np.hstack([X, bg_features(history, cut, model.conversion_label_days, model.bg)])
        conversion_reasons = reasons(model.conversion, transform(Xc), Xc, MODEL_FEATURES)
        Xv = Xc if model.clv_label_days == model.conversion_label_days else np.hstack(
            [X, bg_features(history, cut, model.clv_label_days, model.bg)])
        clv_reasons = reasons(model.clv, transform(Xv), Xv, MODEL_FEATURES)
    common = {"scored_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "as_of": as_of.isoformat(),
              "model_version": md.get("version", "unsaved"),
              "conversion_horizon_days": conversion_horizon, "clv_horizon_days": clv_horizon}
    columns = zip(np.round(100 * p, 1).tolist(), np.round(clv, 2).tolist(),
                  np.round(clv_past, 2).tolist(), np.round(clv_predicted, 2).tolist())
    results = []
    for i, (conversion, total, past, predicted) in enumerate(columns):
        fields = {"conversion_potential": conversion, "clv": total, "clv_past": past,
                  "clv_predicted": predicted, "customer_type": types[i],
                  "persuasion_type": principles[i], **common}
        if with_explanations:
            fields["explanations"] = {
                "conversion_potential": conversion_reasons[i],
                "clv": _dedupe([f"spent {clv_past[i]:.0f} so far"] + clv_reasons[i])[:3],
                "customer_type": type_reasons[i],
                "persuasion_type": principle_reasons[i],
            }
        results.append({k: v for k, v in fields.items() if v is not None})
    return results


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def changed(old: dict | None, new: dict) -> bool:
    """Whether a new score differs enough from the stored one to be written."""
    if not old or old.get("model_version") != new.get("model_version"):
        return True
    for key in ("customer_type", "persuasion_type", "conversion_horizon_days", "clv_horizon_days"):
        if old.get(key) != new.get(key):
            return True
    return any(abs((old.get(k) or 0) - (new.get(k) or 0)) > tol for k, tol in TOLERANCE.items())

