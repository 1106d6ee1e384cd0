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


def classify(
    X: np.ndarray,
    clv: np.ndarray,
    first_order_delay_days: np.ndarray,
    page_views: np.ndarray,
    discount_interactions: np.ndarray,
    clv_reference: float,
    with_reasons: bool = True,
) -> tuple[list, list]:
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
    choice = np.full(len(orders), -1)  # np.select(rules, range(5), -1): the first rule that holds
    for c in range(len(rules) - 1, -1, -1):
        choice[rules[c]] = c
    types = _TYPES[choice].tolist()
    if not with_reasons:
        return types, [[] for _ in types]
    reasons: list[list[str]] = [[] for _ in types]
    for c, kind in enumerate(TYPES):
        rows = np.flatnonzero(choice == c)
        if not rows.size:
            continue
        # the same f-strings on the same values as one profile at a time, each distinct set of
        # values formatted once
        columns = _REASON_VALUES[kind](
            rows,
            orders,
            sessions,
            clv,
            discount_interactions,
            first_order_delay_days,
            pages_per_session,
        )
        template = _REASON_FORMATS[kind]
        keys = list(zip(*(column.tolist() for column in columns)))
        if any((np.signbit(column) & (column == 0)).any() for column in columns):
            # -0.0 == 0.0 as a key, but it formats as "-0": every row on its own
            for i, key in zip(rows.tolist(), keys):
                reasons[i] = [template(clv_reference, *key)]
            continue
        text = {key: template(clv_reference, *key) for key in dict.fromkeys(keys)}
        for i, key in zip(rows.tolist(), keys):
            reasons[i] = [text[key]]
    return types, reasons


_TYPES = np.array(TYPES + (None,), dtype=object)  # index -1: no type

# per type: the values its reason shows (as the profile-at-a-time code read them), and the text
_REASON_VALUES = {
    "Believer": lambda i, orders, sessions, clv, discounts, delay, pages: (orders[i], clv[i]),
    "Economical": lambda i, orders, sessions, clv, discounts, delay, pages: (discounts[i],),
    "Passionate": lambda i, orders, sessions, clv, discounts, delay, pages: (delay[i],),
    "Single-minded": lambda i, orders, sessions, clv, discounts, delay, pages: (
        sessions[i],
        pages[i],
    ),
    "Explorer": lambda i, orders, sessions, clv, discounts, delay, pages: (
        sessions[i],
        pages[i],
        orders[i],
    ),
}
_REASON_FORMATS = {
    "Believer": lambda reference, orders, clv: (
        f"{int(orders)} orders and a CLV of {clv:.0f} (average {reference:.0f})"
    ),
    "Economical": lambda reference, discounts: f"{int(discounts)} discount interactions",
    "Passionate": lambda reference, delay: f"bought {int(delay)} days after the first visit",
    "Single-minded": lambda reference, sessions, pages: (
        f"{int(sessions)} sessions, {pages:.1f} pages a session: straight to the point"
    ),
    "Explorer": lambda reference, sessions, pages, orders: (
        f"{int(sessions)} sessions, {pages:.1f} pages a session, {int(orders)} orders"
    ),
}
