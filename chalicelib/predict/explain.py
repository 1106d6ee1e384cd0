"""Plain-word reasons for a profile's conversion potential and CLV (and, at the end, its churn
risk and next order date).

Both models are linear in their (log-scaled, standardised) features, so each feature's share of a
profile's score, against the reference profile (the training mean, where every standardised value
is 0), is exact: coefficient x standardised value. Correlated features carry opposite-sign
coefficients (spend +4.8 and average order value -4.7; days since the last order +0.8 and since
last seen -0.8), so single features' shares can say the opposite of what the profile shows.
Reasons therefore come from GROUPS of related features: a group's share is the sum of its
members', and it gives a reason only when that sum raises the score and one member both raises it
and reads in the same direction (DIRECTION: more purchases, spend and visits raise a score, a
longer time since the last order or visit lowers it). That member's phrase is the reason.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

PHRASES = {
    "orders": lambda v: f"{v:.0f} orders so far",
    "purchase_days": lambda v: f"bought on {v:.0f} different days",
    "spend": lambda v: f"spent {v:.0f} so far",
    "avg_order_value": lambda v: f"average order of {v:.0f}",
    "days_since_last_order": lambda v: f"last order {v:.0f} days ago",
    "days_since_first_order": lambda v: f"customer for {v:.0f} days",
    "orders_90d": lambda v: f"{v:.0f} orders in the last 90 days",
    "spend_90d": lambda v: f"spent {v:.0f} in the last 90 days",
    "days_since_first_seen": lambda v: f"first visit {v:.0f} days ago",
    "days_since_last_seen": lambda v: f"last seen {v:.0f} days ago",
    "active_days": lambda v: f"active on {v:.0f} days",
    "sessions": lambda v: f"{v:.0f} sessions",
    "sessions_30d": lambda v: f"{v:.0f} sessions in the last 30 days",
    "sessions_90d": lambda v: f"{v:.0f} sessions in the last 90 days",
    "page_views_30d": lambda v: f"{v:.0f} page views in the last 30 days",
    "product_views_30d": lambda v: f"{v:.0f} product views in the last 30 days",
    "add_to_cart_30d": lambda v: f"{v:.0f} add-to-carts in the last 30 days",
    "add_to_cart": lambda v: f"{v:.0f} add-to-carts",
    "discount_share": lambda v: f"{100 * v:.0f}% of product views on discount",
    "has_web_activity": lambda v: "visits the web shop" if v else "no web visits recorded",
    "page_views": lambda v: f"{v:.0f} page views",
    "discount_interactions": lambda v: f"{v:.0f} discount interactions",
    "bg_expected_purchases": lambda v: f"purchase rhythm suggests {v:.1f} more orders",
    "bg_p_alive": lambda v: f"{100 * v:.0f}% likely still an active customer",
    "bg_p_purchase": lambda v: f"{100 * v:.0f}% likely to buy again by purchase rhythm",
}


# Related features: one reason per group, the members' contributions summed.
GROUPS = (
    (
        "orders",
        "purchase_days",
        "orders_90d",
        "bg_expected_purchases",
        "bg_p_purchase",
        "bg_p_alive",
    ),
    ("spend", "avg_order_value", "spend_90d"),
    ("days_since_last_order", "days_since_last_seen"),
    ("days_since_first_order", "days_since_first_seen"),
    (
        "sessions",
        "sessions_30d",
        "sessions_90d",
        "page_views",
        "page_views_30d",
        "product_views_30d",
        "add_to_cart",
        "add_to_cart_30d",
        "active_days",
        "has_web_activity",
    ),
    ("discount_share", "discount_interactions"),
)
# The plain reading of a feature's phrase: +1 when more of it reads as more likely to buy, -1
# when less of it does; features not named (tenure, discounts) have no direction.
DIRECTION = {
    **{f: 1 for group in (GROUPS[0], GROUPS[1], GROUPS[4]) for f in group},
    "days_since_last_order": -1,
    "days_since_last_seen": -1,
}


def contributions(pipeline: Pipeline, Xt: np.ndarray) -> np.ndarray:
    scaler, model = pipeline.named_steps["scale"], pipeline.named_steps["model"]
    coef = np.ravel(model.coef_)
    return (Xt - scaler.mean_) / scaler.scale_ * coef


def reasons(
    pipeline: Pipeline, Xt: np.ndarray, X: np.ndarray, names: tuple[str, ...], k: int = 3
) -> list[list[str]]:
    """For each row, up to k phrases for the features that raise its score most."""
    return reasons_from_contributions(contributions(pipeline, Xt), X, names, k)


def reasons_from_contributions(
    c: np.ndarray, X: np.ndarray, names: tuple[str, ...], k: int = 3
) -> list[list[str]]:
    """For each row, the phrases of the first k of its top k + 3 features (by contribution) that
    raise the score (contribution > 0) and have a value that says something (not NaN, not 0
    except for has_web_activity). Every distinct (feature, value) is formatted once."""
    n = len(X)
    if n == 0:
        return []
    top = np.argsort(-c, axis=1)[:, : k + 3]  # a few spare, for the ones skipped below
    rows = np.arange(n)[:, None]
    gain, value = c[rows, top], X[rows, top]
    keep_zero = np.array([name == "has_web_activity" for name in names])
    # contributions are sorted, so the first one <= 0 ends the list, as does the k-th phrase
    positive = np.cumprod(~(gain <= 0), axis=1).astype(bool)
    usable = positive & ~np.isnan(value) & ((value != 0) | keep_zero[top])
    chosen = usable & (np.cumsum(usable, axis=1) <= k)
    r, slot = np.nonzero(chosen)
    feature, v = top[r, slot], value[r, slot]
    phrases = np.empty(r.size, dtype=object)
    if r.size:
        order = np.lexsort((v, feature))
        fs, vs = feature[order], v[order]
        start = np.flatnonzero(np.r_[True, (fs[1:] != fs[:-1]) | (vs[1:] != vs[:-1])])
        texts = [PHRASES[names[j]](x) for j, x in zip(fs[start].tolist(), vs[start].tolist())]
        sizes = np.diff(np.r_[start, r.size])
        distinct = np.empty(len(texts), dtype=object)
        distinct[:] = texts
        phrases[order] = np.repeat(distinct, sizes)
    # every feature's phrase differs from every other feature's, so a row never repeats one
    counts = np.bincount(r, minlength=n)
    out = phrases.tolist()
    ends = np.cumsum(counts).tolist()
    return [out[e - m : e] for e, m in zip(ends, counts.tolist())]


def grouped_reasons(
    c: np.ndarray, Z: np.ndarray, X: np.ndarray, names: tuple[str, ...], k: int = 3
) -> list[list[str]]:
    """For each row, up to k phrases, one per group of related features (GROUPS), groups in the
    order of their summed contribution: a group whose sum raises the score, phrased by its member
    that raises the score most among those that read in their plain direction (the sign of the
    standardised value Z agrees with DIRECTION) and have a value that says something (not NaN,
    not 0)."""
    n = len(X)
    if n == 0:
        return []
    rows = np.arange(n)
    usable = ~np.isnan(X) & (X != 0)
    groups = [[names.index(f) for f in g if f in names] for g in GROUPS]
    grouped = {j for g in groups for j in g}
    groups += [[j] for j in range(len(names)) if j not in grouped]
    total = np.empty((n, len(groups)))
    lead = np.empty((n, len(groups)), dtype=np.int64)
    for g, members in enumerate(groups):
        idx = np.array(members)
        cg = c[:, idx]
        total[:, g] = cg.sum(axis=1)
        direction = np.array([DIRECTION.get(names[j], 0) for j in members])
        agrees = (direction == 0) | (np.sign(Z[:, idx]) == direction)
        masked = np.where(usable[:, idx] & (cg > 0) & agrees, cg, -np.inf)
        best = masked.argmax(axis=1)
        lead[:, g] = np.where(np.isfinite(masked[rows, best]), idx[best], -1)
    eligible = (total > 0) & (lead >= 0)
    ranked = np.argsort(-np.where(eligible, total, -np.inf), axis=1, kind="stable")[:, :k]
    chosen = eligible[rows[:, None], ranked]
    r, slot = np.nonzero(chosen)
    feature = lead[r, ranked[r, slot]]
    v = X[r, feature]
    phrases = _phrases(feature, v, names)
    counts = np.bincount(r, minlength=n)
    ends = np.cumsum(counts).tolist()
    return [phrases[e - m : e] for e, m in zip(ends, counts.tolist())]


def _phrases(feature: np.ndarray, v: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """The phrase of each (feature, value), every distinct pair formatted once."""
    phrases = np.empty(feature.size, dtype=object)
    if feature.size:
        order = np.lexsort((v, feature))
        fs, vs = feature[order], v[order]
        start = np.flatnonzero(np.r_[True, (fs[1:] != fs[:-1]) | (vs[1:] != vs[:-1])])
        texts = [PHRASES[names[j]](x) for j, x in zip(fs[start].tolist(), vs[start].tolist())]
        distinct = np.empty(len(texts), dtype=object)
        distinct[:] = texts
        phrases[order] = np.repeat(distinct, np.diff(np.r_[start, feature.size]))
    return phrases.tolist()


# --- churn risk and next order (predict/retention.py) -----------------------------------------
# The churn model's columns, in order, each with its phrase of the raw value.

CHURN_PHRASES = {
    "days_since_last_order": lambda v: f"last order {v:.0f} days ago",
    "purchase_days": lambda v: "one purchase day so far" if v == 1 else f"bought on {v:.0f} days",
    "days_since_first_order": lambda v: f"customer for {v:.0f} days",
    "avg_order_value": lambda v: f"average order of {v:.0f}",
    "cycles_since_last_order": lambda v: (
        f"{v:.1f}x the shop's usual time between orders since the last one"
    ),
    "own_gaps_since_last_order": lambda v: (
        f"{v:.1f}x their own usual time between orders since the last one"
    ),
    "bg_no_purchase": lambda v: f"{100 * v:.0f}% likely no order soon by purchase rhythm",
}


# How each phrase reads: +1 when more of it reads as a higher risk, -1 as a lower one, 0 neither.
CHURN_DIRECTION = np.array([1, -1, 0, 0, 1, 1, 1])


def churn_reasons(Z: np.ndarray, coef, raw: np.ndarray, k: int = 2) -> list[list[str]]:
    """Per customer, up to k phrases for what moves its churn risk most away from the average
    customer's (coefficient x standardised input), in the direction it moves (a risk above the
    average: what raises it; below: what lowers it), among the features whose value reads that
    way too (CHURN_DIRECTION: correlated inputs can carry shares against their plain reading,
    as in the conversion model) and says something; every distinct (feature, value) formatted
    once."""
    n = len(raw)
    if n == 0:
        return []
    share = Z * np.asarray(coef)
    moves = np.where(share.sum(axis=1) >= 0, 1, -1)[:, None]
    reads = (CHURN_DIRECTION == 0) | (np.sign(Z) * CHURN_DIRECTION == moves)
    usable = reads & (share * moves > 0) & np.isfinite(raw) & (raw != 0)
    ranked = np.where(usable, share * moves, -np.inf)
    top = np.argsort(-ranked, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    r, slot = np.nonzero(np.isfinite(ranked[rows, top]))
    feature = top[r, slot]
    # cycles and probabilities read with one decimal / whole percent: round before de-duplicating
    v = np.round(raw[r, feature], 3)
    phrases = _format(feature, v, [CHURN_PHRASES[name] for name in CHURN_PHRASES])
    ends = np.cumsum(np.bincount(r, minlength=n)).tolist()
    starts = [0] + ends[:-1]
    return [phrases[s:e] for s, e in zip(starts, ends)]


def next_order_reasons(c) -> list[list[str]]:
    """Per customer (retention.Customers): the rhythm the expected date rests on ([] for one
    purchase day)."""
    gap = np.where(c.repeat, np.round(np.nan_to_num(c.gap)), -1).astype(np.int64)
    key = gap * 100_000 + np.minimum(c.days, 99_999).astype(np.int64)
    distinct, inverse = np.unique(key, return_inverse=True)
    texts = [
        [f"orders every {g} day{'s' * (g != 1)} on average ({d:.0f} purchase days)"]
        if g >= 0
        else []
        for g, d in zip((distinct // 100_000).tolist(), (distinct % 100_000).tolist())
    ]
    return [texts[i] for i in inverse.tolist()]


def _format(feature: np.ndarray, value: np.ndarray, phrases) -> list[str]:
    out = np.empty(feature.size, dtype=object)
    if feature.size:
        order = np.lexsort((value, feature))
        fs, vs = feature[order], value[order]
        start = np.flatnonzero(np.r_[True, (fs[1:] != fs[:-1]) | (vs[1:] != vs[:-1])])
        texts = [phrases[j](x) for j, x in zip(fs[start].tolist(), vs[start].tolist())]
        distinct = np.empty(len(texts), dtype=object)
        distinct[:] = texts
        out[order] = np.repeat(distinct, np.diff(np.r_[start, feature.size]))
    return out.tolist()
