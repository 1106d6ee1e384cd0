"""Training a project's own model, with a backtest that decides whether it replaces the current one.

Profiles are split by a hash of their id (80 % train, 20 % test). The candidate recipe is judged
at the served conversion horizon on promotion.FOLDS rolling time windows before the as-of date:
for each window it is fit on the train profiles' history before the window, and it and the
current model score the test profiles as of the window's start, each predicting for the window
(nothing after the as-of date is read). A paired bootstrap over the pooled test rows gives 95 %
intervals on the differences, and promotion.decide promotes the candidate only when it is better
on Brier score and log loss and not worse on the Gini of spend beyond the interval. The promoted
model is refit on every profile's history; its metadata keeps the backtest (the model card's
figures).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from . import bgnbd, blend, promotion, retention_fit
from .features import History, money_scale_of
from .model import Dataset, InsufficientData, PredictiveModel, fit
from .retention import DEFAULT_CHURN_HORIZON
from .scoring import cut_of

MIN_PROFILES = promotion.MIN_PROFILES
TEST_SHARE = 0.2


@dataclass
class TrainingResult:
    status: str  # promoted | kept_current | insufficient_data
    reason: str
    candidate: PredictiveModel | None  # the model to store: set only when promoted
    backtest: dict


def split(profile_ids: list[str]) -> np.ndarray:
    """True for test profiles: a stable 20 % by hash, the same on every run."""
    return np.array([zlib.crc32(p.encode()) % 100 < TEST_SHARE * 100 for p in profile_ids])


def evaluate(model: PredictiveModel, history: History, cut: int, days: int) -> dict:
    """One model on one window (the `days` before `cut`): conversion AUC and spend Gini of the
    profiles seen before it. The packaged default's metadata keeps this simpler backtest too."""
    from . import metrics
    from .features import seen_before, window_outcomes

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


def summary(result: dict, current_version: str | None) -> dict:
    """What the job summary keeps of a backtest: windows, each model's figures, differences."""
    return {
        "judged": result["judged"],
        "days": result["days"],
        "folds": result["folds"],
        "bootstrap": result["bootstrap"],
        "candidate": result["models"]["candidate"],
        "current": result["models"]["current"],
        "current_version": current_version,
        "differences": result["differences"],
    }


def train_project(
    profile_ids: list[str],
    behaviours: list[dict],
    as_of: date,
    conversion_horizon: int,
    clv_horizon: int,
    current: PredictiveModel,
    n_boot: int = promotion.BOOTSTRAP,
) -> TrainingResult:
    if len(profile_ids) < MIN_PROFILES:
        return TrainingResult(
            "insufficient_data", f"{len(profile_ids)} profiles; need {MIN_PROFILES}", None, {}
        )
    cut = cut_of(as_of)
    test = split(profile_ids)
    train_hist = History.from_behaviours([b for b, t in zip(behaviours, test) if not t])
    test_hist = History.from_behaviours([b for b, t in zip(behaviours, test) if t])

    def fit_before(shift: int) -> PredictiveModel:
        # the candidate of a window sees nothing of it: its data ends where the window starts
        return fit([Dataset(train_hist, cut - shift)], conversion_horizon, clv_horizon)

    try:
        result = promotion.backtest(
            fit_before,
            train_hist,
            test_hist,
            cut,
            conversion_horizon,
            clv_horizon,
            current=current,
            n_boot=n_boot,
            test_description=f"{int(test.sum())} profiles held out of training (20 % by id)",
        )
    except InsufficientData as exc:
        return TrainingResult("insufficient_data", str(exc), None, {})
    backtest = summary(result, current.metadata.get("version"))
    status, reason = promotion.decide(result)
    if status != "promoted":
        return TrainingResult(status, reason, None, backtest)
    # the backtest chose the recipe; the model that serves learns from every profile
    try:
        final = fit(
            [Dataset(History.from_behaviours(behaviours), cut)], conversion_horizon, clv_horizon
        )
    except InsufficientData as exc:
        return TrainingResult("insufficient_data", str(exc), None, backtest)
    final.metadata.update(
        {
            "training_data": f"{len(profile_ids)} profiles of the project before "
            f"{as_of.isoformat()}",
            "trained_what": {
                "conversion and spend models": "the project's own profiles",
                "BG/NBD": "the project's own purchase history",
            },
            "backtest": backtest,
            "served_backtest": promotion.card(result),
        }
    )
    return TrainingResult("promoted", reason, final, backtest)


def population_defaults(model: PredictiveModel, behaviours: list[dict], as_of: date) -> dict:
    """What scoring one profile at a time needs to know of the population: the average
    customer's CLV, the customer types' thresholds (quantiles of this population) and each
    principle's response rate (the persuasion prior)."""
    from . import customer_types, persuasion
    from .features import F

    history = History.from_behaviours(behaviours)
    out = model.predict(history, cut_of(as_of))
    X = out["features"]
    customers = X[:, F["orders"]] > 0
    clv = X[:, F["spend"]] + np.maximum(out["clv_predicted"], 0)
    shown, responded = persuasion.counts(behaviours)
    return {
        "clv_reference": round(float(clv[customers].mean()) if customers.any() else 100.0, 2),
        "customer_type_thresholds": customer_types.thresholds_from(X, clv, X[:, F["page_views"]]),
        "persuasion_prior": [
            round(float(r), 4) for r in persuasion.population_rates(shown, responded)
        ],
    }


