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
from .bg_values import BGValues, bg_features
from .features import (
    FEATURES,
    MONEY_COLUMNS,
    F,
    History,
    matrix,
    median_order_value,
    seen_before,
    transform,
    window_outcomes,
)
from .gamma_gamma import GammaGamma, classic_spend
from .linear_arithmetic import standardise_and_predict

MIN_HISTORY_DAYS = 28
CUT_STEP_DAYS = 7
MAX_CUTS = 26
MAX_TRAINING_ROWS = 400_000
BG_FEATURES = ("bg_expected_purchases", "bg_p_alive", "bg_p_purchase")
MODEL_FEATURES = FEATURES + BG_FEATURES
# A model without a recorded prior: a low purchase rate and no spend, stated as a prior.
PRIOR_FALLBACK = {
    "conversion": 0.01,
    "conversion_label_days": 30,
    "spend": 0.0,
    "clv_label_days": 30,
    "rows": 0,
}


class InsufficientData(Exception):
    """Too little history to train on: a clear status, not a bad model."""


@dataclass
class Dataset:
    """One population's history and the day number its data ends before (as-of + 1 day)."""

    history: History
    cut: int
    name: str = ""
    # True for generated visitors: they teach web behaviour up to a first purchase only; their
    # rows as customers and their purchases train nothing (no synthetic buyer shapes what a
    # real customer's history predicts, nor the BG/NBD served with the model)
    visitors_only: bool = False


def model_matrix(history: History, cut: int, days: int, bg: bgnbd.BGNBD) -> np.ndarray:
    return np.hstack([matrix(history, cut), bg_features(history, cut, days, bg)])


