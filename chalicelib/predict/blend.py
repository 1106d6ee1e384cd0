"""How much of a customer's conversion probability comes from the trained pipeline and how much
from the population's own BG/NBD: a weight chosen on later time folds, never on the data it
then serves.

Why: on purchase logs such as CDNOW, BG/NBD fitted on the population itself is hard to beat on
calibration (Brier), while the pipeline ranks a little better; the blend, as chosen, beats
BG/NBD on AUC, Brier and log loss out of sample, where the pipeline alone does not
(bench/blend_cdnow.py: windows inside CDNOW's calibration period). The
pipeline's share is the weight `w` in `w * pipeline + (1 - w) * BG/NBD`, for customers only (a
visitor who never bought has no BG/NBD probability), at the model's conversion label window,
before any carry to the served horizon.

The weight is chosen by log loss over rolling windows that end at the data's end. In each, the
pipeline judged is the same recipe fit on the training rows whose labels end before the window
starts (`choose_for_training`), or one trained elsewhere (a rescore judges the packaged
default's pipelines on the project's own history: `choose`); BG/NBD is refitted on the history
before the window's start. Too few buyers in the windows keep the pipeline alone (w = 1), and
say so.

Spend likewise (`choose_spend`, at rescore of pipelines trained elsewhere, on a population with
its own BG/NBD): the spend pipeline against the population's BG/NBD expected purchase days x
Gamma-Gamma's value of a day (gamma_gamma.py), by Poisson deviance over windows of the CLV label
window's length.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import bgnbd, gamma_gamma, metrics
from .bg_values import BGValues
from .features import window_outcomes
from .model import Dataset, InsufficientData, PredictiveModel, conversion_pipeline, fit_bgnbd

WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))
WINDOWS = 3
WINDOW_STEP_DAYS = 28
MIN_BUYERS = 30  # customers who bought, pooled over the windows


def window_starts(cut: int, days: int) -> list[int]:
    """The validation windows' first days: each window is `days` long, the newest ends at `cut`."""
    return [cut - days - WINDOW_STEP_DAYS * j for j in range(WINDOWS)]


def choose(model: PredictiveModel, datasets: list[Dataset]) -> dict:
    """The weight of `model`'s conversion pipeline (trained on other data) against each
    dataset's own BG/NBD, chosen by log loss over the customers of the windows before each
    dataset's cut."""
    return _pick([_window(model, d, j) for d in datasets for j in range(WINDOWS)], model)


def choose_for_training(
    model: PredictiveModel, datasets: list[Dataset], X, bought, spend, lag
) -> dict:
    """`choose` for a model being trained on the rows (X, bought, spend, lag) of
    model.training_rows: in window j the pipeline judged is the same recipe on the rows whose
    labels end at least `days + 28 j` days before their dataset's cut (`lag`), so none reaches
    the window it is judged on."""
    return _pick(training_windows(model, datasets, X, bought, lag), model)


def training_windows(model: PredictiveModel, datasets: list[Dataset], X, bought, lag) -> list:
    """The windows `choose_for_training` judges: (pipeline's P, BG/NBD's P, bought) of each
    dataset's customers per window (None where a window judges nothing)."""
    days = model.conversion_label_days
    found = []
    for j in range(WINDOWS):
        earlier = lag >= days + WINDOW_STEP_DAYS * j
        try:
            pipeline = conversion_pipeline(X[earlier], bought[earlier])
        except InsufficientData:
            continue  # too few labelled rows before this window: it judges nothing
        judged = replace(model, conversion=pipeline)
        found += [_window(judged, d, j) for d in datasets]
    return found


def _window(model: PredictiveModel, d: Dataset, j: int):
    """(pipeline's P, BG/NBD's P, bought) of `d`'s customers in its window j, or None."""
    days = model.conversion_label_days
    t0 = window_starts(d.cut, days)[j]
    first = d.history.first_day()
    if d.visitors_only or first is None or t0 <= first:
        return None  # generated visitors' customers train nothing, so they judge nothing either
    judged = replace(model, bg=fit_bgnbd([Dataset(d.history, t0)]), conversion_blend=None)
    out = judged.predict_arrays(d.history, t0, days, days)
    customer = out["customer"]
    if not customer.any():
        return None
    bought, _ = window_outcomes(d.history, t0, t0 + days)
    # the last column of the conversion matrix is BG/NBD's P(purchase within the label window)
    return out["conversion"][customer], out["conversion_X"][customer, -1], bought[customer]


