"""The snapshot's event day counts: per key of `behaviour.events` (rules/event_keys.py), one
DayBuckets of event counts (and, for purchases, one of amounts in cents). Pure.

In memory each key is a plain DayBuckets (rules/day_buckets.py), so a window is one windowed
sum. Stored compactly (to_arrays; nbytes measures that form): each profile's active days once,
as offsets from the snapshot's first day in the smallest unsigned type, with a per-profile day
count; each key then says which of those days it holds (a bitmap over them, or positions when
fewer than one in 32 are its) and its counts (and cents) on those days, in the smallest type
that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .day_buckets import DayBuckets
from .event_keys import day_counts

ROW_SHIFT = np.int64(1) << 32  # (row, day) as one sortable int64: row * 2^32 + day offset


def _smallest_unsigned(top: int):
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _packed(values: np.ndarray) -> np.ndarray:
    top = int(values.max()) if len(values) else 0
    return values.astype(_smallest_unsigned(top))


@dataclass
class EventColumns:
    n: int
    keys: list[str]
    counts: list[DayBuckets]  # per key
    cents: list[DayBuckets | None]  # per key: amounts x 100 (purchase keys), else None
    # the stored form, encoded once (a snapshot is saved, then its size reported)
    _stored: tuple | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_rows(cls, rows: list) -> "EventColumns":
        """From each profile's `behaviour.events` (None or {} for none)."""
        found: dict[str, list[list]] = {}  # key -> [rows, days, counts, cents, any cents]
        for row, stored in enumerate(rows):
            if not isinstance(stored, dict):
                continue
            for key, days in stored.items():
                if not isinstance(key, str):
                    continue
                lists = found.setdefault(key, [[], [], [], [], False])
                for day, count, cents in sorted(day_counts(days)):
                    lists[0].append(row)
                    lists[1].append(day)
                    lists[2].append(count)
                    lists[3].append(cents)
                    lists[4] = lists[4] or len(days) == 3
        keys = sorted(found)
        counts, cents = [], []
        for key in keys:
            r, d, c, m, summed = found[key]
            offsets = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum(
                np.bincount(np.asarray(r, dtype=np.int64), minlength=len(rows)), out=offsets[1:]
            )
            days = np.asarray(d, dtype=np.int32)
            counts.append(DayBuckets(offsets, days, np.asarray(c, dtype=np.float64)))
            cents.append(
                DayBuckets(offsets, days, np.asarray(m, dtype=np.float64)) if summed else None
            )
        return cls(len(rows), keys, counts, cents)

    @classmethod
    def empty(cls, n: int) -> "EventColumns":
        return cls(n, [], [], [])

    @classmethod
    def concat(cls, parts: list["EventColumns"]) -> "EventColumns":
        """The parts' rows one after another (a key a part lacks: no buckets in its rows)."""
        keys = sorted(set().union(*(p.keys for p in parts)))
        counts, cents = [], []
        for key in keys:
            offsets, days, values, amounts, summed, base = (
                [np.zeros(1, np.int64)],
                [],
                [],
                [],
                False,
                0,
            )
            for part in parts:
                if key not in part.keys:
                    offsets.append(np.full(part.n, base, np.int64))
                    continue
                i = part.keys.index(key)
                b, m = part.counts[i], part.cents[i]
                offsets.append(b.offsets[1:] + base)
                days.append(b.days)
                values.append(b.values)
                amounts.append(m.values if m is not None else np.zeros(len(b.values)))
                summed = summed or m is not None
                base += len(b.days)
            offsets = np.concatenate(offsets)
            days = np.concatenate(days).astype(np.int32)
            counts.append(DayBuckets(offsets, days, np.concatenate(values)))
            cents.append(DayBuckets(offsets, days, np.concatenate(amounts)) if summed else None)
        return cls(sum(p.n for p in parts), keys, counts, cents)

    def take(self, rows: np.ndarray) -> "EventColumns":
        """The given rows, in that order (e.g. the rows left after an erasure)."""
        counts = [b.take(rows) for b in self.counts]
        cents = [
            None if m is None else DayBuckets(c.offsets, c.days, m.take(rows).values)
            for c, m in zip(counts, self.cents)
        ]
        return EventColumns(len(rows), list(self.keys), counts, cents)

    # --- the stored form --------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        if self._stored is None:
            self._stored = self._encode()
        return self._stored

    def _encode(self) -> tuple[dict[str, np.ndarray], dict]:
        if not self.keys:
            return {}, {"keys": [], "base": 0, "stored": []}
        codes = [b.rows() * ROW_SHIFT + b.days for b in self.counts]
        base = int(
            min(int(b.days.min()) for b in self.counts if len(b.days))
            if any(len(b.days) for b in self.counts)
            else 0
        )
        axis = np.concatenate(codes) - base  # (row, day - base)
        axis.sort()  # then distinct: np.unique's hash table is ~10x slower here (numpy 2.4)
        axis = axis[np.concatenate(([True], axis[1:] != axis[:-1]))]
        rows, offsets = axis // ROW_SHIFT, axis % ROW_SHIFT
        arrays = {
            "e_lengths": _packed(np.bincount(rows, minlength=self.n)),
            "e_days": _packed(offsets),
        }
        stored = []
        for i, (code, b, m) in enumerate(zip(codes, self.counts, self.cents)):
            at = np.searchsorted(axis, code - base)
            if len(at) * 32 < len(axis):
                arrays[f"e{i}_at"] = _packed(at)
                stored.append("at")
            else:
                bits = np.zeros(len(axis), dtype=bool)
                bits[at] = True
                arrays[f"e{i}_bits"] = np.packbits(bits)
                stored.append("bits")
            arrays[f"e{i}_counts"] = _packed(b.values.astype(np.int64))
            if m is not None:
                arrays[f"e{i}_cents"] = _packed(m.values.astype(np.int64))
        return arrays, {"keys": self.keys, "base": base, "stored": stored}

    @classmethod
    def from_arrays(cls, n: int, arrays, meta: dict) -> "EventColumns":
        if not meta["keys"]:
            return cls.empty(n)
        lengths = arrays["e_lengths"].astype(np.int64)
        axis_rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        axis_days = arrays["e_days"].astype(np.int32) + meta["base"]
        counts, cents = [], []
        for i, how in enumerate(meta["stored"]):
            if how == "at":
                at = arrays[f"e{i}_at"].astype(np.int64)
            else:
                at = np.flatnonzero(np.unpackbits(arrays[f"e{i}_bits"], count=len(axis_rows)))
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(axis_rows[at], minlength=n), out=offsets[1:])
            days = axis_days[at]
            counts.append(DayBuckets(offsets, days, arrays[f"e{i}_counts"].astype(np.float64)))
            key_cents = f"e{i}_cents"
            cents.append(
                DayBuckets(offsets, days, arrays[key_cents].astype(np.float64))
                if key_cents in arrays
                else None
            )
        return cls(n, list(meta["keys"]), counts, cents)

    def nbytes(self) -> int:
        """Bytes of the stored form."""
        arrays, _ = self.to_arrays()
        return sum(a.nbytes for a in arrays.values()) + sum(len(k) + 8 for k in self.keys)
