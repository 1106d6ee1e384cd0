"""The scoring code as it was before it was vectorised, kept verbatim as the reference the fast path
(chalicelib.predict.scoring) must equal on every field, value and key order. Not a test module:
tests/test_predict_fast_scoring.py reads it."""

import numpy as np

from chalicelib.predict import bgnbd
from chalicelib.predict.features import F, History, day_number

# --- The fast scoring path gives what the profile-at-a-time code gave -------------------------
# What follows is the scoring code as it was before it was vectorised (features.matrix,
# model.predict through scikit-learn, persuasion, customer types, explanations, the rows), kept
# here verbatim as the reference the fast path must equal on every field, value and key order.


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


def _reference_delay(behaviours, cut):
    """Days from the first web activity to the first order on or after it, profile by profile."""
    out = []
    for b in behaviours:
        web = [day_number(d) for d in (b.get("activity") or {}) if day_number(d) < cut]
        if not web:
            out.append(np.inf)
            continue
        first = min(web)
        orders = [day_number(d) for d in (b.get("purchases") or {}) if first <= day_number(d) < cut]
        out.append(float(min(orders) - first) if orders else np.inf)
    return np.array(out)


def _reference_types(X, clv, delay, page_views, discounts, limits):
    """The customer types of issue 12 (quantile thresholds, rates per month of tenure, the delay
    from the first web visit), written plainly profile by profile."""
    from chalicelib.predict.customer_types import TYPES

    types, reasons = [], []
    for i in range(len(X)):
        orders, sessions = X[i, F["orders"]], X[i, F["sessions"]]
        web = X[i, F["has_web_activity"]] > 0
        tenure = X[i, F["days_since_first_seen"]]
        months = max(0.0 if np.isnan(tenure) else tenure, 30) / 30.0
        rate, session_rate = orders / months, sessions / months
        pages = page_views[i] / max(sessions, 1)
        share = X[i, F["discount_share"]]
        if (
            orders >= 2
            and rate >= limits["believer_orders_a_month"]
            and clv[i] >= limits["believer_clv"]
        ):
            kind, text = (
                "Believer",
                (
                    f"{int(orders)} orders, {rate:.1f} a month: among the most frequent buyers, "
                    "with a CLV above the median customer's"
                ),
            )
        elif web and discounts[i] >= 2 and share >= limits["economical_discount_share"]:
            kind = "Economical"
            text = f"{int(discounts[i])} discount interactions ({share:.0%} of product views)"
        elif web and 0 <= delay[i] <= 2:
            kind, text = "Passionate", f"bought {int(delay[i])} days after the first visit"
        elif (
            web
            and pages <= limits["single_minded_pages_a_session"]
            and session_rate <= limits["single_minded_sessions_a_month"]
        ):
            kind = "Single-minded"
            text = f"{int(sessions)} sessions, {pages:.1f} pages a session: straight to the point"
        elif web:
            kind = "Explorer"
            text = f"{int(sessions)} sessions, {pages:.1f} pages a session, {int(orders)} orders"
        else:
            kind, text = None, None
        assert kind is None or kind in TYPES
        types.append(kind)
        reasons.append([] if kind is None else [text])
    return types, reasons


def _reference_persuasion(behaviours, prior):
    from scipy.special import ndtr

    from chalicelib.predict import persuasion as ps

    types_ = ps.PERSUASION_TYPES
    shown = np.zeros((len(behaviours), len(types_)))
    responded = np.zeros_like(shown)
    for i, b in enumerate(behaviours):
        for principle, (s, r) in (b.get("persuasion") or {}).items():
            if principle in types_:
                j = types_.index(principle)
                shown[i, j], responded[i, j] = s, r
    a = prior * ps.PRIOR_STRENGTH + responded
    b = (1 - prior) * ps.PRIOR_STRENGTH + (shown - responded)
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    order = np.argsort(-mean, axis=1)
    rows = np.arange(len(mean))
    best, second = order[:, 0], order[:, 1]
    z = (mean[rows, best] - mean[rows, second]) / np.sqrt(var[rows, best] + var[rows, second])
    enough = (shown.sum(axis=1) >= ps.MIN_SHOWN) & (ndtr(z) >= ps.MIN_CONFIDENCE)
    types, reasons = [], []
    for i in range(len(mean)):
        if not enough[i]:
            types.append(None)
            reasons.append([])
            continue
        j = best[i]
        types.append(types_[j])
        reasons.append(
            [
                f"responded to {types_[j]} {int(responded[i, j])} of "
                f"{int(shown[i, j])} times (other principles "
                f"{int(responded[i].sum() - responded[i, j])} of "
                f"{int(shown[i].sum() - shown[i, j])})"
            ]
        )
    return types, reasons


