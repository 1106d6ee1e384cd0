"""Customer type: an explainable decision list over measured behaviour (no labels exist to learn
from). Rates are per month of tenure (a profile's days since first seen, at least 30), so a
customer of three years and one of three months are compared on the same footing; thresholds
are quantiles of a population's own distribution (`thresholds_from`, stored in the model's
metadata as `customer_type_thresholds`), never fixed amounts of money.

In order, the first rule that holds:
1. Believer: 2+ orders, orders a month in the population's top quarter of customers, and a CLV
   at or above the customers' median: buys often and much, for its tenure.
2. Economical: 2+ discount interactions and a share of product views on discount in the top
   quarter of the population's web visitors (at least 10 %).
3. Passionate: a first order within 2 days of the first web visit (impulse). The delay is from
   the first web activity: orders imported from before web tracking began count for nothing here.
4. Single-minded: pages a session in the lowest quarter and sessions a month at or below the
   median of the population's web visitors: few, short, direct visits.
5. Explorer: browses (any other profile with web activity).
A profile without web activity that is not a Believer gets no type: there is nothing to judge.
The generator in chalicelib/synthetic.py plants these types; docs/predictive.md gives how many
the rules recover against the majority-class baseline.
"""

from __future__ import annotations

import numpy as np

from .features import F, History

TYPES = ("Believer", "Economical", "Passionate", "Single-minded", "Explorer")
PASSIONATE_DAYS = 2
MIN_TENURE_DAYS = 30
# A model saved before the thresholds were recorded: the old rules' levels, stated here once.
FALLBACK_THRESHOLDS = {
    "believer_orders_a_month": 0.0,
    "believer_clv": 100.0,
    "economical_discount_share": 0.25,
    "single_minded_pages_a_session": 2.5,
    "single_minded_sessions_a_month": 2.0,
}


def first_web_order_delay(history: History, cut: int) -> np.ndarray:
    """Days from the first web activity to the first order on or after it (before `cut`);
    inf for profiles without web activity or without an order since it."""
    n = history.n
    am = history.a_day < cut
    first_web = np.full(n, np.inf)
    if am.any():
        np.minimum.at(first_web, history.a_idx[am], history.a_day[am].astype(float))
    pm = history.p_day < cut
    p_idx, p_day = history.p_idx[pm], history.p_day[pm].astype(float)
    after = p_day >= first_web[p_idx]
    first_order = np.full(n, np.inf)
    if after.any():
        np.minimum.at(first_order, p_idx[after], p_day[after])
    with np.errstate(invalid="ignore"):
        delay = first_order - first_web
    return np.where(np.isfinite(delay), delay, np.inf)


def _derived(X: np.ndarray, page_views: np.ndarray):
    months = np.maximum(np.nan_to_num(X[:, F["days_since_first_seen"]], nan=0.0), MIN_TENURE_DAYS)
    months = months / 30.0
    sessions = X[:, F["sessions"]]
    return (
        X[:, F["orders"]] / months,
        sessions / months,
        page_views / np.maximum(sessions, 1),
    )


def thresholds_from(X: np.ndarray, clv: np.ndarray, page_views: np.ndarray) -> dict:
    """The population's quantiles the rules compare with (FALLBACK_THRESHOLDS where a group
    is empty)."""
    order_rate, session_rate, pages = _derived(X, page_views)
    customers = X[:, F["orders"]] >= 1
    web = X[:, F["has_web_activity"]] > 0
    out = dict(FALLBACK_THRESHOLDS)
    if customers.any():
        out["believer_orders_a_month"] = float(np.quantile(order_rate[customers], 0.75))
        out["believer_clv"] = float(np.quantile(clv[customers], 0.5))
    if web.any():
        share = np.quantile(X[web, F["discount_share"]], 0.75)
        out["economical_discount_share"] = float(max(share, 0.1))
        out["single_minded_pages_a_session"] = float(np.quantile(pages[web], 0.25))
        out["single_minded_sessions_a_month"] = float(np.quantile(session_rate[web], 0.5))
    return {k: round(v, 4) for k, v in out.items()}


