"""Measured uplift of a segment: treated against control members. Pure (numpy and math only).

Members are compared by the outcomes in their own window after they entered: the days
entry + 1 .. entry + window_days (the day of entry is left out, so a purchase that made a
profile enter does not count as its outcome). Outcomes come from day buckets built from the
events' own timestamps (rules/day_buckets.py), so an event that arrives late still lands on its
day. Members whose window has not closed yet count with the days seen so far (both groups
alike, so the comparison stays fair; the rates understate the final ones).

Methods (95 % two-sided):
- conversion rate difference: Newcombe's hybrid score interval (his method 10: Wilson score
  intervals of each rate, combined); relative lift: Katz's log interval of the rate ratio, less 1.
- revenue and orders per member: Welch's interval of the difference of means (unequal
  variances, Welch-Satterthwaite degrees of freedom); relative lift: the difference over the
  control mean (the interval divided by it, the control mean taken as known: a simplification).
- "not enough data yet" below MIN_GROUP members in either group or MIN_CONVERSIONS converting
  members in all; the members still needed come from the two-proportion power calculation (80 %
  power, 5 % two-sided) at the observed rates and the observed split between the groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..rules.day_buckets import DayBuckets

Z95 = 1.959963984540054
Z80 = 0.8416212335729143  # one-sided quantile for 80 % power
MIN_GROUP = 100
MIN_CONVERSIONS = 20
REFERENCE_LIFT = 0.10  # when the observed rates do not differ: the smallest lift worth finding


@dataclass(frozen=True)
class Cohorts:
    """Members who entered, one row each: entry day (days since 1970-01-01), group, and the day
    buckets of their orders and revenue (rows aligned with the members)."""

    entry_days: np.ndarray  # int, one per member
    control: np.ndarray  # bool, one per member
    orders: DayBuckets
    revenue: DayBuckets


def outcomes(cohorts: Cohorts, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Per member: orders and revenue in its window after entry."""
    start = np.asarray(cohorts.entry_days, dtype=np.float64) + 1
    return (
        cohorts.orders.sum_after(start, window_days),
        cohorts.revenue.sum_after(start, window_days),
    )


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 - p2."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def ratio_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95):
    """Katz's log interval of the rate ratio p1 / p2, less 1 (a relative lift); None when a
    group has no conversions (the ratio is unbounded)."""
    if x1 == 0 or x2 == 0:
        return None
    ratio = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1


def t_quantile(df: float, z: float = Z95) -> float:
    """The 97.5 % quantile of Student's t (Cornish-Fisher expansion around the normal's: within
    0.004 of the exact value from 3 degrees of freedom on, 3e-4 from 5; groups this small are
    below the verdict's minimum anyway)."""
    if not math.isfinite(df) or df > 1e6:
        return z
    df = max(df, 1.0)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def welch(treated: np.ndarray, control: np.ndarray) -> tuple[float, float, float]:
    """Difference of means (treated - control) and Welch's 95 % interval of it."""
    n1, n2 = len(treated), len(control)
    m1, m2 = float(treated.mean()), float(control.mean())
    v1 = float(treated.var(ddof=1)) / n1 if n1 > 1 else 0.0
    v2 = float(control.var(ddof=1)) / n2 if n2 > 1 else 0.0
    se = math.sqrt(v1 + v2)
    if se == 0:
        return m1 - m2, m1 - m2, m1 - m2
    df = (v1 + v2) ** 2 / (
        (v1**2 / (n1 - 1) if n1 > 1 else 0) + (v2**2 / (n2 - 1) if n2 > 1 else 0) or 1e-300
    )
    half = t_quantile(df) * se
    return m1 - m2, m1 - m2 - half, m1 - m2 + half


def members_needed(p_treated: float, p_control: float, n_treated: int, n_control: int):
    """Members (both groups, in today's split) a two-proportion test needs to find the observed
    difference (or REFERENCE_LIFT on the control rate when none is observed) with 80 % power at
    5 % two-sided; None when no rate can be planned from (no conversion at all)."""
    if n_treated == 0 or n_control == 0:
        return None
    base = p_control if p_control > 0 else p_treated
    if base <= 0:
        return None
    delta = abs(p_treated - p_control)
    if delta == 0:
        p_treated, delta = min(base * (1 + REFERENCE_LIFT), 1.0), base * REFERENCE_LIFT
    k = n_treated / n_control  # treated per control member
    p_bar = (k * p_treated + p_control) / (k + 1)
    control_needed = (
        Z95 * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / k))
        + Z80 * math.sqrt(p_treated * (1 - p_treated) / k + p_control * (1 - p_control))
    ) ** 2 / delta**2
    return math.ceil(control_needed * (1 + k))


