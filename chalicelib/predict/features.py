"""Features of profiles as of a date, built from the day-by-day history on each profile
(`behaviour.purchases`, `behaviour.activity`). Only days before the as-of date are read, so a
model trained on features at an earlier date never sees what came after it.

Vectorised: profiles are flattened once into arrays of (profile, day, counts), and every
feature is a masked bincount over them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, reduce
from itertools import chain, repeat
from operator import iadd

import numpy as np

FEATURES = (
    "orders",
    "purchase_days",
    "spend",
    "avg_order_value",
    "days_since_last_order",
    "days_since_first_order",
    "orders_90d",
    "spend_90d",
    "days_since_first_seen",
    "days_since_last_seen",
    "active_days",
    "sessions",
    "sessions_30d",
    "sessions_90d",
    "page_views_30d",
    "product_views_30d",
    "add_to_cart_30d",
    "add_to_cart",
    "discount_share",
    "has_web_activity",
    "page_views",
    "discount_interactions",
)
F = {name: i for i, name in enumerate(FEATURES)}
# The features in the shop's money: a model trained on one shop's money reads another's at its
# own scale (PredictiveModel.money_scale)
MONEY_FEATURES = ("spend", "avg_order_value", "spend_90d")
MONEY_COLUMNS = [F[name] for name in MONEY_FEATURES]
# fewer: a population's order value is not read (a median of a few orders would move, and
# rewrite every profile, with each new order)
MIN_PRICED_PURCHASE_DAYS = 50
# a population level a rescore derives (money scale, purchase cycle) moves only when it moves by
# more than this: it is in the model's version, and a new version rewrites every profile
STEADY_TOLERANCE = 0.05


@lru_cache(maxsize=200_000)
def day_number(day: str) -> int:
    return date.fromisoformat(day[:10]).toordinal()


@dataclass
class History:
    """Every profile's day-by-day history as flat arrays (one row per profile-day)."""

    n: int
    p_idx: np.ndarray  # purchases: profile index
    p_day: np.ndarray  # day number
    p_orders: np.ndarray
    p_amount: np.ndarray
    a_idx: np.ndarray  # activity: profile index
    a_day: np.ndarray
    a_counts: np.ndarray  # (rows, 5): sessions, page views, product views, carts, discounts

    @classmethod
    def from_behaviours(cls, behaviours: list[dict]) -> "History":
        """Flattened with C-level iteration (chain/map over the per-day dicts) and one array
        conversion per column; anything unusual (ragged day lists, values that are not plain
        numbers) takes the general path below, which gives the same arrays or the same error."""
        try:
            history = _flatten(behaviours)
        except (TypeError, ValueError, OverflowError, AttributeError):
            history = None
        return history if history is not None else cls._from_behaviours_general(behaviours)

    @classmethod
    def _from_behaviours_general(cls, behaviours: list[dict]) -> "History":
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
        return cls(
            len(behaviours),
            np.array(p_idx, dtype=np.int64),
            np.array(p_day, dtype=np.int64),
            purchases[:, 0].copy(),
            purchases[:, 1].copy(),
            np.array(a_idx, dtype=np.int64),
            np.array(a_day, dtype=np.int64),
            np.array(a_counts, dtype=np.float64).reshape(-1, 5),
        )

    def first_day(self) -> int | None:
        days = np.concatenate([self.p_day, self.a_day])
        return int(days.min()) if days.size else None

    def last_day(self) -> int | None:
        days = np.concatenate([self.p_day, self.a_day])
        return int(days.max()) if days.size else None


class _DayNumbers(dict):
    """Day key -> day number, computed once per distinct key (a plain dict lookup after)."""

    def __missing__(self, day: str) -> int:
        if len(self) >= 200_000:
            self.clear()
        number = self[day] = day_number(day)
        return number


_DAYS = _DayNumbers()
_EMPTY: dict = {}


def _int64(values) -> np.ndarray:
    """A sequence of Python ints as int64, through struct (several times faster than numpy's
    per-element conversion); struct.error for anything that is not an int in range."""
    return np.frombuffer(struct.pack(f"{len(values)}q", *values), dtype=np.int64)