def label_days_for(horizon: int, span_days: int) -> int:
    """The label window: the horizon if the data spans it with history to spare, else a third
    of the span (so features keep two thirds), at least 14 days."""
    if span_days >= horizon + 2 * MIN_HISTORY_DAYS:
        return horizon
    return max(14, span_days // 3)


def fit_bgnbd(datasets: list[Dataset], cut_shift: int = 0) -> bgnbd.BGNBD:
    parts = [bgnbd.summary(d.history, d.cut - cut_shift) for d in datasets if not d.visitors_only]
    if not parts:
        return bgnbd.BGNBD(0.25, 4.0, 0.8, 2.5)
    c = np.concatenate([p[0] for p in parts])
    x, t_x, T = (np.concatenate([p[i] for p in parts])[c] for i in (1, 2, 3))
    if c.sum() < 20:
        return bgnbd.BGNBD(0.25, 4.0, 0.8, 2.5)  # too few buyers: a weak, typical prior
    return bgnbd.fit(x, t_x, T)


def training_rows(
    datasets: list[Dataset],
    days: int,
    rng: np.random.Generator,
    max_cuts: int | None = None,
    with_lags: bool = False,
):
    """Stacked (X, bought, spend) rows at weekly cuts before each dataset's as-of date; with
    `with_lags`, also each row's lag: how many days before its dataset's cut its label ends."""
    X, bought, spend, lags = [], [], [], []
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
            bg = fit_bgnbd([Dataset(d.history, t0, visitors_only=d.visitors_only)])
            rows = model_matrix(d.history, t0, days, bg)
            if d.visitors_only:
                seen &= ~(rows[:, F["orders"]] > 0)
            X.append(rows[seen])
            b, s = window_outcomes(d.history, t0, t0 + days)
            bought.append(b[seen])
            spend.append(s[seen])
            lags.append(np.full(int(seen.sum()), k * CUT_STEP_DAYS))
    if not X:
        raise InsufficientData("no cut date has enough history before it")
    X, bought, spend = np.vstack(X), np.concatenate(bought), np.concatenate(spend)
    lag = np.concatenate(lags)
    if len(X) > MAX_TRAINING_ROWS:
        keep = rng.choice(len(X), MAX_TRAINING_ROWS, replace=False)
        X, bought, spend, lag = X[keep], bought[keep], spend[keep], lag[keep]
    return (X, bought, spend, lag) if with_lags else (X, bought, spend)


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
    # What a profile with no behaviour at all gets: the training rows' purchase rate and mean
    # spend in the label windows (no evidence, so the population's level, never a confident
    # score); PRIOR_FALLBACK for models saved before the prior was recorded.
    prior: dict | None = None
    # The pipeline's share of a customer's conversion probability against BG/NBD's, and how it
    # was chosen (predict/blend.py); None: the pipeline alone (models saved before the blend).
    conversion_blend: dict | None = None
    # The served population's order value over the one the pipelines learned from
    # (training.for_population): amounts go in at the training's scale and spend comes out at
    # the population's, so a shop with other prices or another currency reads as an equal one.
    money_scale: float = 1.0
    # The spend pipeline's share of a customer's spend within the CLV label window against
    # BG/NBD x Gamma-Gamma fitted on the served population, with that Gamma-Gamma (blend.py,
    # chosen at rescore for pipelines trained elsewhere); None: the pipeline alone.
    spend_blend: dict | None = None

    @property
    def blend_weight(self) -> float:
        return float((self.conversion_blend or {}).get("weight", 1.0))

    @property
    def spend_blend_weight(self) -> float:
        return float((self.spend_blend or {}).get("weight", 1.0))

    def prior_scores(self, conversion_horizon: int, clv_horizon: int) -> tuple[float, float]:
        """(P(purchase within conversion_horizon), spend within clv_horizon) of a profile with
        no evidence: the prior's rates carried from its windows at a constant hazard."""
        prior = self.prior or PRIOR_FALLBACK
        p = min(max(float(prior["conversion"]), 0.0), 1.0)
        p_h = 1 - (1 - p) ** (conversion_horizon / prior["conversion_label_days"])
        spend = max(float(prior["spend"]), 0.0) * clv_horizon / prior["clv_label_days"]
        spend *= self.money_scale
        return float(p_h), float(spend)

    def predict(
        self,
        history: History,
        cut: int,
        conversion_horizon: int | None = None,
        clv_horizon: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Per profile: conversion probability within the conversion horizon, predicted spend
        within the CLV horizon (the model's own horizons unless others are asked for), and the
        feature matrix explanations use."""
        out = self.predict_arrays(history, cut, conversion_horizon, clv_horizon)
        return {k: out[k] for k in ("features", "customer", "conversion", "clv_predicted")}

    def predict_arrays(
        self,
        history: History,
        cut: int,
        conversion_horizon: int | None = None,
        clv_horizon: int | None = None,
    ) -> dict[str, np.ndarray]:
        """`predict`, plus what explanations read: each model's feature matrix (`conversion_X`,
        `clv_X`) and its standardised log-scaled matrix (`conversion_Z`, `clv_Z`). Every BG/NBD
        quantity and log scaling is computed once."""
        base = matrix(history, cut)
        customer, x, t_x, T = bgnbd.summary(history, cut)
        bgv = BGValues(self.bg, customer, x, t_x, T)
        out = {"features": base, "customer": customer}
        if self.money_scale == 1.0:
            base_t = transform(base)
        else:
            base_t = base.copy()
            base_t[:, MONEY_COLUMNS] /= self.money_scale
            base_t = transform(base_t)
        h, H = self.conversion_label_days, conversion_horizon or self.conversion_horizon
        bg_c, bg_ct = bgv.features_scaled(h)
        # log scaling is elementwise: scaling the blocks is scaling the stacked matrix
        Xc, Xtc = np.hstack([base, bg_c]), np.hstack([base_t, bg_ct])
        h_v = self.clv_label_days
        Zc, p_h = standardise_and_predict(
            self.conversion, Xtc, probability=True, inplace=h_v != self.conversion_label_days
        )
        weight = self.blend_weight
        if weight < 1.0:
            # bg_c's last column is BG/NBD's P(purchase within h): NaN for non-customers
            p_h = p_h.copy()
            p_h[customer] = weight * p_h[customer] + (1 - weight) * bg_c[customer, 2]
        out["conversion"] = self._carry_probability(p_h, h, H, bgv)
        out["conversion_X"], out["conversion_Z"] = Xc, Zc
        h, H = self.clv_label_days, clv_horizon or self.clv_horizon
        if h == self.conversion_label_days:
            Xv, Xtv = Xc, Xtc
        else:
            bg_v, bg_vt = bgv.features_scaled(h)
            Xv, Xtv = np.hstack([base, bg_v]), np.hstack([base_t, bg_vt])
        Zv, spend_h = standardise_and_predict(self.clv, Xtv, probability=False, inplace=True)
        spend_h = spend_h * self.money_scale
        if self.spend_blend_weight < 1.0:
            spend_h = self._blend_spend(spend_h, history, cut, h, bgv)
        out["clv_predicted"] = self._carry_spend(spend_h, h, H, bgv)
        out["clv_X"], out["clv_Z"] = Xv, Zv
        return out

    def _blend_spend(self, spend_h, history: History, cut: int, h: int, bgv: BGValues):
        """w x the pipeline's spend + (1 - w) x BG/NBD's expected purchase days in h x
        Gamma-Gamma's value of a day, for customers (in the population's own money)."""
        w, gg = self.spend_blend["weight"], GammaGamma(**self.spend_blend["gamma_gamma"])
        out = spend_h.copy()
        c = bgv.customer
        out[c] = w * spend_h[c] + (1 - w) * classic_spend(gg, bgv, history, cut, h)
        return out

    def _carry_probability(self, p_h, h, H, bgv: BGValues):
        """From P(purchase within h days) to within H days (H longer or shorter than h)."""
        if H == h:
            return p_h
        with np.errstate(all="ignore"):
            # customers: BG/NBD's ratio of no-purchase probabilities; visitors: constant hazard
            tail = np.maximum(1 - p_h, 1e-12) ** (H / h - 1)
            no_h = 1 - bgv.purchase(h / 7)
            no_H = 1 - bgv.purchase(H / 7)
            tail[bgv.customer] = bgv.customers(no_H / np.maximum(no_h, 1e-12))
        return np.clip(1 - (1 - p_h) * tail, 0, 1)

    def _carry_spend(self, spend_h, h, H, bgv: BGValues):
        """From spend within h days to within H days."""
        if H == h:
            return spend_h
        with np.errstate(all="ignore"):
            e_h = bgv.expected(h / 7)
            e_H = bgv.expected(H / 7)
            # visitors who never bought: a constant purchase rate (documented as an upper bound)
            ratio = np.full(len(spend_h), H / h)
            ratio[bgv.customer] = bgv.customers(e_H / np.maximum(e_h, 1e-12))
        return spend_h * np.clip(np.nan_to_num(ratio, nan=H / h), 0, max(1.0, H / h))


def fit(
    datasets: list[Dataset], conversion_horizon: int = 30, clv_horizon: int = 365, seed: int = 0
) -> PredictiveModel:
    """Train on the datasets' history before their as-of dates; the conversion blend's weight is
    chosen on later time folds of the same rows (predict/blend.py)."""
    from . import blend  # blend judges PredictiveModels: imported here, not at the top

    rng = np.random.default_rng(seed)
    spans = [d.cut - d.history.first_day() for d in datasets if d.history.first_day() is not None]
    if not spans:
        raise InsufficientData("there is no history")
    h_conv = label_days_for(conversion_horizon, max(spans))
    h_clv = label_days_for(clv_horizon, max(spans))
    X, bought, spend, lag = conversion_rows = training_rows(datasets, h_conv, rng, with_lags=True)
    conversion = conversion_pipeline(X, bought)
    prior = {"conversion": round(float(bought.mean()), 6), "conversion_label_days": h_conv}
    if h_clv != h_conv:
        X, bought, spend = training_rows(datasets, h_clv, rng)
    clv = Pipeline(
        [("scale", StandardScaler()), ("model", PoissonRegressor(alpha=1e-3, max_iter=3000))]
    )
    clv.fit(transform(X), spend)
    prior.update(spend=round(float(spend.mean()), 4), clv_label_days=h_clv, rows=len(X))
    # the money the pipelines learned from: a population served elsewhere is read at its scale
    order_value = median_order_value(*((d.history, d.cut) for d in datasets if not d.visitors_only))
    if order_value is not None:
        prior["order_value"] = round(order_value, 4)
    bg = fit_bgnbd(datasets)
    model = PredictiveModel(
        conversion, clv, bg, conversion_horizon, clv_horizon, h_conv, h_clv, prior=prior
    )
    model.conversion_blend = blend.choose_for_training(model, datasets, *conversion_rows)
    return model


def conversion_pipeline(X: np.ndarray, bought: np.ndarray) -> Pipeline:
    """The conversion recipe: logistic regression on standardised log-scaled features."""
    if bought.sum() < 30 or (~bought).sum() < 30:
        raise InsufficientData(f"{int(bought.sum())} purchases in the label windows; need 30")
    conversion = Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(C=0.5, max_iter=3000))]
    )
    return conversion.fit(transform(X), bought)