def thresholds(metadata: dict, money_scale: float = 1.0) -> dict:
    """The thresholds a model's metadata records (its population's), else the fallback; the
    amount of money among them read in the served population's money (`money_scale`: a model
    served to a population it did not learn from, PredictiveModel.money_scale)."""
    recorded = metadata.get("customer_type_thresholds")
    if recorded:
        out = {**FALLBACK_THRESHOLDS, **recorded}
    elif "clv_reference" in metadata:
        out = {**FALLBACK_THRESHOLDS, "believer_clv": float(metadata["clv_reference"])}
    else:
        out = dict(FALLBACK_THRESHOLDS)
    out["believer_clv"] *= money_scale
    return out


def classify(
    X: np.ndarray,
    clv: np.ndarray,
    first_order_delay_days: np.ndarray,
    page_views: np.ndarray,
    discount_interactions: np.ndarray,
    limits: dict,
    with_reasons: bool = True,
) -> tuple[list, list]:
    """Types (or None) and a reason for each profile, from the feature matrix, the delay from
    the first web visit to the first order (first_web_order_delay), a few totals and the
    population's thresholds."""
    orders, sessions = X[:, F["orders"]], X[:, F["sessions"]]
    web = X[:, F["has_web_activity"]] > 0
    order_rate, session_rate, pages_per_session = _derived(X, page_views)
    delay = first_order_delay_days
    rules = [
        (orders >= 2)
        & (order_rate >= limits["believer_orders_a_month"])
        & (clv >= limits["believer_clv"]),
        web
        & (discount_interactions >= 2)
        & (X[:, F["discount_share"]] >= limits["economical_discount_share"]),
        web & (delay >= 0) & (delay <= PASSIONATE_DAYS),
        web
        & (pages_per_session <= limits["single_minded_pages_a_session"])
        & (session_rate <= limits["single_minded_sessions_a_month"]),
        web,
    ]
    choice = np.full(len(orders), -1)  # np.select(rules, range(5), -1): the first rule that holds
    for c in range(len(rules) - 1, -1, -1):
        choice[rules[c]] = c
    types = _TYPES[choice].tolist()
    if not with_reasons:
        return types, [[] for _ in types]
    reasons: list[list[str]] = [[] for _ in types]
    values = {
        "Believer": (orders, order_rate),
        "Economical": (discount_interactions, X[:, F["discount_share"]]),
        "Passionate": (delay,),
        "Single-minded": (sessions, pages_per_session),
        "Explorer": (sessions, pages_per_session, orders),
    }
    for c, kind in enumerate(TYPES):
        rows = np.flatnonzero(choice == c)
        if not rows.size:
            continue
        # each distinct set of values formatted once
        keys = list(zip(*(column[rows].tolist() for column in values[kind])))
        template = _REASON_FORMATS[kind]
        text = {key: template(*key) for key in dict.fromkeys(keys)}
        for i, key in zip(rows.tolist(), keys):
            reasons[i] = [text[key]]
    return types, reasons


_TYPES = np.array(TYPES + (None,), dtype=object)  # index -1: no type

_REASON_FORMATS = {
    "Believer": lambda orders, rate: (
        f"{int(orders)} orders, {rate:.1f} a month: among the most frequent buyers, "
        "with a CLV above the median customer's"
    ),
    "Economical": lambda discounts, share: (
        f"{int(discounts)} discount interactions ({share:.0%} of product views)"
    ),
    "Passionate": lambda delay: f"bought {int(delay)} days after the first visit",
    "Single-minded": lambda sessions, pages: (
        f"{int(sessions)} sessions, {pages:.1f} pages a session: straight to the point"
    ),
    "Explorer": lambda sessions, pages, orders: (
        f"{int(sessions)} sessions, {pages:.1f} pages a session, {int(orders)} orders"
    ),
}