def _numbers(rows: list, width: int) -> np.ndarray | None:
    """Rows of `width` numbers (as stored: ints, floats for amounts) as a float64 array, as
    np.array(rows, dtype=float64) converts them; None when a row is ragged (the general path
    then raises as it always did)."""
    if not rows:
        return np.zeros((0, width))
    if set(map(len, rows)) != {width}:
        return None
    flat = reduce(iadd, rows, [])
    try:  # all ints: int64 is exact, and int64 -> float64 rounds as int -> float does
        return _int64(flat).astype(np.float64).reshape(-1, width)
    except struct.error:
        return np.array(flat, dtype=np.float64).reshape(-1, width)


def _flatten(behaviours: list[dict]) -> History | None:
    n = len(behaviours)
    purchases = list(map(dict.get, behaviours, repeat("purchases"), repeat(_EMPTY)))
    activity = list(map(dict.get, behaviours, repeat("activity"), repeat(_EMPTY)))
    # dict.values raises TypeError on anything but a dict (null included): the general path
    p_values = _numbers(reduce(iadd, map(dict.values, purchases), []), 2)
    a_counts = _numbers(reduce(iadd, map(dict.values, activity), []), 5)
    if p_values is None or a_counts is None:
        return None
    rows = np.arange(n, dtype=np.int64)
    day = _DAYS.__getitem__
    return History(
        n,
        np.repeat(rows, np.fromiter(map(len, purchases), np.int64, n)),
        _int64(list(map(day, chain.from_iterable(purchases)))),
        p_values[:, 0].copy(),
        p_values[:, 1].copy(),
        np.repeat(rows, np.fromiter(map(len, activity), np.int64, n)),
        _int64(list(map(day, chain.from_iterable(activity)))),
        a_counts,
    )


def _sum(idx, weights, n):
    return np.bincount(idx, weights=weights, minlength=n)[:n] if idx.size else np.zeros(n)


def _count(idx, n):
    """Rows per profile, as floats (what a bincount weighted by ones gives)."""
    return np.bincount(idx, minlength=n)[:n].astype(np.float64) if idx.size else np.zeros(n)


def _extreme(idx, values, n, fn, initial):
    out = np.full(n, initial, dtype=np.float64)
    if idx.size:
        fn.at(out, idx, values)
    return out


