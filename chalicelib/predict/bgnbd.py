"""BG/NBD (Fader, Hardie & Lee 2005), implemented from the paper with numpy/scipy.

The models use it for one thing: to carry predictions past the longest window the data can label
(see model.py). Time unit: weeks. A customer is summarised by x (repeat purchase days), t_x (weeks
from first to last purchase) and T (weeks from first purchase to the as-of date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from .features import History


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def _inverse_alive_odds(self, x, t_x, T):
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            term = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return 1 + np.where(x > 0, term, 0.0)

    def p_alive(self, x, t_x, T):
        return 1 / self._inverse_alive_odds(x, t_x, T)

    def expected_purchases(self, t, x, t_x, T):
        """E[purchases in (T, T + t]] given the history."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        numerator = (
            (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        )
        return numerator / self._inverse_alive_odds(x, t_x, T)

    def p_purchase(self, t, x, t_x, T):
        """P(at least one purchase in (T, T + t]): dead, or alive with no Poisson event."""
        alive = self.p_alive(x, t_x, T)
        return alive * (1 - ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x))


def _negative_log_likelihood(log_params, x, t_x, T, count=1.0):
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return -(ll * count).sum() + 1e-6 * np.sum(log_params**2)  # a whisper of ridge: finite


def fit(x, t_x, T) -> BGNBD:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    # the likelihood is a sum over customers of a function of (x, t_x, T): each distinct triple
    # is computed once and counted as often as it occurs (most customers share a few: one
    # purchase, whole days), which makes a fit on a large population several times cheaper
    triples, count = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    result = minimize(
        _negative_log_likelihood,
        np.zeros(4),
        args=(triples[:, 0], triples[:, 1], triples[:, 2], count.astype(float)),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6},
    )
    r, alpha, a, b = np.exp(result.x)
    return BGNBD(float(r), float(alpha), float(a), float(b))


def summary(history: History, as_of: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(is_customer, x, t_x, T) per profile from purchase days before `as_of`, in weeks."""
    m = history.p_day < as_of
    idx, day = history.p_idx[m], history.p_day[m].astype(float)
    n = history.n
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    if idx.size:
        np.minimum.at(first, idx, day)
        np.maximum.at(last, idx, day)
    days = np.bincount(idx, minlength=n)[:n] if idx.size else np.zeros(n)
    customer = days > 0
    x = np.where(customer, days - 1, 0).astype(float)
    t_x = np.where(customer, (last - first) / 7, 0.0)
    T = np.where(customer, (as_of - 1 - first) / 7, 0.0)  # to the last observed day
    return customer, x, t_x, T
