"""Plain-word reasons for a profile's conversion potential and CLV.

Both models are linear in their (log-scaled, standardised) features, so each feature's share of a
profile's score is exact: coefficient x standardised value. The reasons are the features that
raise the score most for this profile, in words.
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


def contributions(pipeline: Pipeline, Xt: np.ndarray) -> np.ndarray:
    scaler, model = pipeline.named_steps["scale"], pipeline.named_steps["model"]
    coef = np.ravel(model.coef_)
    return (Xt - scaler.mean_) / scaler.scale_ * coef


def reasons(pipeline: Pipeline, Xt: np.ndarray, X: np.ndarray, names: tuple[str, ...],
            k: int = 3) -> list[list[str]]:
    """For each row, up to k phrases for the features that raise its score most."""
    return reasons_from_contributions(contributions(pipeline, Xt), X, names, k)


def reasons_from_contributions(c: np.ndarray, X: np.ndarray, names: tuple[str, ...],
                               k: int = 3) -> list[list[str]]:
    """For each row, the phrases of the first k of its top k + 3 features (by contribution) that
    raise the score (contribution > 0) and have a value that says something (not NaN, not 0
    except for has_web_activity). Every distinct (feature, value) is formatted once."""
    n = len(X)
    if n == 0:
        return []
    top = np.argsort(-c, axis=1)[:, :k + 3]  # a few spare, for the ones skipped below
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
    return [out[e - m:e] for e, m in zip(ends, counts.tolist())]