def _metric(treated: np.ndarray, control: np.ndarray) -> dict:
    difference, low, high = welch(treated, control)
    base = float(control.mean())
    return {
        "treated": round(float(treated.mean()), 4),
        "control": round(base, 4),
        "difference": round(difference, 4),
        "difference_interval": [round(low, 4), round(high, 4)],
        "relative_lift": round(difference / base, 4) if base else None,
        "relative_lift_interval": [round(low / base, 4), round(high / base, 4)] if base else None,
    }


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def compare(orders: np.ndarray, revenue: np.ndarray, control: np.ndarray, window_days: int) -> dict:
    """The uplift report of members' outcomes (per member: orders, revenue in its window) and
    groups (True: control)."""
    control = np.asarray(control, dtype=bool)
    converted = orders > 0
    n_c = int(control.sum())
    n_t = int(len(control) - n_c)
    x_c = int(np.count_nonzero(converted & control))
    x_t = int(np.count_nonzero(converted & ~control))
    p_t = x_t / n_t if n_t else 0.0
    p_c = x_c / n_c if n_c else 0.0
    out = {
        "window_days": window_days,
        "groups": {
            "treated": {"members": n_t, "converted": x_t},
            "control": {"members": n_c, "converted": x_c},
        },
        "methods": {
            "conversion": "Newcombe hybrid score interval (difference); Katz log interval (lift)",
            "revenue_per_member": "Welch interval of the difference of means",
            "orders_per_member": "Welch interval of the difference of means",
        },
        "minimum": {"members_per_group": MIN_GROUP, "conversions": MIN_CONVERSIONS},
    }
    if n_t == 0 or n_c == 0:
        out.update(
            enough_data=False,
            members_needed=None,
            verdict="Not enough data yet: no member entered the "
            + ("control" if n_c == 0 else "treated")
            + " group in this period.",
        )
        return out
    low, high = (round(v, 4) for v in newcombe(x_t, n_t, x_c, n_c))  # as reported
    lift = ratio_interval(x_t, n_t, x_c, n_c)
    out["conversion"] = {
        "treated": round(p_t, 4),
        "control": round(p_c, 4),
        "difference": round(p_t - p_c, 4),
        "difference_interval": [low, high],
        "relative_lift": round(p_t / p_c - 1, 4) if p_c else None,
        "relative_lift_interval": [round(v, 4) for v in lift] if lift else None,
    }
    out["revenue_per_member"] = _metric(revenue[~control], revenue[control])
    out["orders_per_member"] = _metric(orders[~control], orders[control])
    needed = members_needed(p_t, p_c, n_t, n_c)
    more = None if needed is None else max(0, needed - n_t - n_c)
    out["members_needed"] = more
    enough = min(n_t, n_c) >= MIN_GROUP and x_t + x_c >= MIN_CONVERSIONS
    out["enough_data"] = enough
    out["verdict"] = _verdict(enough, low, high, p_t, p_c, n_t, n_c, more, window_days)
    return out


def _verdict(enough, low, high, p_t, p_c, n_t, n_c, more, window_days) -> str:
    rates = (
        f"{p_t * 100:.1f} % of treated and {p_c * 100:.1f} % of control members bought within "
        f"{window_days} days of entering"
    )
    needs = (
        "no conversion yet, so no estimate of the members needed"
        if more is None
        else f"about {more:,} more members at the observed rates"
    )
    if not enough:
        return (
            f"Not enough data yet: {rates}; a verdict needs at least {MIN_GROUP} members in each "
            f"group and {MIN_CONVERSIONS} conversions ({n_t:,} treated and {n_c:,} control so "
            f"far), and finding this difference needs {needs}."
        )
    difference = f"a difference of {_points(p_t - p_c)} percentage points"
    interval = f"(95 % interval {_points(low)} to {_points(high)})"
    if low > 0:
        return f"It works: {rates}, {difference} {interval}."
    if high < 0:
        return (
            f"It backfires: {rates}, {difference} {interval}: targeting these members lowers "
            "their conversion."
        )
    tail = "" if more == 0 else f"; telling a difference this small needs {needs}"
    return f"No measurable lift: {rates} {interval}{tail}."


def uplift(cohorts: Cohorts, window_days: int) -> dict:
    """The uplift report of the cohorts, window_days after each member's entry."""
    orders, revenue = outcomes(cohorts, window_days)
    return compare(orders, revenue, cohorts.control, window_days)
