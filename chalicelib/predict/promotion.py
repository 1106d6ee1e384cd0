"""Backtests at the served horizons, and the rule that decides whether a candidate model replaces
the current one.

Rolling time folds: fold k judges the `days` ending k x `days` before the as-of cut (k = 0..FOLDS-1,
newest first). For each fold the candidate recipe is fit on the training profiles' history
before the fold's window (`fit_before(shift)`: data ending `shift` days before the cut), and the
candidate, the current model and the classic model (BG/NBD fitted on the same history before the
window, times each customer's mean spend per purchase day) score the test profiles as of the
window's start, each predicting for the window. Predictions of every fold are pooled; a paired
bootstrap over the pooled rows (the same resample for both models) gives 95 % intervals on each
difference. The classic model only knows customers: comparisons with it are over the rows of
profiles that had bought before the window.

The window is the served conversion horizon when the history holds FOLDS of them with
2 x MIN_HISTORY_DAYS to learn from before the oldest; otherwise it is shorter and the result says
so (`days` against `served`). Spend is judged over the same window: a 365-day CLV can rarely be
judged on a project's own data, and the result states the window it was judged on.

Promotion (`decide`): the candidate replaces the current model only when it is better on Brier
score and log loss (both differences below 0, and at least one 95 % interval entirely below 0)
and not worse on the normalised Gini of spend beyond the interval (the Gini difference's
interval reaches 0 or above). Too few folds or buyers is `insufficient_data`, with the reason.

Pure: numpy, scipy, scikit-learn.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np

from . import bgnbd, metrics
from .features import F, History, matrix, seen_before, window_outcomes
from .model import MIN_HISTORY_DAYS, InsufficientData, PredictiveModel

FOLDS = 3
BOOTSTRAP = 400
MIN_BUYERS_PER_FOLD = 10
GAINS_POINTS = 20
RELIABILITY_BINS = 10
# What a project needs for a model of its own (the model card checks a project against them).
MIN_PROFILES = 200
MIN_REPEAT_CUSTOMERS = 50  # customers with 2+ orders: what BG/NBD and the spend model learn from


def history_days_needed(conversion_horizon: int) -> int:
    """Days of history for FOLDS windows of the served horizon with 2 x MIN_HISTORY_DAYS of
    history to learn from before the oldest."""
    return FOLDS * conversion_horizon + 2 * MIN_HISTORY_DAYS


def window_days(span_days: int, conversion_horizon: int) -> int:
    """The judged window: the served horizon if the history holds FOLDS of them and time to
    learn before, else what fits (at least 14 days)."""
    if span_days >= history_days_needed(conversion_horizon):
        return conversion_horizon
    return max(14, (span_days - 2 * MIN_HISTORY_DAYS) // FOLDS)


CONVERSION_METRICS = {
    "auc": metrics.auc,
    "brier": metrics.brier,
    "log_loss": metrics.log_loss,
    "ece": metrics.expected_calibration_error,
}
SPEND_METRICS = {"gini": metrics.normalized_gini, "spend_ratio": metrics.spend_ratio}
COMPARED = ("auc", "brier", "log_loss", "gini")


@dataclass
class Pooled:
    """Every fold's test rows, stacked: outcomes, whether the profile was a customer, and each
    model's predictions (conversion probability, spend)."""

    bought: np.ndarray
    spend: np.ndarray
    customer: np.ndarray
    fold: np.ndarray
    predictions: dict[str, tuple[np.ndarray, np.ndarray]]


def classic_predictions(history_fit: History, history: History, t0: int, days: int):
    """BG/NBD fitted on `history_fit` before t0; for `history`'s profiles as of t0: P(a
    purchase within `days`) and expected spend (expected purchase days x the customer's mean
    spend per purchase day). NaN for profiles without a purchase before t0."""
    customer, x, t_x, T = bgnbd.summary(history_fit, t0)
    if customer.sum() >= 20:
        bg = bgnbd.fit(x[customer], t_x[customer], T[customer])
    else:
        bg = bgnbd.BGNBD(0.25, 4.0, 0.8, 2.5)
    customer, x, t_x, T = bgnbd.summary(history, t0)
    X = matrix(history, t0)
    t = days / 7
    with np.errstate(all="ignore"):
        p = np.where(customer, bg.p_purchase(t, x, t_x, T), np.nan)
        per_day = X[:, F["spend"]] / np.maximum(X[:, F["purchase_days"]], 1)
        spend = np.where(customer, bg.expected_purchases(t, x, t_x, T) * per_day, np.nan)
    return p, spend, customer