def _rows(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows of each array where mask holds (np.compress: several times faster than boolean
    indexing on 2-D arrays); the arrays themselves when every row is kept (scoring today)."""
    if mask.all():
        return arrays
    return tuple(np.compress(mask, a, axis=0) for a in arrays)


def matrix(history: History, as_of: int) -> np.ndarray:
    """Feature matrix (profiles x FEATURES) from days strictly before day number `as_of`.
    Missing values (no order yet) are NaN, which the gradient-boosted trees handle natively."""
    n = history.n
    X = np.empty((n, len(FEATURES)))
    pi, pd, po, pa = _rows(
        history.p_day < as_of, history.p_idx, history.p_day, history.p_orders, history.p_amount
    )
    ai, ad, ac = _rows(history.a_day < as_of, history.a_idx, history.a_day, history.a_counts)

    orders = _sum(pi, po, n)
    spend = _sum(pi, pa, n)
    pdf = pd.astype(float)
    last_order = _extreme(pi, pdf, n, np.maximum, -np.inf)
    first_order = _extreme(pi, pdf, n, np.minimum, np.inf)
    X[:, F["orders"]] = orders
    X[:, F["purchase_days"]] = _count(pi, n)
    X[:, F["spend"]] = spend
    bought = orders > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        X[:, F["avg_order_value"]] = np.where(bought, spend / orders, np.nan)
    X[:, F["days_since_last_order"]] = np.where(bought, as_of - last_order, np.nan)
    X[:, F["days_since_first_order"]] = np.where(bought, as_of - first_order, np.nan)
    pi90, po90, pa90 = _rows(pd >= as_of - 90, pi, po, pa)
    X[:, F["orders_90d"]] = _sum(pi90, po90, n)
    X[:, F["spend_90d"]] = _sum(pi90, pa90, n)

    adf = ad.astype(float)
    last_active = _extreme(ai, adf, n, np.maximum, -np.inf)
    first_active = _extreme(ai, adf, n, np.minimum, np.inf)
    first_seen = np.minimum(first_active, first_order)
    last_seen = np.maximum(last_active, last_order)
    seen = np.isfinite(first_seen)
    X[:, F["days_since_first_seen"]] = np.where(seen, as_of - first_seen, np.nan)
    X[:, F["days_since_last_seen"]] = np.where(seen, as_of - last_seen, np.nan)
    active_days = _count(ai, n)
    X[:, F["active_days"]] = active_days
    # columns: sessions, page views, product views, add-to-carts, discounts
    X[:, F["sessions"]] = _sum(ai, ac[:, 0], n)
    ai90, ad90, ac90 = _rows(ad >= as_of - 90, ai, ad, ac)  # the last 30 days are in these
    ai30, ac30 = _rows(ad90 >= as_of - 30, ai90, ac90)
    X[:, F["sessions_30d"]] = _sum(ai30, ac30[:, 0], n)
    X[:, F["sessions_90d"]] = _sum(ai90, ac90[:, 0], n)
    X[:, F["page_views_30d"]] = _sum(ai30, ac30[:, 1], n)
    X[:, F["product_views_30d"]] = _sum(ai30, ac30[:, 2], n)
    X[:, F["add_to_cart_30d"]] = _sum(ai30, ac30[:, 3], n)
    X[:, F["add_to_cart"]] = _sum(ai, ac[:, 3], n)
    views = _sum(ai, ac[:, 2], n)
    discounts = _sum(ai, ac[:, 4], n)
    X[:, F["discount_share"]] = discounts / np.maximum(views, 1)
    X[:, F["has_web_activity"]] = (active_days > 0).astype(float)
    X[:, F["page_views"]] = _sum(ai, ac[:, 1], n)
    X[:, F["discount_interactions"]] = discounts
    return X


def transform(X: np.ndarray) -> np.ndarray:
    """Counts and amounts are heavy-tailed: log-scale them; a missing value becomes -1 before."""
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64):
        Z = np.nan_to_num(X, nan=-1.0)
        return np.sign(Z) * np.log1p(np.abs(Z))
    # the same values, faster: most entries are small whole numbers (counts, days), whose
    # log1p is looked up (the table holds log1p's own results); NaN becomes -1 as
    # nan_to_num makes it, and infinities (never in the features) take nan_to_num itself
    Z = X.copy()
    np.copyto(Z, -1.0, where=np.isnan(Z))
    if not np.isfinite(Z).all():
        Z = np.nan_to_num(Z)
    A = np.abs(Z)
    whole = np.minimum(A, _LOG1P_SIZE).astype(np.intp)
    L = _LOG1P.take(whole)
    other = whole != A
    if other.any():
        L[other] = np.log1p(A[other])
    return np.sign(Z) * L


_LOG1P_SIZE = 4096
_LOG1P = np.log1p(np.arange(_LOG1P_SIZE + 1, dtype=np.float64))
TRANSFORMED_NAN = float(transform(np.array([np.nan]))[0])


def median_order_value(*populations: tuple[History, int]) -> float | None:
    """A population's money level: the median value of an order (a purchase day's amount over
    its orders) among the purchase days with an amount before each (history, day) given; None
    with fewer than MIN_PRICED_PURCHASE_DAYS of them."""
    values = []
    for history, before in populations:
        m = (history.p_day < before) & (history.p_amount > 0) & (history.p_orders > 0)
        values.append(history.p_amount[m] / history.p_orders[m])
    values = np.concatenate(values) if values else np.empty(0)
    if values.size < MIN_PRICED_PURCHASE_DAYS:
        return None
    return float(np.median(values))


def steady(value: float, previous: float | None) -> float:
    """`previous` while `value` stays within STEADY_TOLERANCE of it, else `value`."""
    if previous and abs(value / previous - 1) <= STEADY_TOLERANCE:
        return previous
    return value


def day_values(history: History, cut: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) per profile: purchase days with an amount before `cut` and their mean amount (0
    without one): what Gamma-Gamma reads (gamma_gamma.py)."""
    mask = (history.p_day < cut) & (history.p_amount > 0)
    n = _count(history.p_idx[mask], history.n)
    total = _sum(history.p_idx[mask], history.p_amount[mask], history.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.where(n > 0, total / n, 0.0)


def money_scale_of(
    learned: float | None, *populations: tuple[History, int], previous: float | None = None
) -> float:
    """The populations' median order value over `learned` (the one a model learned from), to 4
    significant digits (never rounded to 0), kept at `previous` (the scale served until now)
    while within STEADY_TOLERANCE of it; 1.0 when either value is unknown."""
    here = median_order_value(*populations)
    if not learned or here is None:
        return 1.0
    return steady(float(f"{here / learned:.4g}"), previous)


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