def finish(
    model: PredictiveModel,
    behaviours: list[dict],
    as_of: date,
    churn_horizon: int = DEFAULT_CHURN_HORIZON,
    with_retention: bool = True,
) -> PredictiveModel:
    model.metadata.update(population_defaults(model, behaviours, as_of))
    if not with_retention:
        return model
    model.metadata["retention"] = retention_fit.for_project(
        History.from_behaviours(behaviours), cut_of(as_of), churn_horizon
    )
    return model


def fit_population_bgnbd(
    history: History, cut: int, min_repeat: int = promotion.MIN_REPEAT_CUSTOMERS
) -> bgnbd.BGNBD | None:
    """BG/NBD fitted on one population's purchase history before `cut` (a project's own, at
    rescore; never pooled with another population), or None with fewer than `min_repeat`
    customers who bought on 2 or more days (BG/NBD's repeat rate is poorly identified below)."""
    customer, x, t_x, T = bgnbd.summary(history, cut)
    if (x[customer] >= 1).sum() < min_repeat:
        return None
    return bgnbd.fit(x[customer], t_x[customer], T[customer])


def with_bgnbd(
    model: PredictiveModel,
    bg: bgnbd.BGNBD,
    trained_on: str | None,
    chosen: dict | None = None,
    spend: dict | None = None,
) -> PredictiveModel:
    """The same fitted pipelines with another population's BG/NBD (`trained_on` says what it was
    fitted on; None: the model's own BG/NBD is kept): its features and horizon carries are then
    computed on that population, as the training rows' were on theirs (each training cut fits
    BG/NBD on its own dataset's history). `chosen`, if given, is the conversion blend chosen on
    that population (predict/blend.py), `spend` the spend blend likewise. The version names the
    base, the BG/NBD, the weights, the Gamma-Gamma, the retention models and the money scale
    (`model.money_scale`, set by for_population)."""
    params = {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}
    chosen = chosen or model.conversion_blend
    base = model.metadata.get("derived_from") or model.metadata.get("version", "unsaved")
    weight = (chosen or {}).get("weight", 1.0)
    retention = model.metadata.get("retention") or {}
    spend = spend or model.spend_blend
    served_spend = {k: (spend or {}).get(k) for k in ("weight", "gamma_gamma")}
    key = (sorted(params.items()), weight, model.money_scale)
    key += (json.dumps(served_spend, sort_keys=True),)
    # the retention models served (coefficients, cycle, scale), not the words about them
    key += (json.dumps({k: v for k, v in retention.items() if k != "fitted_on"}, sort_keys=True),)
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
    metadata = {k: v for k, v in model.metadata.items() if k not in ("sha256", "version")}
    trained_what = dict(metadata.get("trained_what", {}))
    if trained_on is not None:
        trained_what["BG/NBD"] = trained_on
    if chosen is not model.conversion_blend:
        trained_what["conversion blend weight"] = "this population's own windows"
    if spend is not model.spend_blend:
        trained_what["spend blend weight and Gamma-Gamma"] = "this population's own history"
    trained_what.pop("money scale", None)
    if model.money_scale != 1.0:
        trained_what["money scale"] = (
            f"{model.money_scale}: this population's median order value over the training's"
        )
    metadata.update(
        version=f"{base}+bg{digest}",
        derived_from=base,
        bgnbd=params,
        trained_what=trained_what,
    )
    return replace(model, bg=bg, metadata=metadata, conversion_blend=chosen, spend_blend=spend)


def for_population(
    model: PredictiveModel,
    history: History,
    cut: int,
    trained_on: str,
    pipelines_trained_elsewhere: bool = True,
) -> PredictiveModel | None:
    """What a rescore serves a population (its customers' `history` before `cut`): `model`'s
    pipelines with BG/NBD fitted on that population, and, when the pipelines were trained on
    other data (the packaged default), the population's money scale, the retention models in
    its own purchase cycle and money, the conversion blend chosen on it (with that scale) and,
    with its own BG/NBD, the spend blend against its own BG/NBD x Gamma-Gamma. A model the
    population trained itself keeps its scale and the weight its training chose on later time
    folds (and serves its spend pipeline alone): judged here, its pipeline would be judged on the
    labels it learned from. With too few repeat customers for a BG/NBD of its own, the model's
    BG/NBD stays; None when nothing changes (the model serves as it is)."""
    bg = fit_population_bgnbd(history, cut)
    chosen, spend, before = None, None, model
    if pipelines_trained_elsewhere:
        # the population's money level against the one the pipelines learned from, and the
        # retention models in its own cycle: always derived afresh from the base's (a copy
        # derived before would keep an old default's models, and its cycle, for ever), each
        # level kept while it stays near the one served until now
        derived = "derived_from" in model.metadata
        learned = (model.prior or {}).get("order_value")
        retention = (None if derived else model.metadata.get("retention")) or (
            retention_fit.default_params()
        )
        served = model.metadata.get("retention") if derived else None
        model = replace(
            model,
            money_scale=money_scale_of(
                learned, (history, cut), previous=model.money_scale if derived else None
            ),
            metadata={
                **model.metadata,
                "retention": retention_fit.for_population(retention, history, cut, previous=served),
            },
        )
        chosen = blend.choose(replace(model, bg=bg or model.bg), [Dataset(history, cut)])
        if bg is not None:
            # its own BG/NBD, so its own classic spend model to weigh the spend pipeline with
            spend = blend.choose_spend(replace(model, bg=bg), Dataset(history, cut))
    if bg is None:
        if chosen is None or chosen["weight"] == model.blend_weight:
            if (model.money_scale, model.metadata.get("retention")) == (
                before.money_scale,
                before.metadata.get("retention"),
            ):
                return None
        return with_bgnbd(model, model.bg, None, chosen)
    return with_bgnbd(model, bg, trained_on, chosen, spend)