def pooled_folds(
    fit_before: Callable[[int], PredictiveModel],
    train_history: History,
    test_history: History,
    cut: int,
    days: int,
    current: PredictiveModel | None = None,
    folds: int = FOLDS,
) -> tuple[Pooled, list[dict]]:
    """Fit and score each fold; InsufficientData when a fold cannot be judged."""
    rows: dict[str, list] = {
        k: [] for k in ("bought", "spend", "customer", "fold", "cp", "cs", "kp", "ks", "bp", "bs")
    }
    described = []
    for k in range(folds):
        shift = (k + 1) * days
        t0 = cut - shift
        seen = seen_before(test_history, t0)
        model = fit_before(shift)
        out = model.predict(test_history, t0, days, days)
        bought, spend = window_outcomes(test_history, t0, t0 + days)
        if int(bought[seen].sum()) < MIN_BUYERS_PER_FOLD:
            raise InsufficientData(
                f"{int(bought[seen].sum())} buyers in the backtest window starting "
                f"{date.fromordinal(t0).isoformat()}; need {MIN_BUYERS_PER_FOLD}"
            )
        bp, bs, customer = classic_predictions(train_history, test_history, t0, days)
        if current is not None:
            kout = current.predict(test_history, t0, days, days)
            rows["kp"].append(kout["conversion"][seen])
            rows["ks"].append(kout["clv_predicted"][seen])
        rows["bought"].append(bought[seen])
        rows["spend"].append(spend[seen])
        rows["customer"].append(customer[seen])
        rows["fold"].append(np.full(int(seen.sum()), k))
        rows["cp"].append(out["conversion"][seen])
        rows["cs"].append(out["clv_predicted"][seen])
        rows["bp"].append(bp[seen])
        rows["bs"].append(bs[seen])
        described.append(
            {
                "window_start": date.fromordinal(t0).isoformat(),
                "profiles": int(seen.sum()),
                "buyers": int(bought[seen].sum()),
            }
        )
    stacked = {k: np.concatenate(v) for k, v in rows.items() if v}
    predictions = {
        "candidate": (stacked["cp"], stacked["cs"]),
        "classic": (stacked["bp"], stacked["bs"]),
    }
    if current is not None:
        predictions["current"] = (stacked["kp"], stacked["ks"])
    pooled = Pooled(
        stacked["bought"].astype(float),
        stacked["spend"],
        stacked["customer"],
        stacked["fold"],
        predictions,
    )
    return pooled, described


def figures(y: np.ndarray, spend: np.ndarray, p: np.ndarray, clv: np.ndarray) -> dict:
    p = np.nan_to_num(np.clip(p, 0, 1), nan=0.0)
    clv = np.nan_to_num(np.maximum(clv, 0), nan=0.0)
    out = {name: fn(y, p) for name, fn in CONVERSION_METRICS.items()}
    out.update({name: fn(spend, clv) for name, fn in SPEND_METRICS.items()})
    out = {k: _round(v) for k, v in out.items()}
    out["profiles"], out["buyers"] = int(len(y)), int(y.sum())
    return out


def paired_differences(
    y, spend, a: tuple, b: tuple, rng: np.random.Generator, n_boot: int = BOOTSTRAP
) -> dict:
    """Per compared metric: [a - b, 2.5 %, 97.5 %] over rows resampled with replacement."""
    pa, ca = (np.nan_to_num(v, nan=0.0) for v in a)
    pb, cb = (np.nan_to_num(v, nan=0.0) for v in b)

    def diffs(i):
        yi, si = y[i], spend[i]
        return [
            metrics.auc(yi, pa[i]) - metrics.auc(yi, pb[i]),
            metrics.brier(yi, pa[i]) - metrics.brier(yi, pb[i]),
            metrics.log_loss(yi, pa[i]) - metrics.log_loss(yi, pb[i]),
            metrics.normalized_gini(si, ca[i]) - metrics.normalized_gini(si, cb[i]),
        ]

    point = diffs(np.arange(len(y)))
    n = len(y)
    draws = np.array([diffs(rng.integers(0, n, n)) for _ in range(n_boot)])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric NaN in every draw stays NaN
        lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return {
        name: [_round(point[j]), _round(lo[j]), _round(hi[j])] for j, name in enumerate(COMPARED)
    }


