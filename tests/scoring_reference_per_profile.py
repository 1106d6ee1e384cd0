"""The per-profile part of the scoring reference (tests/scoring_reference.py), kept verbatim as it
was before the scoring code was vectorised: the days from the first visit to the first order, the
customer types, the persuasion types and the retention fields (churn risk, lifecycle stage, next
order), written plainly profile by profile. Not a test module: tests/scoring_reference.py reads
it."""

import numpy as np

from chalicelib.predict.features import F, day_number


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
