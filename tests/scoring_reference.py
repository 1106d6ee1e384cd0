"""The scoring code as it was before it was vectorised, kept verbatim as the reference the fast path
(chalicelib.predict.scoring) must equal on every field, value and key order: the features, the
model's predictions, the explanations and the rows here; the per-profile customer types,
persuasion and retention in tests/scoring_reference_per_profile.py. Not a test module:
tests/test_predict_fast_scoring.py reads it."""

import numpy as np
from scoring_reference_per_profile import (
    _reference_delay,
    _reference_persuasion,
    _reference_retention,
    _reference_types,
)

from chalicelib.predict import bgnbd
from chalicelib.predict.features import F, History, day_number

# --- The fast scoring path gives what the profile-at-a-time code gave -------------------------
# What follows is the scoring code as it was before it was vectorised (features.matrix,
# model.predict through scikit-learn, persuasion, customer types, explanations, the rows), kept
# here verbatim as the reference the fast path must equal on every field, value and key order
# (persuasion, customer types and retention in tests/scoring_reference_per_profile.py).


def _reference_matrix(history, as_of):
    from chalicelib.predict.features import FEATURES, _extreme, _sum

    n = history.n
    X = np.zeros((n, len(FEATURES)))
    pm = history.p_day < as_of
    pi, pd, po, pa = (
        history.p_idx[pm],
        history.p_day[pm],
        history.p_orders[pm],
        history.p_amount[pm],
    )
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


def _reference_transform(X):
    Z = np.nan_to_num(X, nan=-1.0)
    return np.sign(Z) * np.log1p(np.abs(Z))


def _reference_bg_features(history, cut, days, bg):
    customer, x, t_x, T = bgnbd.summary(history, cut)
    weeks = days / 7
    with np.errstate(all="ignore"):
        expected = bg.expected_purchases(weeks, x, t_x, T)
        alive = bg.p_alive(x, t_x, T)
        purchase = bg.p_purchase(weeks, x, t_x, T)
    out = np.column_stack([expected, alive, purchase])
    out[~customer] = np.nan
    return out


def _reference_predict(m, history, cut, conversion_horizon, clv_horizon):
    base = _reference_matrix(history, cut)
    customer, x, t_x, T = bgnbd.summary(history, cut)
    out = {"features": base}
    h, H = m.conversion_label_days, conversion_horizon or m.conversion_horizon
    Xc = np.hstack([base, _reference_bg_features(history, cut, h, m.bg)])
    p_h = m.conversion.predict_proba(_reference_transform(Xc))[:, 1]
    weight = (m.conversion_blend or {}).get("weight", 1.0)
    if weight < 1.0:
        with np.errstate(all="ignore"):
            p_bg = m.bg.p_purchase(h / 7, x, t_x, T)
        p_h = np.where(customer, weight * p_h + (1 - weight) * p_bg, p_h)
    if H != h:
        with np.errstate(all="ignore"):
            no_h = 1 - m.bg.p_purchase(h / 7, x, t_x, T)
            no_H = 1 - m.bg.p_purchase(H / 7, x, t_x, T)
            tail = np.where(
                customer, no_H / np.maximum(no_h, 1e-12), np.maximum(1 - p_h, 1e-12) ** (H / h - 1)
            )
        p_h = np.clip(1 - (1 - p_h) * tail, 0, 1)
    out["conversion"] = p_h
    h, H = m.clv_label_days, clv_horizon or m.clv_horizon
    Xv = (
        Xc
        if h == m.conversion_label_days
        else np.hstack([base, _reference_bg_features(history, cut, h, m.bg)])
    )
    spend_h = m.clv.predict(_reference_transform(Xv))
    if H != h:
        with np.errstate(all="ignore"):
            e_h = m.bg.expected_purchases(h / 7, x, t_x, T)
            e_H = m.bg.expected_purchases(H / 7, x, t_x, T)
            ratio = np.where(customer, e_H / np.maximum(e_h, 1e-12), H / h)
        spend_h = spend_h * np.clip(np.nan_to_num(ratio, nan=H / h), 0, max(1.0, H / h))
    out["clv_predicted"] = spend_h
    return out


def _reference_reasons(pipeline, Xt, X, names, k=3):
    """explain.grouped_reasons, one row and one group at a time."""
    from chalicelib.predict.explain import DIRECTION, GROUPS, PHRASES, contributions

    c = contributions(pipeline, Xt)
    scaler = pipeline.named_steps["scale"]
    Z = (Xt - scaler.mean_) / scaler.scale_
    groups = [[names.index(f) for f in g if f in names] for g in GROUPS]
    groups += [[j] for j in range(len(names)) if not any(j in g for g in groups)]
    out = []
    for i in range(len(X)):
        candidates = []
        for members in groups:
            total = c[i, members].sum()  # as numpy sums a row: bit-identical
            best = None
            for j in members:
                value, d = X[i, j], DIRECTION.get(names[j], 0)
                if np.isnan(value) or value == 0 or c[i, j] <= 0:
                    continue
                if d and np.sign(Z[i, j]) != d:
                    continue
                if best is None or c[i, j] > c[i, best]:
                    best = j
            if total > 0 and best is not None:
                candidates.append((-total, len(candidates), PHRASES[names[best]](X[i, best])))
        out.append([phrase for _, _, phrase in sorted(candidates)[:k]])
    return out


