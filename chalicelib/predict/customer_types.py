"""Customer type: an explainable decision list over behaviour (no labels exist to learn from).

In order, the first rule that holds:
1. Believer: 3+ orders and a CLV at or above the reference (the project's average customer CLV).
2. Economical: 2+ discount interactions and at least a quarter of product views on discount.
3. Passionate: bought within 2 days of the first visit (impulse).
4. Single-minded: at most 2 sessions, at most 2.5 page views a session (straight to the product).
5. Explorer: browses (any other profile with web activity).
A profile without web activity that is not a Believer gets no type: there is nothing to judge.
The generator in chalicelib/synthetic.py plants these types; the tests measure how many the rules
recover (see docs/predictive.md).
"""
from __future__ import annotations

import numpy as np

from .features import F

TYPES = ("Believer", "Economical", "Passionate", "Single-minded", "Explorer")


def classify(X: np.ndarray, clv: np.ndarray, first_order_delay_days: np.ndarray,
             page_views: np.ndarray, discount_interactions: np.ndarray,
             clv_reference: float, with_reasons: bool = True) -> tuple[list, list]:
    """Types (or None) and a reason for each profile, from the feature matrix and a few totals."""
    orders, sessions = X[:, F["orders"]], X[:, F["sessions"]]
    web = X[:, F["has_web_activity"]] > 0
    pages_per_session = page_views / np.maximum(sessions, 1)
    rules = [
        (orders >= 3) & (clv >= clv_reference),
        web & (discount_interactions >= 2) & (X[:, F["discount_share"]] >= 0.25),
        web & (orders >= 1) & (first_order_delay_days <= 2),
        web & (sessions <= 2) & (pages_per_session <= 2.5),
        web,
    ]
    choice = np.select(rules, np.arange(len(TYPES)), default=-1)
    types = [TYPES[c] if c >= 0 else None for c in choice.tolist()]
    if not with_reasons:
        return types, [[] for _ in types]
    types, reasons = [], []
    for i, c in enumerate(choice):
        if c < 0:
            types.append(None)
            reasons.append([])
            continue
        types.append(TYPES[c])
        reasons.append([_reason(TYPES[c], i, orders, sessions, clv, clv_reference,
                                discount_interactions, first_order_delay_days,
                                pages_per_session)])
    return types, reasons


def _reason(kind, i, orders, sessions, clv, reference, discounts, delay, pages) -> str:
    if kind == "Believer":
        return f"{int(orders[i])} orders and a CLV of {clv[i]:.0f} (average {reference:.0f})"
    if kind == "Economical":
        return f"{int(discounts[i])} discount interactions"
    if kind == "Passionate":
        return f"bought {int(delay[i])} days after the first visit"
    if kind == "Single-minded":
        return f"{int(sessions[i])} sessions, {pages[i]:.1f} pages a session: straight to the point"
    return f"{int(sessions[i])} sessions, {pages[i]:.1f} pages a session, {int(orders[i])} orders"