def _reference_retention(behaviour, m, cut, horizon):
    """The retention fields of one profile, written plainly from predict/retention.py's
    docstring and STAGE_RULES (None where the profile has no value), and the phrase of the
    next-order reason."""
    import math
    from datetime import date

    from chalicelib.predict import explain, retention
    from chalicelib.predict.retention_fit import default_params

    params = m.metadata.get("retention") or default_params()
    purchases = {
        day_number(d): v
        for d, v in (behaviour.get("purchases") or {}).items()
        if day_number(d) < cut
    }
    if not purchases:
        return {}, None, []
    days = len(purchases)
    first, last = min(purchases), max(purchases)
    recency, tenure = cut - last, cut - first
    orders = sum(v[0] for v in purchases.values())
    spend = sum(v[1] for v in purchases.values())
    aov = spend / max(orders, 1)
    gap = (tenure - recency) / (days - 1) if days > 1 else None
    x, t_x, T = days - 1, (last - first) / 7, (tenure - 1) / 7
    bg = m.bg

    def no_purchase(d):
        return 1 - float(bg.p_purchase(d / 7, np.float64(x), t_x, T))

    h, cycle = params["label_days"], params["cycle_days"]
    q = min(max(no_purchase(h), 1e-4), 1 - 1e-4)
    inputs = np.log1p(
        [recency, days, tenure, aov, recency / cycle, recency / gap if gap else 0.0, 0.0]
    )
    inputs[6] = math.log(q / (1 - q))
    c = params["churn"]
    z = (inputs - np.asarray(c["mean"])) / np.asarray(c["scale"])
    p = 1 / (1 + math.exp(-(float(z @ np.asarray(c["coef"])) + c["intercept"])))
    if horizon != h:
        p = min(max(p * no_purchase(horizon) / max(no_purchase(h), 1e-12), 0.0), 1.0)
    cycles = recency / cycle
    if cycles > 8:
        stage = "Lost"
    elif cycles > 4:
        stage = "Sleeping"
    elif cycles > 2:
        stage = "One-time" if days == 1 else "At risk"
    else:
        stage = "New" if days == 1 else "Promising" if days < 4 else "Loyal"
    out = {"churn_risk": float(np.round(100 * p, 1)), "lifecycle_stage": stage}
    # reasons: the two largest shares in the direction the risk moves from the average, among
    # features whose value reads that way (explain.CHURN_DIRECTION)
    share = z * np.asarray(c["coef"])
    moves = 1 if share.sum() >= 0 else -1
    raw = [recency, days, tenure, aov, recency / cycle, recency / gap if gap else 0.0]
    raw.append(no_purchase(h))
    candidates = []
    for j, reads in enumerate(explain.CHURN_DIRECTION.tolist()):
        agrees = reads == 0 or np.sign(z[j]) * reads == moves
        if agrees and share[j] * moves > 0 and math.isfinite(raw[j]) and raw[j] != 0:
            candidates.append((-share[j] * moves, j))
    reasons = []
    for _, j in sorted(candidates)[:2]:
        phrase = explain.CHURN_PHRASES[retention.CHURN_FEATURES[j]]
        reasons.append(phrase(round(raw[j], 3)))
    if gap is None:
        return out, None, reasons
    n = params["next_order"]
    window = n["window_days"]
    median = 7 * (bg.alpha + T) * (2 ** (1 / (bg.r + x)) - 1)
    inputs = np.array(
        [
            math.log(max(gap, 1.0)),
            math.log1p(recency),
            math.log1p(days),
            math.log(window),
            math.log(min(max(median, 1.0), 10 * window)),
        ]
    )
    z = (inputs - np.asarray(n["mean"])) / np.asarray(n["scale"])
    ahead = round(min(max(math.exp(float(z @ np.asarray(n["coef"])) + n["intercept"]), 1), 3650))
    out["next_order_at"] = date.fromordinal(cut - 1 + ahead).isoformat()
    out["next_order_gap_days"] = float(ahead + recency - 1)
    g = round(gap)
    return out, f"orders every {g} day{'s' * (g != 1)} on average ({days} purchase days)", reasons


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
