"""Uplift statistics (chalicelib/audience/uplift.py) and the control assignment
(audience/uplift_groups.py): pure, against published values and planted effects."""

import math

import numpy as np
import pytest

from chalicelib.audience import uplift as up
from chalicelib.audience.uplift_groups import (
    is_control,
    parse_control_percent,
    project_bucket,
    segment_bucket,
)
from chalicelib.infra.errors import ValidationError
from chalicelib.rules.day_buckets import DayBuckets

WINDOW = 30


def simulate(seed, n=20_000, control_share=0.2, base=0.10, lift=0.20):
    """GIVEN members entering over 60 days, a share of them held out as control, control members
    buying within the window with probability `base` and treated ones with base * (1 + lift);
    every member also has noise purchases the attribution must leave out (on the day of entry,
    before it, and after the window)."""
    rng = np.random.default_rng(seed)
    entry = 20_000 + rng.integers(0, 60, n)
    control = rng.random(n) < control_share
    p = np.where(control, base, base * (1 + lift))
    converted = rng.random(n) < p
    rows, days, amounts = [], [], []

    def add(mask, day, amount):
        rows.append(np.flatnonzero(mask))
        days.append(day[mask])
        amounts.append(amount[mask])

    add(converted, entry + 1 + rng.integers(0, WINDOW, n), rng.gamma(2.0, 30.0, n))
    add(rng.random(n) < 0.3, entry, np.full(n, 500.0))  # the day of entry: not an outcome
    add(rng.random(n) < 0.3, entry - 1 - rng.integers(0, 100, n), np.full(n, 500.0))
    add(rng.random(n) < 0.3, entry + WINDOW + 1 + rng.integers(0, 50, n), np.full(n, 500.0))
    row, day, amount = (np.concatenate(x) for x in (rows, days, amounts))
    # one bucket per (row, day): several purchases on a day are summed, as behaviour does
    key = row * 100_000 + day
    unique, inverse = np.unique(key, return_inverse=True)
    revenue = np.bincount(inverse, weights=amount)
    orders = np.bincount(inverse).astype(np.float64)
    row, day = unique // 100_000, unique % 100_000
    offsets = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n)))).astype(np.int64)
    cohorts = up.Cohorts(
        entry,
        control,
        DayBuckets(offsets, day.astype(np.int32), orders),
        DayBuckets(offsets, day.astype(np.int32), revenue),
    )
    true_difference = base * lift
    return cohorts, true_difference, converted


def test_newcombe_interval_matches_the_published_examples():
    # Newcombe (1998), Statistics in Medicine 17, table II, method 10
    assert up.newcombe(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert up.newcombe(9, 10, 3, 10) == pytest.approx((0.1705, 0.8090), abs=1e-4)
    assert up.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)


def test_the_t_quantile_is_close_to_the_exact_one():
    stats = pytest.importorskip("scipy.stats")
    for df in (3, 5, 10, 30, 1000):
        assert up.t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=4e-3)


def test_welch_interval_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 3, 40), rng.normal(9, 6, 25)
    difference, low, high = up.welch(a, b)
    exact = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(a.mean() - b.mean())
    assert (low, high) == pytest.approx((exact.low, exact.high), abs=2e-3)


def test_outcomes_count_only_the_days_after_entry_within_the_window():
    # GIVEN purchases on the day of entry, the next day, the window's last day and the day after
    cohorts, _, converted = simulate(seed=0, n=2_000)
    orders, revenue = up.outcomes(cohorts, WINDOW)
    # THEN exactly the planted conversions count; the noise at 500 a purchase never does
    assert np.array_equal(orders > 0, converted)
    assert (revenue < 500).all()


def test_the_interval_covers_a_planted_lift_in_at_least_90_of_100_seeds():
    """GIVEN treated members converting 20 % more often after entry (10 % against 12 %)
    WHEN the uplift is measured for 100 seeds
    THEN the 95 % intervals of the difference and of the relative lift cover the planted effect
    in at least 90 of them."""
    covered = lift_covered = 0
    for seed in range(100):
        cohorts, true_difference, _ = simulate(seed)
        report = up.uplift(cohorts, WINDOW)
        low, high = report["conversion"]["difference_interval"]
        covered += low <= true_difference <= high
        low, high = report["conversion"]["relative_lift_interval"]
        lift_covered += low <= 0.20 <= high
    assert covered >= 90 and lift_covered >= 90


