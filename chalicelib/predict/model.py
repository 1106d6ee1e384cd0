"""The predictive model: conversion potential and predicted spend, trained with a time split.

Training rows are profiles as of past cut dates T0 (weekly, going back from the as-of date):
features from days before T0, labels from the `label_days` after it. Nothing after the as-of date
is read, and no row's features see its own label window.

- Conversion: logistic regression on log-scaled features (calibrated by its log loss) for
  P(purchase within label_days). Spend: Poisson regression of the spend within label_days.
- When the data is too short to label the requested horizon H directly (H > label_days, e.g. a
  365-day CLV on 9 months of history), predictions are carried from label_days to H with the
  BG/NBD model fitted on the same data: for customers, P(no purchase in H) = P(no purchase in h) x
  BG/NBD's P(no purchase in H) / P(no purchase in h), and spend(H) = spend(h) x BG/NBD's
  E[purchases in H] / E[purchases in h]; for visitors without a purchase, a constant hazard.
- BG/NBD's own expectations are also features (the ML model learns when to trust them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from . import bgnbd
from .features import FEATURES, History, matrix, seen_before, window_outcomes

MIN_HISTORY_DAYS = 28
CUT_STEP_DAYS = 7
MAX_CUTS = 26
MAX_TRAINING_ROWS = 400_000
BG_FEATURES = ("bg_expected_purchases", "bg_p_alive", "bg_p_purchase")
MODEL_FEATURES = FEATURES + BG_FEATURES


class InsufficientData(Exception):
    """Too little history to train on: a clear status, not a bad model."""


@dataclass
class Dataset:
    """One population's history and the day number its data ends before (as-of + 1 day)."""
    history: History
    cut: int
    name: str = ""


def transform(X: np.ndarray) -> np.ndarray:
    """Counts and amounts are heavy-tailed: log-scale them; a missing value becomes -1 before."""
    Z = np.nan_to_num(X, nan=-1.0)
    return np.sign(Z) * np.log1p(np.abs(Z))


def bg_features(history: History, cut: int, days: int, bg: bgnbd.BGNBD) -> np.ndarray:
    customer, x, t_x, T = bgnbd.summary(history, cut)
    weeks = days / 7
    with np.errstate(all="ignore"):
        expected = bg.expected_purchases(weeks, x, t_x, T)
        alive = bg.p_alive(x, t_x, T)
        purchase = bg.p_purchase(weeks, x, t_x, T)
    out = np.column_stack([expected, alive, purchase])
    out[~customer] = np.nan
    return out


def model_matrix(history: History, cut: int, days: int, bg: bgnbd.BGNBD) -> np.ndarray:
    return np.hstack([matrix(history, cut), bg_features(history, cut, days, bg)])


