"""BG/NBD's quantities for a batch of profiles, as the model's features and carries read them
(model.py): bgnbd.BGNBD's formulas, computed once per distinct customer summary."""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

from . import bgnbd
from .features import TRANSFORMED_NAN, History, transform


def bg_features(history: History, cut: int, days: int, bg: bgnbd.BGNBD) -> np.ndarray:
    return BGValues(bg, *bgnbd.summary(history, cut)).features(days)


class BGValues:
    """BG/NBD quantities of a batch (bgnbd.BGNBD's formulas, operation for operation, so the
    values are bit-identical to its methods; tests/test_predict_core.py checks that), computed:
    - for customers only: everyone else's are NaN in the features, and the carries use their
      own rule for them;
    - with what the quantities share computed once: P(alive) and each horizon's
      ((alpha + T) / (alpha + T + t)) ** (r + x), which BGNBD's methods each recompute;
    - in big batches, once per distinct (x, t_x, T): the formulas are elementwise, so a
      profile's values are those of its own row."""

    DEDUPE_FROM = 2048  # below this, sorting costs more than the hypergeometric calls it saves

    def __init__(self, bg: bgnbd.BGNBD, customer, x, t_x, T):
        self.bg, self.customer, self.n = bg, customer, len(customer)
        rows = np.flatnonzero(customer)
        cx, ct, cT = x[rows], t_x[rows], T[rows]
        self.inverse = None
        if rows.size >= self.DEDUPE_FROM:
            order = np.lexsort((cT, ct, cx))
            sx, st, sT = cx[order], ct[order], cT[order]
            new = np.r_[True, (sx[1:] != sx[:-1]) | (st[1:] != st[:-1]) | (sT[1:] != sT[:-1])]
            self.inverse = np.empty(rows.size, dtype=np.int64)
            self.inverse[order] = np.cumsum(new) - 1
            cx, ct, cT = sx[new], st[new], sT[new]
        self.x, self.T = cx, cT
        r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
        with np.errstate(all="ignore"):
            # BGNBD._inverse_alive_odds
            term = (a / (b + cx - 1)) * ((alpha + cT) / (alpha + ct)) ** (r + cx)
            self.inverse_alive_odds = 1 + np.where(cx > 0, term, 0.0)
            self.alive = 1 / self.inverse_alive_odds  # BGNBD.p_alive
        self._memo: dict = {}

    def _no_event(self, t):
        """((alpha + T) / (alpha + T + t)) ** (r + x): P(no Poisson purchase in t | alive)."""
        key = ("no_event", t)
        if key not in self._memo:
            bg, T = self.bg, self.T
            with np.errstate(all="ignore"):
                self._memo[key] = ((bg.alpha + T) / (bg.alpha + T + t)) ** (bg.r + self.x)
        return self._memo[key]

    def expected(self, t):
        """BGNBD.expected_purchases(t, x, t_x, T) of the distinct customers."""
        key = ("expected", t)
        if key not in self._memo:
            r, alpha, a, b = self.bg.r, self.bg.alpha, self.bg.a, self.bg.b
            x, T = self.x, self.T
            with np.errstate(all="ignore"):
                hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
                numerator = (a + b + x - 1) / (a - 1) * (1 - self._no_event(t) * hyp)
                self._memo[key] = numerator / self.inverse_alive_odds
        return self._memo[key]

    def purchase(self, t):
        """BGNBD.p_purchase(t, x, t_x, T) of the distinct customers."""
        key = ("purchase", t)
        if key not in self._memo:
            with np.errstate(all="ignore"):
                self._memo[key] = self.alive * (1 - self._no_event(t))
        return self._memo[key]

    def customers(self, values: np.ndarray) -> np.ndarray:
        """Per-customer values (in row order) from per-distinct values."""
        return values if self.inverse is None else values[self.inverse]

    def features(self, days: int) -> np.ndarray:
        """bg_features: expected purchases, P(alive), P(purchase) in `days`; NaN for visitors."""
        return self.features_scaled(days)[0]

    def features_scaled(self, days: int) -> tuple[np.ndarray, np.ndarray]:
        """The features and their transform(): elementwise, so computed on customers' rows
        only; everyone else's NaN scales to transform(NaN)."""
        weeks = days / 7
        values = self.customers(
            np.column_stack([self.expected(weeks), self.alive, self.purchase(weeks)])
        )
        out = np.full((self.n, 3), np.nan)
        out[self.customer] = values
        scaled = np.full((self.n, 3), TRANSFORMED_NAN)
        scaled[self.customer] = transform(values)
        return out, scaled