def test_without_an_effect_a_lift_is_claimed_in_at_most_about_5_percent_of_seeds():
    """GIVEN treated and control members converting alike
    WHEN the uplift is measured for 100 seeds
    THEN the verdict claims an effect (the interval excludes 0) in at most 10 of them (5 %
    expected, binomial slack)."""
    claims = 0
    for seed in range(100):
        cohorts, _, _ = simulate(seed + 1000, lift=0.0)
        report = up.uplift(cohorts, WINDOW)
        low, high = report["conversion"]["difference_interval"]
        claimed = low > 0 or high < 0
        assert claimed == report["verdict"].startswith(("It works", "It backfires"))
        claims += claimed
    assert claims <= 10


def test_a_small_test_says_not_enough_data_yet_and_how_many_members_it_needs():
    # GIVEN 50 treated and 10 control members
    control = np.array([False] * 50 + [True] * 10)
    orders = np.array([1.0] * 10 + [0.0] * 40 + [1.0] + [0.0] * 9)
    report = up.compare(orders, orders * 20, control, WINDOW)
    # THEN no verdict on the effect, and a power calculation at the observed rates
    assert report["enough_data"] is False
    assert report["verdict"].startswith("Not enough data yet")
    assert report["members_needed"] > 0
    assert f"about {report['members_needed']:,} more members" in report["verdict"]
    assert report["groups"] == {
        "treated": {"members": 50, "converted": 10},
        "control": {"members": 10, "converted": 1},
    }


def test_members_needed_matches_the_textbook_sample_size():
    # equal groups, 10 % against 12 %: about 3,841 per group at 80 % power (Fleiss, no
    # continuity correction)
    needed = up.members_needed(0.12, 0.10, 1000, 1000)
    assert needed == pytest.approx(2 * 3841, rel=0.01)
    assert up.members_needed(0.0, 0.0, 100, 100) is None


def test_a_group_with_no_member_gives_no_intervals():
    report = up.compare(np.ones(5), np.ones(5), np.zeros(5, dtype=bool), WINDOW)
    assert report["enough_data"] is False and "conversion" not in report
    assert "no member entered the control group" in report["verdict"]


def test_control_assignment_is_stable_and_moves_the_fewest_members():
    ids = [f"p{i}" for i in range(5000)]
    buckets = [segment_bucket("proj", "seg_1", pid) for pid in ids]
    # the same on every call; uniform over [0, 100)
    assert buckets == [segment_bucket("proj", "seg_1", pid) for pid in ids]
    assert 0 <= min(buckets) and max(buckets) < 100
    assert abs(np.mean(np.array(buckets) < 10) - 0.10) < 0.015
    # raising the percentage only moves members into control, lowering only out
    at = {pct: {p for p in ids if is_control("proj", "seg_1", p, pct)} for pct in (5, 10, 20)}
    assert at[5] <= at[10] <= at[20]
    # each segment draws its own members; the project-wide control is the same in every segment
    assert segment_bucket("proj", "seg_2", "p1") != segment_bucket("proj", "seg_1", "p1")
    everywhere = {p for p in ids if project_bucket("proj", p) < 10}
    for segment in ("seg_1", "seg_2"):
        assert everywhere <= {p for p in ids if is_control("proj", segment, p, 0, 10)}


@pytest.mark.parametrize("bad", [-1, 50.5, 51, "10", True, None, math.nan, math.inf, [5]])
def test_control_percent_outside_0_to_50_or_not_a_number_is_refused(bad):
    with pytest.raises(ValidationError) as raised:
        parse_control_percent(bad)
    assert raised.value.path == "/control_percent"


def test_control_percent_keeps_whole_numbers_whole():
    assert parse_control_percent(10.0) == 10 and isinstance(parse_control_percent(10.0), int)
    assert parse_control_percent(2.5) == 2.5