def _reference_score(
    behaviours,
    m,
    as_of,
    with_explanations=True,
    conversion_horizon=None,
    clv_horizon=None,
    churn_horizon=None,
):
    from chalicelib.predict.model import MODEL_FEATURES
    from chalicelib.predict.persuasion import DEFAULT_RATE

    cut = as_of.toordinal() + 1
    history = History._from_behaviours_general(behaviours)
    conversion_horizon = conversion_horizon or m.conversion_horizon
    clv_horizon = clv_horizon or m.clv_horizon
    out = _reference_predict(m, history, cut, conversion_horizon, clv_horizon)
    X = out["features"]
    p = np.nan_to_num(out["conversion"], nan=0.0, posinf=1.0, neginf=0.0)
    clv_past = X[:, F["spend"]]
    clv_predicted = np.clip(np.nan_to_num(out["clv_predicted"], nan=0.0, posinf=0.0), 0, 1e12)
    # no purchase and no visit before the cut: the prior, carried at a constant hazard
    from chalicelib.predict.model import PRIOR_FALLBACK
    from chalicelib.predict.scoring import NO_EVIDENCE

    prior = m.metadata.get("prior") or PRIOR_FALLBACK
    unseen = np.array(
        [
            not any(
                day_number(d) < cut
                for d in list(b.get("purchases") or {}) + list(b.get("activity") or {})
            )
            for b in behaviours
        ]
    )
    p[unseen] = 1 - (1 - prior["conversion"]) ** (
        conversion_horizon / prior["conversion_label_days"]
    )
    clv_predicted[unseen] = prior["spend"] * clv_horizon / prior["clv_label_days"]
    clv = clv_past + clv_predicted
    md = m.metadata
    from chalicelib.predict.customer_types import thresholds

    types, type_reasons = _reference_types(
        X,
        clv,
        _reference_delay(behaviours, cut),
        X[:, F["page_views"]],
        X[:, F["discount_interactions"]],
        thresholds(md),
    )
    prior = np.array(md.get("persuasion_prior") or [DEFAULT_RATE] * 6)
    principles, principle_reasons = _reference_persuasion(behaviours, prior)
    if with_explanations:
        Xc = np.hstack([X, _reference_bg_features(history, cut, m.conversion_label_days, m.bg)])
        conversion_reasons = _reference_reasons(
            m.conversion, _reference_transform(Xc), Xc, MODEL_FEATURES
        )
        Xv = (
            Xc
            if m.clv_label_days == m.conversion_label_days
            else np.hstack([X, _reference_bg_features(history, cut, m.clv_label_days, m.bg)])
        )
        clv_reasons = _reference_reasons(m.clv, _reference_transform(Xv), Xv, MODEL_FEATURES)
    from chalicelib.predict.fields import EXPLAINED, FIELDS

    per_profile = {
        "conversion_potential": 100 * p,
        "clv": clv,
        "clv_past": clv_past,
        "clv_predicted": clv_predicted,
        "customer_type": types,
        "persuasion_type": principles,
    }
    common = {
        "scored_at": None,
        "as_of": as_of.isoformat(),
        "model_version": md.get("version", "unsaved"),
        "conversion_horizon_days": conversion_horizon,
        "clv_horizon_days": clv_horizon,
        "churn_horizon_days": churn_horizon or 90,
    }
    kept = [_reference_retention(b, m, cut, churn_horizon or 90) for b in behaviours]
    for name in ("churn_risk", "lifecycle_stage", "next_order_at", "next_order_gap_days"):
        per_profile[name] = [k[0].get(name) for k in kept]
    assert set(per_profile) | set(common) == {f.name for f in FIELDS}
    results = []
    for i in range(len(behaviours)):
        fields = {}
        for f in FIELDS:  # the declared order; scored_at (the clock) left out
            v = per_profile[f.name][i] if f.name in per_profile else common[f.name]
            if v is not None:
                fields[f.name] = float(np.round(v, f.decimals)) if f.decimals is not None else v
        if with_explanations:
            reasons = {
                "conversion_potential": conversion_reasons[i],
                "clv": list(dict.fromkeys([f"spent {clv_past[i]:.0f} so far"] + clv_reasons[i]))[
                    :3
                ],
                "customer_type": type_reasons[i],
                "persuasion_type": principle_reasons[i],
                "churn_risk": kept[i][2],
                "next_order_at": [kept[i][1]] if kept[i][1] else [],
            }
            fields["explanations"] = {name: reasons[name] for name in EXPLAINED}
        if with_explanations and unseen[i]:
            fields["explanations"]["conversion_potential"] = [NO_EVIDENCE]
            fields["explanations"]["clv"] = ["spent 0 so far", NO_EVIDENCE]
        results.append(fields)
    return results


def _same_rows(fast, reference):
    """Equal fields, values and key order (scored_at is the clock: left out)."""
    assert len(fast) == len(reference)
    for got, want in zip(fast, reference):
        got = {k: v for k, v in got.items() if k != "scored_at"}
        assert got == want
        assert list(got) == list(want)
        assert list(got.get("explanations", {})) == list(want.get("explanations", {}))
