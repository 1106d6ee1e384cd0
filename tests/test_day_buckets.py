"""Unit tier: the day-bucketed CSR layout (rules/day_buckets.py) against plain Python sums."""

import random

import numpy as np

from chalicelib.rules.day_buckets import DayBuckets, day_number


def _rows(seed: int, n: int = 60) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        days = rng.sample(range(20000, 20120), rng.randint(0, 6))
        rows.append({f"{np.datetime64(d, 'D')}": rng.randint(1, 5) for d in days})
    return rows


def test_window_sum_and_count_equal_plain_sums():
    # GIVEN random rows, some empty; WHEN summed over windows; THEN each equals a plain loop
    for seed in range(20):
        rows = _rows(seed)
        buckets = DayBuckets.from_rows(rows)
        for first, last in [(None, None), (20030, 20060), (20100, None), (None, 19000)]:
            sums = buckets.window_sum(first, last)
            counts = buckets.window_count(first, last)
            for i, row in enumerate(rows):
                inside = [
                    v
                    for d, v in row.items()
                    if (first is None or day_number(d) >= first)
                    and (last is None or day_number(d) <= last)
                ]
                assert sums[i] == sum(inside)
                assert counts[i] == len(inside)


def test_sum_after_uses_each_rows_own_window():
    # GIVEN one start day per row (NaN for none); THEN only days start..start+length-1 count
    rows = _rows(7)
    buckets = DayBuckets.from_rows(rows)
    starts = np.array([20000 + (i * 7) % 120 if i % 5 else np.nan for i in range(len(rows))])
    got = buckets.sum_after(starts, 14)
    for i, row in enumerate(rows):
        want = 0
        if not np.isnan(starts[i]):
            want = sum(v for d, v in row.items() if starts[i] <= day_number(d) < starts[i] + 14)
        assert got[i] == want


def test_take_keeps_rows_in_the_given_order():
    rows = _rows(3)
    picked = [5, 0, 17, 17, 59]
    taken = DayBuckets.from_rows(rows).take(np.array(picked))
    again = DayBuckets.from_rows([rows[i] for i in picked])
    assert np.array_equal(taken.offsets, again.offsets)
    assert np.array_equal(taken.days, again.days)
    assert np.array_equal(taken.values, again.values)
