"""Training a project's own model, with a backtest that decides whether it replaces the current one.

Backtest: profiles are split by a hash of their id (80 % train, 20 % test). The candidate is fit
on the train profiles' history before the backtest window (as-of date - label_days). Both candidate and current model then score
the test profiles as of `as_of - label_days`, and are judged on what those profiles did in the
`label_days` that followed (all before the as-of date: nothing after it is read). The candidate
recipe is promoted only if it beats the current model on the mean of the conversion AUC and the CLV Gini,
both models predicting for the backtest's window length.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np

from . import metrics
from .features import History, seen_before, window_outcomes
from .model import Dataset, InsufficientData, PredictiveModel, fit, label_days_for
from .scoring import cut_of

MIN_PROFILES = 200
TEST_SHARE = 0.2


@dataclass
class TrainingResult:
    status: str  # promoted | kept_current | insufficient_data
    reason: str
    candidate: PredictiveModel | None
    backtest: dict


def split(profile_ids: list[str]) -> np.ndarray:
    """True for test profiles: a stable 20 % by hash, the same on every run."""
    return np.array([zlib.crc32(p.encode()) % 100 < TEST_SHARE * 100 for p in profile_ids])


def evaluate(model: PredictiveModel, history: History, cut: int, days: int) -> dict:
    t0 = cut - days
    seen = seen_before(history, t0)
    out = model.predict(history, t0, days, days)  # both models judged on the same horizon
    bought, spend = window_outcomes(history, t0, cut)
    b, s = bought[seen], spend[seen]
    return {
        "profiles": int(seen.sum()),
        "buyers": int(b.sum()),
        "conversion_auc": metrics.auc(b, out["conversion"][seen]),
        "clv_gini": metrics.normalized_gini(s, out["clv_predicted"][seen]),
        "label_days": days,
    }


def _combined(result: dict) -> float:
    """The backtest score: the mean of conversion AUC and CLV Gini (both 1 at best)."""
    return (result["conversion_auc"] + result["clv_gini"]) / 2


def train_project(
    profile_ids: list[str],
    behaviours: list[dict],
    as_of: date,
    conversion_horizon: int,
    clv_horizon: int,
    current: PredictiveModel,
) -> TrainingResult:
    if len(profile_ids) < MIN_PROFILES:
        return TrainingResult(
            "insufficient_data", f"{len(profile_ids)} profiles; need {MIN_PROFILES}", None, {}
        )
    cut = cut_of(as_of)
    test = split(profile_ids)
    train_hist = History.from_behaviours([b for b, t in zip(behaviours, test) if not t])
    test_hist = History.from_behaviours([b for b, t in zip(behaviours, test) if t])
    first = train_hist.first_day()
    if first is None:
        return TrainingResult("insufficient_data", "there is no history", None, {})
    days = label_days_for(conversion_horizon, cut - first)
    try:
        # the candidate under test sees nothing of the backtest window: its data ends where the
        # window starts (the current model gets no such head start either way)
        candidate = fit([Dataset(train_hist, cut - days)], conversion_horizon, clv_horizon)
    except InsufficientData as exc:
        return TrainingResult("insufficient_data", str(exc), None, {})
    backtest = {
        "candidate": evaluate(candidate, test_hist, cut, days),
        "current": evaluate(current, test_hist, cut, days),
        "current_version": current.metadata.get("version"),
    }
    if backtest["candidate"]["buyers"] < 10:
        return TrainingResult(
            "insufficient_data", "fewer than 10 buyers in the backtest window", None, backtest
        )
    c, k = backtest["candidate"], backtest["current"]
    backtest["candidate"]["score"] = _combined(c)
    backtest["current"]["score"] = _combined(k)
    better = c["score"] > k["score"] or np.isnan(k["score"])
    candidate.metadata.update(
        {
            "training_data": f"{len(profile_ids) - int(test.sum())} profiles "
            f"of the project before {as_of.isoformat()}",
            "backtest": backtest,
        }
    )
    if better:
        # the backtest chose the recipe; the model that serves learns from every profile
        final = fit(
            [Dataset(History.from_behaviours(behaviours), cut)], conversion_horizon, clv_horizon
        )
        final.metadata.update(candidate.metadata)
        final.metadata["training_data"] = (
            f"{len(profile_ids)} profiles of the project before {as_of.isoformat()}"
        )
        return TrainingResult(
            "promoted", "the candidate beats the current model on the backtest", final, backtest
        )
    return TrainingResult(
        "kept_current",
        "the candidate does not beat the current model on the mean of conversion AUC and CLV Gini",
        candidate,
        backtest,
    )


def population_defaults(model: PredictiveModel, behaviours: list[dict], as_of: date) -> dict:
    """What scoring one profile at a time needs to know of the population: the average
    customer's CLV (the Believer threshold) and each principle's response rate (the persuasion
    prior)."""
    from . import persuasion
    from .features import F

    history = History.from_behaviours(behaviours)
    out = model.predict(history, cut_of(as_of))
    X = out["features"]
    customers = X[:, F["orders"]] > 0
    clv = X[:, F["spend"]] + np.maximum(out["clv_predicted"], 0)
    shown, responded = persuasion.counts(behaviours)
    return {
        "clv_reference": round(float(clv[customers].mean()) if customers.any() else 100.0, 2),
        "persuasion_prior": [
            round(float(r), 4) for r in persuasion.population_rates(shown, responded)
        ],
    }


def finish(model: PredictiveModel, behaviours: list[dict], as_of: date) -> PredictiveModel:
    model.metadata.update(population_defaults(model, behaviours, as_of))
    from .retention_fit import for_project  # churn, next order, the cycle stages are counted in

    model.metadata["retention"] = for_project(History.from_behaviours(behaviours), cut_of(as_of))
    return model
