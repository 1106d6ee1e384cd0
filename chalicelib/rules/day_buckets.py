"""Per-profile values bucketed by day, in a compressed sparse row (CSR) layout. Pure.

One idea shared by every rule or report that asks "how much, on which days": event conditions
in a time window (rules) and purchases after a segment entry (uplift). Row i's buckets are
`days[offsets[i]:offsets[i+1]]` (days since 1970-01-01, ascending) with their `values`; a profile
without any bucket has an empty row. Every query is one pass over the buckets, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Iterable

import numpy as np

EPOCH = date(1970, 1, 1)


def day_number(day: str | date) -> int:
    """Days since 1970-01-01 of a "YYYY-MM-DD" string (or a date)."""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return (day - EPOCH).days


@dataclass(frozen=True)
class DayBuckets:
    offsets: np.ndarray  # int64, n + 1
    days: np.ndarray  # int32, ascending within each row
    values: np.ndarray  # float64

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_rows(cls, rows: Iterable[dict | None]) -> "DayBuckets":
        """From one {"YYYY-MM-DD": value} per profile (None or {} for none)."""
        offsets, days, values = [0], [], []
        for row in rows:
            for day, value in sorted((row or {}).items()):
                days.append(day_number(day))
                values.append(float(value))
            offsets.append(len(days))
        return cls(
            np.asarray(offsets, dtype=np.int64),
            np.asarray(days, dtype=np.int32),
            np.asarray(values, dtype=np.float64),
        )

    def rows(self) -> np.ndarray:
        """The row of each bucket (int64, one per bucket)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.offsets))

    def _row_sums(self, weights: np.ndarray) -> np.ndarray:
        # cumulative sums read at the row boundaries: empty rows give 0 (np.add.reduceat does not)
        total = np.concatenate(([0.0], np.cumsum(weights, dtype=np.float64)))
        return total[self.offsets[1:]] - total[self.offsets[:-1]]

    def window_sum(self, first_day: int | None = None, last_day: int | None = None) -> np.ndarray:
        """Per row, the sum of the values on days first_day..last_day (both included; None is
        unbounded)."""
        keep = np.ones(len(self.days), dtype=bool)
        if first_day is not None:
            keep &= self.days >= first_day
        if last_day is not None:
            keep &= self.days <= last_day
        return self._row_sums(np.where(keep, self.values, 0.0))

    @cached_property
    def _by_day(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The buckets ordered by day (days, rows, values): built once, kept, so that any window
        is a slice. A radix sort when the days span less than 2^15."""
        rows = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.offsets))
        keys = self.days
        if len(keys) and int(keys.max()) - int(keys.min()) < 2**15:
            keys = (keys - keys.min()).astype(np.int16)
        order = np.argsort(keys, kind="stable")
        return self.days[order], rows[order], self.values[order]

    def window_slice(
        self, first_day: int | None = None, last_day: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows and values of the buckets on days first_day..last_day, through the
        day-ordered index: one slice (views, no copy)."""
        days, rows, values = self._by_day
        info = np.iinfo(days.dtype)

        def at(day: int, side: str) -> int:
            # a bound of the days' own type: with a Python int numpy casts the whole array first
            bound = days.dtype.type(min(max(day, info.min), info.max))
            return int(np.searchsorted(days, bound, side=side))

        lo = 0 if first_day is None else at(first_day, "left")
        hi = len(days) if last_day is None else at(last_day, "right")
        return rows[lo : max(lo, hi)], values[lo : max(lo, hi)]

    def window_sum_indexed(
        self, first_day: int | None = None, last_day: int | None = None
    ) -> np.ndarray:
        """window_sum through the day-ordered index: the buckets of the window are one slice,
        summed per row; work in proportion to the buckets in the window (after the index is
        built), for rules asked again and again of one snapshot. Sums each row's values in day
        order, so integer-valued buckets (counts, cents) give exactly window_sum's answers."""
        rows, values = self.window_slice(first_day, last_day)
        sums = np.bincount(rows, weights=values, minlength=self.n)
        return sums.astype(np.float64, copy=False)  # int64 when the window holds no bucket

    def window_count(self, first_day: int | None = None, last_day: int | None = None):
        """Per row, how many days in first_day..last_day hold a bucket."""
        keep = np.ones(len(self.days), dtype=bool)
        if first_day is not None:
            keep &= self.days >= first_day
        if last_day is not None:
            keep &= self.days <= last_day
        return self._row_sums(keep.astype(np.float64))

    def sum_after(self, start_days: np.ndarray, length: int) -> np.ndarray:
        """Per row, the sum over its own window start_days[row] .. start_days[row] + length - 1
        (NaN start: 0). For outcomes after each profile's own moment, e.g. a segment entry."""
        starts = np.asarray(start_days, dtype=np.float64)[self.rows()]
        keep = (self.days >= starts) & (self.days < starts + length)
        return self._row_sums(np.where(keep, self.values, 0.0))

    def take(self, rows: np.ndarray) -> "DayBuckets":
        """The buckets of the given rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        index = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return DayBuckets(offsets, self.days[index], self.values[index])

    def nbytes(self) -> int:
        return self.offsets.nbytes + self.days.nbytes + self.values.nbytes
