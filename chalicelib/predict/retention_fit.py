"""Fitting the retention parameters (retention.py) on a project's history before its as-of date.
Pure: numpy and scikit-learn, no AWS. The result is plain JSON (stored in a model's metadata
under "retention"; without it, scoring reads DEFAULT_PATH, fitted on the CDNOW calibration
period as the default model is: `python -m chalicelib.predict.retention_fit`).

Rows are customers at weekly cut dates t0 before the as-of date, features from the days before
t0 only (BG/NBD refitted at each t0), labels from the days after:
- churn: no purchase in [t0, t0 + label_days);
- next order: for repeat customers who order again before the data ends (`limit`), the days
  from t0 to that order; the window they had to do so (limit - t0) is an input, so a served
  prediction states its window (`window_days`).
Choices (the churn model's regularisation, the next-order regression's) are made on a
validation split in time: the last four cuts validate models fitted on rows whose labels end
before the first of them; the chosen settings are then refitted on every row.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, QuantileRegressor
from sklearn.preprocessing import StandardScaler

from . import retention as rt
from .features import (
    History,
    matrix,
    median_order_value,
    money_scale_of,
    steady,
    window_outcomes,
)
from .model import MIN_HISTORY_DAYS, Dataset, fit_bgnbd

DEFAULT_PATH = Path(__file__).resolve().parent / "artifacts" / "retention_default.json"
DEFAULT_CYCLE_DAYS = 30.0  # a project with no repeat purchase yet
MIN_CYCLE_GAPS = 50  # parameters served elsewhere count in the population's cycle from these
SERVED_WINDOW_DAYS = 365
CUT_STEP_DAYS = 7
MAX_CUTS = 26
VALIDATION_CUTS = 4
CHURN_C = (0.01, 0.1, 1.0, 10.0)
NEXT_ALPHA = (0.0, 0.001, 0.01)
MAX_CHURN_ROWS = 200_000
MAX_NEXT_ROWS = 20_000


def project_cycle(history: History, cut: int) -> float:
    """The median days between two consecutive purchase days of the same customer, before cut."""
    gaps = _gaps(history, cut)
    return float(np.median(gaps)) if gaps.size else DEFAULT_CYCLE_DAYS


def _gaps(history: History, cut: int) -> np.ndarray:
    m = history.p_day < cut
    idx, day = history.p_idx[m], history.p_day[m]
    order = np.lexsort((day, idx))
    idx, day = idx[order], day[order]
    return (day[1:] - day[:-1])[idx[1:] == idx[:-1]]


def _next_purchase(history: History, start: int, end: int) -> np.ndarray:
    """Per profile, the first purchase day in [start, end); inf where there is none."""
    m = (history.p_day >= start) & (history.p_day < end)
    out = np.full(history.n, np.inf)
    np.minimum.at(out, history.p_idx[m], history.p_day[m].astype(float))
    return out


def _rows(history: History, cut: int, label_days: int):
    """Per cut date t0 (newest first): (t0, customers, BG/NBD at t0, cycle at t0)."""
    first = history.first_day()
    out = []
    for k in range(MAX_CUTS):
        t0 = cut - label_days - k * CUT_STEP_DAYS
        if first is None or t0 < first + MIN_HISTORY_DAYS:
            break
        c = rt.Customers(matrix(history, t0))
        if c.rows.size:
            bg = fit_bgnbd([Dataset(history, t0)])
            out.append((t0, c, bg, project_cycle(history, t0)))
    return out


def _standardised(inputs: np.ndarray):
    scaler = StandardScaler().fit(inputs)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return scaler.mean_, scale, (inputs - scaler.mean_) / scale


def _params(mean, scale, coef, intercept, **extra) -> dict:
    return {
        "mean": [round(float(v), 8) for v in mean],
        "scale": [round(float(v), 8) for v in scale],
        "coef": [round(float(v), 8) for v in np.ravel(coef)],
        "intercept": round(float(np.ravel([intercept])[0]), 8),
        **extra,
    }


def _fit_churn(inputs, labels, C):
    mean, scale, Z = _standardised(inputs)
    model = LogisticRegression(C=C, max_iter=2000).fit(Z, labels)
    return _params(mean, scale, model.coef_, model.intercept_)


def _fit_next(inputs, log_days, alpha):
    mean, scale, Z = _standardised(inputs)
    model = QuantileRegressor(quantile=0.5, alpha=alpha, solver="highs").fit(Z, log_days)
    return _params(mean, scale, model.coef_, model.intercept_)


def _churn_set(cuts, history, label_days):
    X, y = [], []
    for t0, c, bg, cycle in cuts:
        X.append(rt.churn_matrix(c, bg, label_days, cycle)[1])
        bought = window_outcomes(history, t0, t0 + label_days)[0]
        y.append(~bought[c.rows])
    return np.vstack(X), np.concatenate(y)


def _next_set(cuts, history, limit):
    X, y = [], []
    for t0, c, bg, _ in cuts:
        if t0 >= limit:
            continue
        nxt = _next_purchase(history, t0, limit)[c.rows]
        keep = c.repeat & np.isfinite(nxt)
        X.append(rt.next_matrix(c, bg, limit - t0)[keep])
        y.append(np.log(nxt[keep] - t0 + 1))
    if not X:
        return np.zeros((0, len(rt.NEXT_FEATURES))), np.zeros(0)
    return np.vstack(X), np.concatenate(y)


def _sample(X, y, size, rng):
    if len(X) <= size:
        return X, y
    keep = rng.choice(len(X), size, replace=False)
    return X[keep], y[keep]


def _log_loss(y, p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def label_days_for(horizon: int, span_days: int) -> int:
    """The churn label window: the horizon if the data spans it with history to spare."""
    if span_days >= horizon + 2 * MIN_HISTORY_DAYS:
        return horizon
    return max(14, span_days // 3)


def fit(history: History, cut: int, churn_horizon: int = rt.DEFAULT_CHURN_HORIZON, seed=0) -> dict:
    """The retention parameters of a history before day number `cut` (as-of + 1)."""
    rng = np.random.default_rng(seed)
    first = history.first_day()
    if first is None:
        raise ValueError("there is no history")
    h = label_days_for(churn_horizon, cut - first)
    cuts = _rows(history, cut, h)
    if len(cuts) <= VALIDATION_CUTS:
        raise ValueError("too little history for a validation split in time")
    validation, older = cuts[:VALIDATION_CUTS], cuts[VALIDATION_CUTS:]
    v_start = validation[-1][0]
    train = [row for row in older if row[0] + h <= v_start]
    report = {}
    # churn: the regularisation with the lowest validation log loss
    Xt, yt = _sample(*_churn_set(train or older, history, h), MAX_CHURN_ROWS, rng)
    Xv, yv = _churn_set(validation, history, h)
    losses = {}
    for C in CHURN_C:
        p = rt.linear(_fit_churn(Xt, yt, C), Xv)[1]
        losses[C] = _log_loss(yv, 1 / (1 + np.exp(-p)))
    best_c = min(losses, key=losses.get)
    # the peer on the same rows: BG/NBD's own P(no purchase), the last input's logistic; and
    # the best share of the model in a blend with it (conversion blends; churn, measured on
    # CDNOW, gains nothing from it, so it is reported, not served)
    p_model = 1 / (1 + np.exp(-rt.linear(_fit_churn(Xt, yt, best_c), Xv)[1]))
    p_bg = 1 / (1 + np.exp(-Xv[:, -1]))
    shares = {w: _log_loss(yv, w * p_model + (1 - w) * p_bg) for w in np.linspace(0, 1, 11)}
    report["churn"] = {
        "C": best_c,
        "validation_log_loss": round(losses[best_c], 5),
        "bgnbd_validation_log_loss": round(shares[0.0], 5),
        "best_blend_share": round(float(min(shares, key=lambda w: (round(shares[w], 6), -w))), 1),
    }
    # next order: trained on orders seen before the validation cuts, judged on those after
    Xt, yt = _sample(*_next_set(older, history, v_start), MAX_NEXT_ROWS, rng)
    Xv, yv = _next_set(validation, history, cut)
    errors = {}
    for alpha in NEXT_ALPHA if len(Xt) >= 30 and len(Xv) else ():
        predicted = rt.linear(_fit_next(Xt, yt, alpha), Xv)[1]
        errors[alpha] = float(np.median(np.abs(np.exp(predicted) - np.exp(yv))))
    best_alpha = min(errors, key=errors.get) if errors else NEXT_ALPHA[-1]
    error = errors.get(best_alpha)
    report["next_order"] = {
        "alpha": best_alpha,
        "validation_median_abs_error_days": None if error is None else round(error, 2),
    }
    # refitted on every row with the chosen settings
    X, y = _sample(*_churn_set(cuts, history, h), MAX_CHURN_ROWS, rng)
    churn = _fit_churn(X, y, best_c)
    X, y = _sample(*_next_set(cuts, history, cut), MAX_NEXT_ROWS, rng)
    if len(X) < 30:
        raise ValueError(f"{len(X)} repeat orders to learn the next order from; need 30")
    next_order = _fit_next(X, y, best_alpha)
    next_order["window_days"] = SERVED_WINDOW_DAYS
    return {
        "horizon_days": churn_horizon,  # what churn risk is served for unless scoring asks
        "label_days": h,
        "cycle_days": project_cycle(history, cut),
        # the money the churn model learned from (it reads the average order)
        "order_value": _rounded(median_order_value((history, cut))),
        "churn": churn,
        "next_order": next_order,
        "choices": report,
        "rows": int(len(y)),
    }


def for_project(history: History, cut: int, churn_horizon: int = rt.DEFAULT_CHURN_HORIZON) -> dict:
    """A project's retention parameters (what training stores in a model's metadata): fitted on
    its own history; with too little of it for that, the default models served to it
    (`for_population`)."""
    try:
        return fit(history, cut, churn_horizon)
    except ValueError as exc:
        # a training is stored once, not re-derived at each rescore: its cycle from any gaps
        served = for_population(default_params(), history, cut, str(exc))
        return {**served, "cycle_days": project_cycle(history, cut)}


def for_population(
    params: dict, history: History, cut: int, why: str = "", previous: dict | None = None
) -> dict:
    """Parameters fitted on other data, served to a population: counted in its own purchase
    cycle (its stages and the churn model's cycles) once it has MIN_CYCLE_GAPS gaps between a
    customer's purchase days (fewer: the parameters' cycle; a median of a few gaps would move,
    and rewrite every profile, with each new order), reading its amounts at the scale the
    parameters learned (`money_scale`: its median order value over their `order_value`).
    `previous` (what this population was served until now) keeps each of the two while the
    new one stays within features.STEADY_TOLERANCE of it."""
    previous = previous or {}
    gaps = _gaps(history, cut)
    cycle = params["cycle_days"]
    if gaps.size >= MIN_CYCLE_GAPS:
        cycle = steady(float(np.median(gaps)), previous.get("cycle_days"))
    scale = money_scale_of(
        params.get("order_value"), (history, cut), previous=previous.get("money_scale")
    )
    read = [
        "the project's purchase cycle" if gaps.size >= MIN_CYCLE_GAPS else "",
        "the project's money scale" if scale != 1.0 else "",
    ]
    read = " and ".join(r for r in read if r)
    return {
        **params,
        "cycle_days": cycle,
        "money_scale": scale,
        "fitted_on": "the default parameters"
        + (f" with {read}" if read else ", as they are")
        + (f" ({why})" if why else ""),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@lru_cache(maxsize=1)
def default_params() -> dict:
    return json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def main() -> None:
    """Writes DEFAULT_PATH from the CDNOW calibration period (train_default.py's data)."""
    from . import transactions
    from .scoring import cut_of
    from .train_default import CDNOW, CDNOW_AS_OF

    rows = transactions.read_cdnow(CDNOW, before=CDNOW_AS_OF.fromordinal(cut_of(CDNOW_AS_OF)))
    _, behaviours = transactions.behaviours(rows)
    params = fit(History.from_behaviours(behaviours), cut_of(CDNOW_AS_OF))
    params["fitted_on"] = f"CDNOW sample, purchases up to {CDNOW_AS_OF.isoformat()}"
    DEFAULT_PATH.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(params["choices"]))


if __name__ == "__main__":
    main()