def _pick(found: list, model: PredictiveModel) -> dict:
    found = [f for f in found if f is not None]
    days = model.conversion_label_days
    if not found:
        return _not_chosen(
            "no validation window had customers before it and, in training, labelled rows before it"
        )
    y = np.concatenate([f[2] for f in found]).astype(float)
    buyers = int(y.sum())
    if buyers < MIN_BUYERS:
        return _not_chosen(
            f"{buyers} buying customers in the validation windows; need {MIN_BUYERS}"
        )
    p = np.concatenate([f[0] for f in found])
    p_bg = np.nan_to_num(np.concatenate([f[1] for f in found]))
    weight, losses = _weigh(metrics.log_loss, y, p, p_bg)
    return {
        "weight": float(weight),
        "chosen_on": f"log loss over {len(y)} customer rows ({buyers} bought) in "
        f"{len(found)} window{'s' * (len(found) != 1)} of {days} days before the data's end",
        "log_loss": {str(w): round(v, 5) for w, v in losses.items()},
        "brier": {
            "pipeline": round(metrics.brier(y, p), 5),
            "bgnbd": round(metrics.brier(y, p_bg), 5),
            "blend": round(metrics.brier(y, weight * p + (1 - weight) * p_bg), 5),
        },
    }


def choose_spend(model: PredictiveModel, d: Dataset) -> dict:
    """The weight of `model`'s spend pipeline (trained on other data) against the population's
    own BG/NBD x Gamma-Gamma, chosen by Poisson deviance over its customers' spend in the
    windows of the CLV label window's length before its cut (each judged with BG/NBD and
    Gamma-Gamma refitted on the history before the window); served with the Gamma-Gamma of its
    whole history (`gamma_gamma`). Why: a spend pipeline learned in one shop can misread
    another's (customers who buy every 10 days, not every 90: 0.65 of the actual spend,
    bench/simulated_shop.py), where the classic model fitted on the shop itself does not."""
    days = model.clv_label_days
    served = gamma_gamma.fit_history(d.history, d.cut)
    if served is None:
        return _not_chosen(
            f"fewer than {gamma_gamma.MIN_CUSTOMERS} customers with a priced purchase day"
        )
    found = [f for f in (_spend_window(model, d, j) for j in range(WINDOWS)) if f is not None]
    y = np.concatenate([f[2] for f in found]) if found else np.zeros(0)
    buyers = int((y > 0).sum())
    if buyers < MIN_BUYERS:
        return _not_chosen(
            f"{buyers} customers who spent in the {days}-day windows before the data's end; "
            f"need {MIN_BUYERS}"
        )
    pipeline = np.concatenate([f[0] for f in found])
    classic = np.nan_to_num(np.concatenate([f[1] for f in found]))
    weight, deviance = _weigh(_poisson_deviance, y, pipeline, classic)
    total = float(y.sum()) or 1.0
    return {
        "weight": float(weight),
        "chosen_on": f"Poisson deviance over {len(y)} customer rows ({buyers} spent) in "
        f"{len(found)} window{'s' * (len(found) != 1)} of {days} days before the data's end",
        "deviance": {str(w): round(v, 5) for w, v in deviance.items()},
        "predicted_over_actual": {
            "pipeline": round(float(pipeline.sum()) / total, 4),
            "bgnbd_gamma_gamma": round(float(classic.sum()) / total, 4),
        },
        "gamma_gamma": {k: float(f"{v:.6g}") for k, v in served.as_dict().items()},
    }


def _spend_window(model: PredictiveModel, d: Dataset, j: int):
    """(pipeline's spend, BG/NBD x Gamma-Gamma's, actual) of `d`'s customers in window j."""
    days = model.clv_label_days
    t0 = window_starts(d.cut, days)[j]
    first = d.history.first_day()
    if first is None or t0 <= first:
        return None
    gg = gamma_gamma.fit_history(d.history, t0)
    if gg is None:
        return None
    bg = fit_bgnbd([Dataset(d.history, t0)])
    judged = replace(model, bg=bg, conversion_blend=None, spend_blend=None)
    out = judged.predict_arrays(d.history, t0, model.conversion_label_days, days)
    customer = out["customer"]
    if not customer.any():
        return None
    bgv = BGValues(bg, *bgnbd.summary(d.history, t0))
    classic = gamma_gamma.classic_spend(gg, bgv, d.history, t0, days)
    spent = window_outcomes(d.history, t0, t0 + days)[1]
    return out["clv_predicted"][customer], classic, spent[customer]


def _not_chosen(why: str) -> dict:
    return {"weight": 1.0, "chosen_on": f"not chosen: {why} (the pipeline alone)"}


def _weigh(loss, y, pipeline, classic) -> tuple[float, dict]:
    """The weight of `pipeline` in w x pipeline + (1 - w) x classic with the lowest loss
    (ties: the larger weight), and every weight's loss."""
    losses = {w: loss(y, w * pipeline + (1 - w) * classic) for w in WEIGHTS}
    return min(losses, key=lambda w: (round(losses[w], 6), -w)), losses


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    mu = np.maximum(mu, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2 * (term - (y - mu))))
