"""Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"), implemented from the paper with numpy
and scipy: what a customer's purchase day is worth, from the mean of their own days shrunk
towards the population's.

A customer's day values are Gamma(p, nu), nu ~ Gamma(q, gamma) across customers; with n priced
purchase days of mean m, E[value | n, m] = (gamma + n m) p / (p n + q - 1). The spend blend
(blend.py) multiplies it by BG/NBD's expected purchase days: the classic CLV model, fitted on
the population itself, beside the spend pipeline. Values are in the population's own money.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from .features import History, day_values

MIN_CUSTOMERS = 20
# Its three parameters are the population's: a fixed sample of this many customers estimates
# them as well (and a rescore of a million customers fits four times)
MAX_FIT_CUSTOMERS = 50_000
# q - 1 below this: the population's mean day value p gamma / (q - 1) is unbounded in effect
# (prices spread over orders of magnitude); no fit, so the spend pipeline serves alone
MIN_Q_MINUS_1 = 0.05


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float  # > 1, so the population's mean day value p gamma / (q - 1) exists
    gamma: float

    def expected_value(self, n: np.ndarray, m: np.ndarray) -> np.ndarray:
        """E[a purchase day's value] of customers with n priced days of mean m (n = 0: the
        population's mean)."""
        return (self.gamma + n * m) * self.p / (self.p * n + self.q - 1)

    def as_dict(self) -> dict:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


def _negative_log_likelihood(log_params, n, m):
    p, q_minus_1, gamma = np.exp(log_params)
    q = q_minus_1 + 1
    pn = p * n
    ll = (
        gammaln(pn + q)
        - gammaln(pn)
        - gammaln(q)
        + q * np.log(gamma)
        + (pn - 1) * np.log(m)
        + pn * np.log(n)
        - (pn + q) * np.log(gamma + m * n)
    )
    return -float(np.mean(ll))


def fit(n: np.ndarray, m: np.ndarray) -> GammaGamma | None:
    """Maximum likelihood over customers with a priced day (at most MAX_FIT_CUSTOMERS of them,
    drawn with a fixed seed); None with fewer than MIN_CUSTOMERS, without a finite optimum, or
    with q - 1 below MIN_Q_MINUS_1. Amounts are read relative to their median (the fit is then
    the same in any currency), then put back."""
    keep = (n > 0) & (m > 0) & np.isfinite(m)
    if keep.sum() < MIN_CUSTOMERS:
        return None
    n, m = n[keep], m[keep]
    if n.size > MAX_FIT_CUSTOMERS:
        order = np.lexsort((m, n))  # the same customers in any order draw the same sample
        n, m = n[order], m[order]
        sample = np.random.default_rng(0).choice(n.size, MAX_FIT_CUSTOMERS, replace=False)
        n, m = n[sample], m[sample]
    unit = float(np.median(m))
    result = minimize(
        _negative_log_likelihood,
        x0=np.log([2.0, 2.0, 2.0]),
        args=(n, m / unit),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-9},
    )
    p, q_minus_1, gamma = np.exp(result.x)
    if not (np.isfinite(result.fun) and np.all(np.isfinite([p, q_minus_1, gamma]))):
        return None
    if q_minus_1 < MIN_Q_MINUS_1:
        return None
    return GammaGamma(float(p), float(q_minus_1 + 1), float(gamma * unit))


def fit_history(history: History, cut: int) -> GammaGamma | None:
    """`fit` on the profiles' priced purchase days before `cut` (features.day_values)."""
    return fit(*day_values(history, cut))


def classic_spend(gg: GammaGamma, bgv, history: History, cut: int, days: int) -> np.ndarray:
    """BG/NBD's expected purchase days within `days` x Gamma-Gamma's value of a day, for the
    customers of `bgv` (bg_values.BGValues of the profiles at `cut`), in their row order."""
    n, m = day_values(history, cut)
    c = bgv.customer
    with np.errstate(all="ignore"):
        return bgv.customers(bgv.expected(days / 7)) * gg.expected_value(n[c], m[c])