def label_days_for(horizon: int, span_days: int) -> int:
    """The label window: the horizon if the data spans it with history to spare, else a third
    of the span (so features keep two thirds), at least 14 days."""
    if span_days >= horizon + 2 * MIN_HISTORY_DAYS:
        return horizon
    return max(14, span_days // 3)


def fit_bgnbd(datasets: list[Dataset], cut_shift: int = 0) -> bgnbd.BGNBD:
    parts = [bgnbd.summary(d.history, d.cut - cut_shift) for d in datasets]
    c = np.concatenate([p[0] for p in parts])
    x, t_x, T = (np.concatenate([p[i] for p in parts])[c] for i in (1, 2, 3))
    if c.sum() < 20:
        return bgnbd.BGNBD(0.25, 4.0, 0.8, 2.5)  # too few buyers: a weak, typical prior
    return bgnbd.fit(x, t_x, T)


def training_rows(datasets: list[Dataset], days: int, rng: np.random.Generator,
                  max_cuts: int | None = None):
    """Stacked (X, bought, spend) rows at weekly cuts before each dataset's as-of date."""
    X, bought, spend = [], [], []
    max_cuts = max_cuts or MAX_CUTS
    for d in datasets:
        first = d.history.first_day()
        if first is None:
            continue
        for k in range(max_cuts):
            t0 = d.cut - days - k * CUT_STEP_DAYS
            if t0 < first + MIN_HISTORY_DAYS:
                break
            seen = seen_before(d.history, t0)
            if not seen.any():
                continue
            bg = fit_bgnbd([Dataset(d.history, t0)])
            X.append(model_matrix(d.history, t0, days, bg)[seen])
            b, s = window_outcomes(d.history, t0, t0 + days)
            bought.append(b[seen])
            spend.append(s[seen])
    if not X:
        raise InsufficientData("no cut date has enough history before it")
    X, bought, spend = np.vstack(X), np.concatenate(bought), np.concatenate(spend)
    if len(X) > MAX_TRAINING_ROWS:
        keep = rng.choice(len(X), MAX_TRAINING_ROWS, replace=False)
        X, bought, spend = X[keep], bought[keep], spend[keep]
    return X, bought, spend


@dataclass
class PredictiveModel:
    conversion: Pipeline
    clv: Pipeline
    bg: bgnbd.BGNBD
    conversion_horizon: int
    clv_horizon: int
    conversion_label_days: int
    clv_label_days: int
    metadata: dict = field(default_factory=dict)

    def predict(self, history: History, cut: int, conversion_horizon: int | None = None,
                clv_horizon: int | None = None) -> dict[str, np.ndarray]:
        """Per profile: conversion probability within the conversion horizon, predicted spend
        within the CLV horizon (the model's own horizons unless others are asked for), and the
        feature matrix explanations use."""
        base = matrix(history, cut)
        customer, x, t_x, T = bgnbd.summary(history, cut)
        out = {"features": base, "customer": customer}
        h, H = self.conversion_label_days, conversion_horizon or self.conversion_horizon
        Xc = np.hstack([base, bg_features(history, cut, h, self.bg)])
        p_h = self.conversion.predict_proba(transform(Xc))[:, 1]
        out["conversion"] = self._carry_probability(p_h, h, H, customer, x, t_x, T)
        h, H = self.clv_label_days, clv_horizon or self.clv_horizon
        Xv = Xc if h == self.conversion_label_days else np.hstack(
            [base, bg_features(history, cut, h, self.bg)])
        spend_h = self.clv.predict(transform(Xv))
        out["clv_predicted"] = self._carry_spend(spend_h, h, H, customer, x, t_x, T)
        return out

    def _carry_probability(self, p_h, h, H, customer, x, t_x, T):
        """From P(purchase within h days) to within H days (H longer or shorter than h)."""
        if H == h:
            return p_h
        with np.errstate(all="ignore"):
            no_h = 1 - self.bg.p_purchase(h / 7, x, t_x, T)
            no_H = 1 - self.bg.p_purchase(H / 7, x, t_x, T)
            # customers: BG/NBD's ratio of no-purchase probabilities; visitors: constant hazard
            tail = np.where(customer, no_H / np.maximum(no_h, 1e-12),
                            np.maximum(1 - p_h, 1e-12) ** (H / h - 1))
        return np.clip(1 - (1 - p_h) * tail, 0, 1)

    def _carry_spend(self, spend_h, h, H, customer, x, t_x, T):
        """From spend within h days to within H days."""
        if H == h:
            return spend_h
        with np.errstate(all="ignore"):
            e_h = self.bg.expected_purchases(h / 7, x, t_x, T)
            e_H = self.bg.expected_purchases(H / 7, x, t_x, T)
            # visitors who never bought: a constant purchase rate (documented as an upper bound)
            ratio = np.where(customer, e_H / np.maximum(e_h, 1e-12), H / h)
        return spend_h * np.clip(np.nan_to_num(ratio, nan=H / h), 0, max(1.0, H / h))


def fit(datasets: list[Dataset], conversion_horizon: int = 30, clv_horizon: int = 365,
        seed: int = 0) -> PredictiveModel:
    """Train on the datasets' history before their as-of dates."""
    rng = np.random.default_rng(seed)
    spans = [d.cut - d.history.first_day() for d in datasets if d.history.first_day() is not None]
    if not spans:
        raise InsufficientData("there is no history")
    span = max(spans)
    h_conv = label_days_for(conversion_horizon, span)
    h_clv = label_days_for(clv_horizon, span)
    X, bought, spend = training_rows(datasets, h_conv, rng)
    if bought.sum() < 30 or (~bought).sum() < 30:
        raise InsufficientData(f"{int(bought.sum())} purchases in the label windows; need 30")
    conversion = Pipeline([("scale", StandardScaler()),
                           ("model", LogisticRegression(C=0.5, max_iter=3000))])
    conversion.fit(transform(X), bought)
    if h_clv != h_conv:
        X, bought, spend = training_rows(datasets, h_clv, rng)
    clv = Pipeline([("scale", StandardScaler()),
                    ("model", PoissonRegressor(alpha=1e-3, max_iter=3000))])
    clv.fit(transform(X), spend)
    return PredictiveModel(conversion, clv, fit_bgnbd(datasets), conversion_horizon, clv_horizon,
                           h_conv, h_clv)