def reliability(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Per equal-width probability bin with profiles: mean predicted, observed rate, count."""
    return [
        {"predicted": _round(mean), "observed": _round(observed), "profiles": n}
        for _, _, n, mean, observed in metrics.reliability_bins(y, p, bins)
    ]


def gains(y: np.ndarray, spend: np.ndarray, p: np.ndarray, clv: np.ndarray) -> list[dict]:
    """Cumulative gains: the share of buyers (ranked by conversion) and of spend (ranked by
    predicted spend) in the top share of profiles, at GAINS_POINTS steps."""
    n = len(y)
    by_p = np.cumsum(y[np.argsort(-np.nan_to_num(p, nan=0.0), kind="stable")])
    by_clv = np.cumsum(spend[np.argsort(-np.nan_to_num(clv, nan=0.0), kind="stable")])
    out = []
    for step in range(1, GAINS_POINTS + 1):
        share = step / GAINS_POINTS
        top = max(int(round(share * n)), 1) - 1
        out.append(
            {
                "profiles": _round(share),
                "buyers": _round(by_p[top] / max(by_p[-1], 1e-12)),
                "spend": _round(by_clv[top] / max(by_clv[-1], 1e-12)),
            }
        )
    return out


def backtest(
    fit_before: Callable[[int], PredictiveModel],
    train_history: History,
    test_history: History,
    cut: int,
    conversion_horizon: int,
    clv_horizon: int,
    current: PredictiveModel | None = None,
    seed: int = 0,
    n_boot: int = BOOTSTRAP,
    test_description: str = "",
) -> dict:
    """The candidate recipe judged on FOLDS rolling windows (see the module docstring)."""
    first = train_history.first_day()
    if first is None:
        raise InsufficientData("there is no history")
    span = cut - first
    days = window_days(span, conversion_horizon)
    if cut - FOLDS * days - first < 2 * MIN_HISTORY_DAYS:
        raise InsufficientData(
            f"{span} days of history; {FOLDS} backtest windows of {days} days need "
            f"{FOLDS * days + 2 * MIN_HISTORY_DAYS}"
        )
    pooled, folds = pooled_folds(fit_before, train_history, test_history, cut, days, current, FOLDS)
    rng = np.random.default_rng(seed)
    y, spend, cust = pooled.bought, pooled.spend, pooled.customer
    cand = pooled.predictions["candidate"]
    classic = pooled.predictions["classic"]
    result = {
        "folds": folds,
        "days": days,
        "served": {"conversion_days": conversion_horizon, "clv_days": clv_horizon},
        "judged": (
            f"conversion and spend within {days} days"
            + ("" if days == conversion_horizon else " (history too short for the served horizon)")
            + f", {FOLDS} rolling windows"
            + (f", {test_description}" if test_description else "")
        ),
        "bootstrap": n_boot,
        "models": {"candidate": figures(y, spend, *cand)},
        "customers": {
            "candidate": figures(y[cust], spend[cust], cand[0][cust], cand[1][cust]),
            "classic": figures(y[cust], spend[cust], classic[0][cust], classic[1][cust]),
        },
        "reliability": reliability(y, cand[0]),
        "gains": gains(y, spend, *cand),
    }
    if cust.sum() >= 2 * MIN_BUYERS_PER_FOLD and 0 < y[cust].sum() < cust.sum():
        result["differences"] = {
            "candidate_vs_classic": paired_differences(
                y[cust], spend[cust], _rows(cand, cust), _rows(classic, cust), rng, n_boot
            )
        }
    else:
        result["differences"] = {}
    if current is not None:
        now = pooled.predictions["current"]
        result["models"]["current"] = figures(y, spend, *now)
        result["customers"]["current"] = figures(y[cust], spend[cust], now[0][cust], now[1][cust])
        result["differences"]["candidate_vs_current"] = paired_differences(
            y, spend, cand, now, rng, n_boot
        )
        if "candidate_vs_classic" in result["differences"]:
            result["differences"]["current_vs_classic"] = paired_differences(
                y[cust], spend[cust], _rows(now, cust), _rows(classic, cust), rng, n_boot
            )
    return result


def card(result: dict, subject: str = "candidate") -> dict:
    """What a model card shows of a backtest, for the model `subject` of it: its figures, the
    classic model's on the same customers, the lift with intervals, reliability and gains
    (the last two only for the candidate, whose predictions they were computed from)."""
    out = {
        "judged": result["judged"],
        "days": result["days"],
        "served": result["served"],
        "folds": result["folds"],
        "bootstrap": result["bootstrap"],
        "model": result["models"][subject],
        "customers": {
            "model": result["customers"][subject],
            "classic": result["customers"]["classic"],
        },
        "lift_over_classic": result["differences"].get(f"{subject}_vs_classic"),
    }
    if subject == "candidate":
        out["reliability"] = result["reliability"]
        out["gains"] = result["gains"]
    return out


def decide(result: dict) -> tuple[str, str]:
    """(promoted | kept_current, reason) from a backtest with a current model."""
    d = result["differences"]["candidate_vs_current"]
    b, ll, g = ([np.nan if v is None else v for v in d[k]] for k in ("brier", "log_loss", "gini"))
    figures_text = (
        f"Brier {b[0]:+.4f} [{b[1]:+.4f}, {b[2]:+.4f}], log loss {ll[0]:+.4f} "
        f"[{ll[1]:+.4f}, {ll[2]:+.4f}], Gini {g[0]:+.4f} [{g[1]:+.4f}, {g[2]:+.4f}] "
        f"(candidate - current, 95 % paired bootstrap over {result['folds'][0]['profiles']}+ "
        f"profiles x {len(result['folds'])} windows)"
    )
    better = b[0] < 0 and ll[0] < 0 and (b[2] < 0 or ll[2] < 0)
    not_worse = not (g[2] < 0)  # NaN (no spend in a window) does not block
    if better and not_worse:
        return "promoted", "the candidate is better on Brier and log loss: " + figures_text
    if not better:
        return "kept_current", "the candidate is not better on Brier and log loss: " + figures_text
    return "kept_current", "the candidate ranks spend worse (Gini): " + figures_text


def _rows(pair: tuple, mask: np.ndarray) -> tuple:
    return pair[0][mask], pair[1][mask]


def _round(v: float, places: int = 4):
    v = float(v)
    return None if not np.isfinite(v) else round(v, places)
