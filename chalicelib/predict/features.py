"""Features of profiles as of a date, built from the day-by-day history on each profile
(`behaviour.purchases`, `behaviour.activity`). Only days before the as-of date are read, so a
model trained on features at an earlier date never sees what came after it.

Vectorised: profiles are flattened once into arrays of (profile, day, counts), and every
feature is a masked bincount over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

FEATURES = (
    "orders", "purchase_days", "spend", "avg_order_value", "days_since_last_order",
    "days_since_first_order", "orders_90d", "spend_90d", "days_since_first_seen",
    "days_since_last_seen", "active_days", "sessions", "sessions_30d", "sessions_90d",
    "page_views_30d", "product_views_30d", "add_to_cart_30d", "add_to_cart", "discount_share",
    "has_web_activity", "page_views", "discount_interactions",
)
F = {name: i for i, name in enumerate(FEATURES)}


@lru_cache(maxsize=200_000)
def day_number(day: str) -> int:
    return date.fromisoformat(day[:10]).toordinal()


@dataclass
class History:
    """Every profile's day-by-day history as flat arrays (one row per profile-day)."""
    n: int
    p_idx: np.ndarray    # purchases: profile index
    p_day: np.ndarray    # day number
    p_orders: np.ndarray
    p_amount: np.ndarray
    a_idx: np.ndarray    # activity: profile index
    a_day: np.ndarray
    a_counts: np.ndarray  # (rows, 5): sessions, page views, product views, carts, discounts

    @classmethod
    def from_behaviours(cls, behaviours: list[dict]) -> "History":
        p_idx, p_day, p_values = [], [], []
        a_idx, a_day, a_counts = [], [], []
        for i, b in enumerate(behaviours):
            purchases = b.get("purchases")
            if purchases:
                p_idx.extend([i] * len(purchases))
                p_day.extend(map(day_number, purchases))
                p_values.extend(purchases.values())
            activity = b.get("activity")
            if activity:
                a_idx.extend([i] * len(activity))
                a_day.extend(map(day_number, activity))
                a_counts.extend(activity.values())
        purchases = np.array(p_values, dtype=np.float64).reshape(-1, 2)
        return cls(len(behaviours), np.array(p_idx, dtype=np.int64),
                   np.array(p_day, dtype=np.int64), purchases[:, 0].copy(),
                   purchases[:, 1].copy(), np.array(a_idx, dtype=np.int64),
                   np.array(a_day, dtype=np.int64),
                   np.array(a_counts, dtype=np.float64).reshape(-1, 5))

    def first_day(self) -> int | None:
        days = np.concatenate([self.p_day, self.a_day])
        return int(days.min()) if days.size else None

    def last_day(self) -> int | None:
        days = np.concatenate([self.p_day, self.a_day])
        return int(days.max()) if days.size else None


def _sum(idx, weights, n):
    return np.bincount(idx, weights=weights, minlength=n)[:n] if idx.size else np.zeros(n)


def _extreme(idx, values, n, fn, initial):
    out = np.full(n, initial, dtype=np.float64)
    if idx.size:
        fn.at(out, idx, values)
    return out


def matrix(history: History, as_of: int) -> np.ndarray:
    """Feature matrix (profiles x FEATURES) from days strictly before day number `as_of`.
    Missing values (no order yet) are NaN, which the gradient-boosted trees handle natively."""
    n = history.n
    X = np.zeros((n, len(FEATURES)))
    pm = history.p_day < as_of
    pi, pd, po, pa = history.p_idx[pm], history.p_day[pm], history.p_orders[pm], history.p_amount[pm]
    am = history.a_day < as_of
    ai, ad, ac = history.a_idx[am], history.a_day[am], history.a_counts[am]

    orders = _sum(pi, po, n)
    spend = _sum(pi, pa, n)
    last_order = _extreme(pi, pd.astype(float), n, np.maximum, -np.inf)
    first_order = _extreme(pi, pd.astype(float), n, np.minimum, np.inf)
    recent_p = pd >= as_of - 90
    X[:, F["orders"]] = orders
    X[:, F["purchase_days"]] = _sum(pi, np.ones(pi.size), n)
    X[:, F["spend"]] = spend
    with np.errstate(invalid="ignore", divide="ignore"):
        X[:, F["avg_order_value"]] = np.where(orders > 0, spend / orders, np.nan)
    X[:, F["days_since_last_order"]] = np.where(orders > 0, as_of - last_order, np.nan)
    X[:, F["days_since_first_order"]] = np.where(orders > 0, as_of - first_order, np.nan)
    X[:, F["orders_90d"]] = _sum(pi[recent_p], po[recent_p], n)
    X[:, F["spend_90d"]] = _sum(pi[recent_p], pa[recent_p], n)

    last_active = _extreme(ai, ad.astype(float), n, np.maximum, -np.inf)
    first_active = _extreme(ai, ad.astype(float), n, np.minimum, np.inf)
    first_seen = np.minimum(first_active, first_order)
    last_seen = np.maximum(last_active, last_order)
    seen = np.isfinite(first_seen)
    X[:, F["days_since_first_seen"]] = np.where(seen, as_of - first_seen, np.nan)
    X[:, F["days_since_last_seen"]] = np.where(seen, as_of - last_seen, np.nan)
    X[:, F["active_days"]] = _sum(ai, np.ones(ai.size), n)
    X[:, F["sessions"]] = _sum(ai, ac[:, 0] if ac.size else ac, n)
    r30, r90 = ad >= as_of - 30, ad >= as_of - 90
    X[:, F["sessions_30d"]] = _sum(ai[r30], ac[r30, 0], n)
    X[:, F["sessions_90d"]] = _sum(ai[r90], ac[r90, 0], n)
    X[:, F["page_views_30d"]] = _sum(ai[r30], ac[r30, 1], n)
    X[:, F["product_views_30d"]] = _sum(ai[r30], ac[r30, 2], n)
    X[:, F["add_to_cart_30d"]] = _sum(ai[r30], ac[r30, 3], n)
    X[:, F["add_to_cart"]] = _sum(ai, ac[:, 3] if ac.size else ac, n)
    views = _sum(ai, ac[:, 2] if ac.size else ac, n)
    discounts = _sum(ai, ac[:, 4] if ac.size else ac, n)
    X[:, F["discount_share"]] = discounts / np.maximum(views, 1)
    X[:, F["has_web_activity"]] = (X[:, F["active_days"]] > 0).astype(float)
    X[:, F["page_views"]] = _sum(ai, ac[:, 1] if ac.size else ac, n)
    X[:, F["discount_interactions"]] = discounts
    return X


def window_outcomes(history: History, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(bought, spend) per profile in days [start, end): the labels of a training row."""
    m = (history.p_day >= start) & (history.p_day < end)
    orders = _sum(history.p_idx[m], history.p_orders[m], history.n)
    spend = _sum(history.p_idx[m], history.p_amount[m], history.n)
    return orders > 0, spend


def seen_before(history: History, day: int) -> np.ndarray:
    """Profiles with any history before `day` (only they can be scored as of it)."""
    seen = np.zeros(history.n, dtype=bool)
    seen[history.p_idx[history.p_day < day]] = True
    seen[history.a_idx[history.a_day < day]] = True
    return seen
