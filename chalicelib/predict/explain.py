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
    c = contributions(pipeline, Xt)
    top = np.argsort(-c, axis=1)[:, :k + 3]  # a few spare, for the ones skipped below
    out = []
    for i in range(len(X)):
        phrases = []
        for j in top[i]:
            if c[i, j] <= 0 or len(phrases) == k:
                break
            value = X[i, j]
            if np.isnan(value) or (value == 0 and names[j] != "has_web_activity"):
                continue  # "0 page views" explains nothing to a marketer
            phrase = PHRASES[names[j]](value)
            if phrase not in phrases:
                phrases.append(phrase)
        out.append(phrases)
    return out

