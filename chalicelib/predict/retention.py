"""Retention fields of customers, from their purchase days: churn risk, the expected date of the
next order (with the expected gap), and the lifecycle stage. Pure: numpy only, no AWS.

Everything is read from the feature matrix scoring already builds (features.matrix: purchase
days, days since the first and last order, spend, orders) and the model's BG/NBD parameters,
and each quantity is relative to the project's own purchase cycle: the median number of days
between two purchase days of the same customer (`cycle_days`, measured when the parameters are
fitted, retention_fit.py).

- Churn risk: P(no purchase in the next N days) for customers with at least one order: a
  logistic regression on the customer's recency, frequency, tenure, average order, recency in
  cycles of the project and of the customer's own gaps, and BG/NBD's P(no purchase in the label
  window), fitted at weekly cut dates with the label window `label_days`; another horizon N is
  reached by BG/NBD's ratio of no-purchase probabilities (as model.py carries conversion).
- Next order: for repeat customers, the median number of days to the next order among customers
  like them who order again within `window_days`, by a median (quantile) regression on the log
  of the days ahead; `order_gap_days` is then the days from the last order to that date.
- Lifecycle stage: rules on the purchase days and the days since the last order counted in the
  project's cycles (STAGE_RULES; docs/predictive.md has the table and its transitions).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from .bgnbd import BGNBD
from .explain import CHURN_PHRASES, churn_reasons, next_order_reasons
from .features import F
from .fields import LIFECYCLE_STAGES

DEFAULT_CHURN_HORIZON = 90
STAGES = LIFECYCLE_STAGES
LOYAL_PURCHASE_DAYS = 4  # this many purchase days or more, recently: Loyal
ACTIVE_CYCLES = 2  # within this many cycles of the last order: New, Promising or Loyal
LAPSING_CYCLES = 4  # beyond ACTIVE_CYCLES and within this many: At risk (repeat) or One-time
LOST_CYCLES = 8  # beyond LAPSING_CYCLES: Sleeping; beyond this many: Lost
STAGE_RULES = (
    ("New", "1 purchase day, the last order at most 2 cycles ago"),
    ("Promising", "2-3 purchase days, the last order at most 2 cycles ago"),
    ("Loyal", "4 or more purchase days, the last order at most 2 cycles ago"),
    ("At risk", "2 or more purchase days, the last order 2-4 cycles ago"),
    ("One-time", "1 purchase day, the last order 2-4 cycles ago"),
    ("Sleeping", "any, the last order 4-8 cycles ago"),
    ("Lost", "any, the last order more than 8 cycles ago"),
)

CHURN_FEATURES = tuple(CHURN_PHRASES)  # the churn model's columns, each with its phrase
NEXT_FEATURES = ("order_gap", "days_since_last_order", "purchase_days", "window", "bg_median")


class Customers:
    """The purchase summary of a batch's customers (rows with a purchase day before the cut)."""

    def __init__(self, X: np.ndarray, money_scale: float = 1.0):
        # money_scale: the population's order value over the one the parameters learned from
        # (PredictiveModel.money_scale); the model reads the average order at its own scale
        self.money_scale = money_scale
        self.rows = np.flatnonzero(X[:, F["purchase_days"]] > 0)
        sub = X.take(self.rows, axis=0)  # one gather of the customers' rows, then columns
        self.days = sub[:, F["purchase_days"]]
        self.recency = sub[:, F["days_since_last_order"]]
        self.tenure = sub[:, F["days_since_first_order"]]
        self.aov = sub[:, F["spend"]] / np.maximum(sub[:, F["orders"]], 1)
        self.repeat = self.days >= 2
        with np.errstate(divide="ignore", invalid="ignore"):
            # the customer's own average days between purchase days (NaN for one purchase day)
            self.gap = np.where(self.repeat, (self.tenure - self.recency) / (self.days - 1), np.nan)

    def bg_summary(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BG/NBD's (x, t_x, T) in weeks, as bgnbd.summary gives them."""
        x = self.days - 1
        t_x = (self.tenure - self.recency) / 7
        T = (self.tenure - 1) / 7
        return x, t_x, T


def bg_no_purchase(bg: BGNBD, c: Customers, days: float) -> np.ndarray:
    """BG/NBD's P(no purchase in the next `days`)."""
    x, t_x, T = c.bg_summary()
    with np.errstate(all="ignore"):
        return 1 - bg.p_purchase(days / 7, x, t_x, T)


def bg_median_days(bg: BGNBD, c: Customers) -> np.ndarray:
    """BG/NBD's median days to the next purchase of a customer still alive: the t with
    ((alpha + T) / (alpha + T + t)) ** (r + x) = 1/2."""
    x, _, T = c.bg_summary()
    with np.errstate(all="ignore"):
        return 7 * (bg.alpha + T) * (2 ** (1 / (bg.r + x)) - 1)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _churn_columns(c: Customers, bg: BGNBD, label_days: int, cycle: float):
    """(raw values, model inputs) per customer, as lists of columns in CHURN_FEATURES order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(c.repeat, c.recency / c.gap, 0.0)
    own[~np.isfinite(own)] = 0.0
    no_purchase = bg_no_purchase(bg, c, label_days)
    raw = [c.recency, c.days, c.tenure, c.aov, c.recency / cycle, own, no_purchase]
    read = raw[:3] + [c.aov / c.money_scale] + raw[4:6]
    inputs = [np.log1p(np.maximum(v, 0)) for v in read]
    inputs.append(_logit(np.nan_to_num(no_purchase, nan=0.5)))
    return raw, inputs


def churn_matrix(
    c: Customers, bg: BGNBD, label_days: int, cycle: float
) -> tuple[np.ndarray, np.ndarray]:
    """(raw values, model inputs) per customer, columns as CHURN_FEATURES."""
    raw, inputs = _churn_columns(c, bg, label_days, cycle)
    return np.column_stack(raw), np.column_stack(inputs)


def _next_columns(c: Customers, bg: BGNBD, window) -> list[np.ndarray]:
    gap = np.where(c.repeat, c.gap, 1.0)
    median = np.nan_to_num(bg_median_days(bg, c), nan=10 * window, posinf=10 * window)
    return [
        np.log(np.maximum(gap, 1.0)),
        np.log1p(c.recency),
        np.log1p(c.days),
        np.log(np.broadcast_to(np.asarray(window, dtype=float), gap.shape)),
        np.log(np.clip(median, 1.0, 10 * window)),
    ]


def next_matrix(c: Customers, bg: BGNBD, window) -> np.ndarray:
    """Model inputs per customer (meaningful for repeat customers), columns as NEXT_FEATURES."""
    return np.column_stack(_next_columns(c, bg, window))


def linear(params: dict, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(standardised inputs, linear score) of stored standardise-then-linear parameters."""
    Z = (inputs - np.asarray(params["mean"])) / np.asarray(params["scale"])
    return Z, Z @ np.asarray(params["coef"]) + params["intercept"]


def _linear_columns(params: dict, columns: list[np.ndarray]) -> np.ndarray:
    """linear()'s score from columns, the standardisation folded into the weights (no matrix is
    built: scoring's hot path)."""
    score = np.full(len(columns[0]), float(params["intercept"]))
    for v, mean, scale, coef in zip(columns, params["mean"], params["scale"], params["coef"]):
        if coef:
            score += (v - mean) * (coef / scale)
    return score


def churn_probability(
    params: dict, c: Customers, bg: BGNBD, horizon: int, with_inputs: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(P(no purchase in `horizon` days), standardised inputs, raw values) per customer (the
    last two, which reasons read, None without with_inputs)."""
    h = int(params["label_days"])
    raw, inputs = _churn_columns(c, bg, h, float(params["cycle_days"]))
    at_h = raw[6]
    if with_inputs:
        raw, inputs = np.column_stack(raw), np.column_stack(inputs)
        Z, score = linear(params["churn"], inputs)
    else:
        score, Z = _linear_columns(params["churn"], inputs), None
    p = 1 / (1 + np.exp(-score))
    if horizon != h:  # BG/NBD's ratio of no-purchase probabilities carries h to the horizon
        with np.errstate(all="ignore"):
            ratio = bg_no_purchase(bg, c, horizon) / np.maximum(at_h, 1e-12)
        p = np.clip(p * np.nan_to_num(ratio, nan=1.0, posinf=1.0), 0, 1)
    return p, Z, (raw if with_inputs else None)


def next_order_days(params: dict, c: Customers, bg: BGNBD) -> np.ndarray:
    """Days from the as-of date to the expected next order (at least 1, whole days), per
    customer; NaN for customers with one purchase day."""
    window = float(params["next_order"]["window_days"])
    score = _linear_columns(params["next_order"], _next_columns(c, bg, window))
    days = np.clip(np.exp(score), 1, 10 * window)
    return np.where(c.repeat, np.round(days), np.nan)


def stages(purchase_days: np.ndarray, recency: np.ndarray, cycle: float) -> np.ndarray:
    """The lifecycle stage index (into STAGES) per customer: STAGE_RULES."""
    cycles = recency / cycle
    band = (cycles > ACTIVE_CYCLES).astype(np.intp)
    band += cycles > LAPSING_CYCLES
    band += cycles > LOST_CYCLES
    kind = (purchase_days >= 2).astype(np.intp)
    kind += purchase_days >= LOYAL_PURCHASE_DAYS
    return _STAGE_TABLE[band, kind]


_STAGE_TABLE = np.array(  # [cycles band, purchase days: 1 | 2-3 | 4+] -> index into STAGES
    [
        [STAGES.index(s) for s in row]
        for row in (
            ("New", "Promising", "Loyal"),
            ("One-time", "At risk", "At risk"),
            ("Sleeping", "Sleeping", "Sleeping"),
            ("Lost", "Lost", "Lost"),
        )
    ]
)


# --- the fields of a scored batch --------------------------------------------------------------


def fields(
    X: np.ndarray,
    bg: BGNBD,
    params: dict,
    as_of: int,
    horizon: int,
    with_reasons: bool = True,
    money_scale: float = 1.0,
) -> tuple[dict[str, list], dict[str, list]]:
    """The retention fields of a batch (a list per field, None where a profile has no value:
    churn risk and stage for customers, the next order for repeat customers) and, with_reasons,
    the reasons of the explained ones. `as_of` is the as-of date's day number."""
    n = len(X)
    c = Customers(X, money_scale)
    p, Z, raw = churn_probability(params, c, bg, horizon, with_reasons)
    churn = np.full(n, None, dtype=object)
    churn[c.rows] = np.round(100 * p, 1).tolist()
    names = np.array(STAGES + (None,), dtype=object)
    stage = np.full(n, len(STAGES))
    stage[c.rows] = stages(c.days, c.recency, float(params["cycle_days"]))
    repeat = _subset(c, c.repeat)  # the next order: repeat customers only
    days = next_order_days(params, repeat, bg).astype(np.int64)
    dates = np.full(n, None, dtype=object)
    gap = np.full(n, None, dtype=object)
    if repeat.rows.size:
        distinct, inverse = np.unique(as_of + days, return_inverse=True)
        iso = np.array([_iso(d) for d in distinct.tolist()], dtype=object)
        dates[repeat.rows] = iso[inverse]
        gap[repeat.rows] = (days + repeat.recency - 1).astype(float).tolist()
    values = {
        "churn_risk": churn.tolist(),
        "lifecycle_stage": names[stage].tolist(),
        "next_order_at": dates.tolist(),
        "next_order_gap_days": gap.tolist(),
    }
    if not with_reasons:
        return values, {}
    churn_why = [[] for _ in range(n)]
    for i, r in zip(c.rows.tolist(), churn_reasons(Z, params["churn"]["coef"], raw)):
        churn_why[i] = r
    next_why = [[] for _ in range(n)]
    for i, r in zip(repeat.rows.tolist(), next_order_reasons(repeat)):
        next_why[i] = r
    return values, {"churn_risk": churn_why, "next_order_at": next_why}


def _subset(c: Customers, keep: np.ndarray) -> Customers:
    out = Customers.__new__(Customers)
    for name in ("days", "recency", "tenure", "aov", "repeat", "gap"):
        setattr(out, name, getattr(c, name)[keep])
    out.rows, out.money_scale = c.rows[keep], c.money_scale
    return out


@lru_cache(maxsize=8192)
def _iso(day: int) -> str:
    return date.fromordinal(day).isoformat()
