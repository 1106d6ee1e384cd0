"""Merging columnar snapshots without going back to values: the shards' parts of a rescore into
one snapshot, an old snapshot and the change log's rows into a compacted one. Pure (numpy).

Every part is sorted by profile id and the parts hold disjoint ids. Columns are concatenated in
their encodings (dictionaries united and codes remapped, scaled integers brought to one scale,
else decoded to float64), then every column is put in id order by one stable argsort of the ids,
which finds the parts' sorted runs (timsort): O(n log k) comparisons, and memory of a few
copies of the columns, never a Python object per value. Dictionary entries no row uses any more
are dropped, so a text only an erased profile held does not stay behind."""

from __future__ import annotations

import numpy as np

from ..rules.column_encoding import INT_SENTINEL, Column, Snapshot
from ..rules.event_columns import EventColumns
from ..rules.stored import BOOLEAN, DATE, ENUM, LIST, NUMBER, TEXT


def _code_dtype(size: int):
    return np.int8 if size < 127 else np.int16 if size < 32767 else np.int32


def _as_float(col: Column) -> np.ndarray:
    """A number or date column as float64 (dates as seconds since the epoch), NaN: no value."""
    if col.scale < 0:
        return col.values.astype(np.float64)
    floats = col.values.astype(np.float64) / 10**col.scale + col.offset
    floats[col.values == np.iinfo(col.values.dtype).min] = np.nan
    return floats


def _numbers(ftype: str, parts: list[Column | None], sizes: list[int]) -> Column:
    present = np.concatenate(
        [np.zeros(n, bool) if c is None else c.present for c, n in zip(parts, sizes)]
    )
    cols = [c for c in parts if c is not None]
    scaled = all(c.scale >= 0 for c in cols) and len({c.offset for c in cols}) <= 1
    if scaled and cols:
        scale, offset = max(c.scale for c in cols), cols[0].offset
        chunks, fits16 = [], True
        for c, n in zip(parts, sizes):
            if c is None:
                chunks.append(np.full(n, INT_SENTINEL[np.int32], np.int64))
                continue
            v = c.values.astype(np.int64)
            missing = c.values == np.iinfo(c.values.dtype).min
            v = v * 10 ** (scale - c.scale)
            v[missing] = INT_SENTINEL[np.int32]
            chunks.append(v)
        values = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
        live = values[values != INT_SENTINEL[np.int32]]
        if not live.size or np.abs(live).max() < 2**31 - 2:
            fits16 = not live.size or np.abs(live).max() < 2**15 - 2
            dtype = np.int16 if fits16 else np.int32
            out = values.astype(dtype)
            out[values == INT_SENTINEL[np.int32]] = INT_SENTINEL[dtype]
            return Column(ftype, present, out, scale, offset)
    floats = np.concatenate(
        [np.full(n, np.nan) if c is None else _as_float(c) for c, n in zip(parts, sizes)]
    )
    return Column(ftype, present, floats, -1, 0.0)


def _recode(parts: list[Column | None]) -> tuple[list, list[np.ndarray]]:
    """The united dictionary, and for each part the lookup from its codes to the new ones."""
    words = sorted(set().union(*(c.dictionary for c in parts if c is not None)))
    united = np.array(words, dtype=object)
    lookups = [
        np.searchsorted(united, np.array(c.dictionary, dtype=object)).astype(np.int64)
        if c is not None and c.dictionary
        else np.zeros(0, np.int64)
        for c in parts
    ]
    return words, lookups


def _codes(ftype: str, parts: list[Column | None], sizes: list[int]) -> Column:
    words, lookups = _recode(parts)
    codes = np.concatenate(
        [
            np.full(n, -1, np.int64)
            if c is None
            else np.where(c.values >= 0, lookup[np.maximum(c.values, 0)] if lookup.size else -1, -1)
            for c, n, lookup in zip(parts, sizes, lookups)
        ]
    )
    present = np.concatenate(
        [np.zeros(n, bool) if c is None else c.present for c, n in zip(parts, sizes)]
    )
    return Column(ftype, present, codes.astype(_code_dtype(len(words))), dictionary=words)


def _lists(parts: list[Column | None], sizes: list[int]) -> Column:
    words, lookups = _recode(parts)
    flats, offsets, is_list, present, base = [], [np.zeros(1, np.int64)], [], [], 0
    for c, n, lookup in zip(parts, sizes, lookups):
        if c is None:
            offsets.append(np.full(n, base, np.int64))
            is_list.append(np.zeros(n, bool))
            present.append(np.zeros(n, bool))
            continue
        flats.append(lookup[c.values.astype(np.int64)] if c.values.size else np.zeros(0, np.int64))
        offsets.append(c.offsets[1:].astype(np.int64) + base)
        base += int(c.offsets[-1])
        is_list.append(c.is_list)
        present.append(c.present)
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int64)
    return Column(
        LIST,
        np.concatenate(present),
        flat.astype(_code_dtype(len(words))),
        dictionary=words,
        offsets=np.concatenate(offsets),
        is_list=np.concatenate(is_list),
    )


def concat(ftype: str, parts: list[Column | None], sizes: list[int]) -> Column:
    """The parts' rows one after the other; None: a part without the field (absent there)."""
    if ftype in (NUMBER, DATE):
        return _numbers(ftype, parts, sizes)
    if ftype in (TEXT, ENUM):
        return _codes(ftype, parts, sizes)
    if ftype == BOOLEAN:
        values = np.concatenate(
            [np.full(n, -1, np.int8) if c is None else c.values for c, n in zip(parts, sizes)]
        )
        present = np.concatenate(
            [np.zeros(n, bool) if c is None else c.present for c, n in zip(parts, sizes)]
        )
        return Column(BOOLEAN, present, values)
    if ftype == LIST:
        return _lists(parts, sizes)
    raise ValueError(ftype)


def take(col: Column, rows: np.ndarray) -> Column:
    """The column's rows in the given order (a permutation or a selection), with dictionary
    entries no remaining row uses dropped."""
    if col.offsets is None:
        values = col.values[rows]
        if col.type in (TEXT, ENUM):
            return _pruned(Column(col.type, col.present[rows], values, dictionary=col.dictionary))
        return Column(
            col.type, col.present[rows], values, col.scale, col.offset, list(col.dictionary)
        )
    lengths = np.diff(col.offsets)[rows]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = col.offsets[:-1][rows]
    index = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
    out = Column(
        LIST,
        col.present[rows],
        col.values[index],
        dictionary=col.dictionary,
        offsets=offsets,
        is_list=col.is_list[rows],
    )
    return _pruned(out)


def _pruned(col: Column) -> Column:
    codes = col.values.astype(np.int64)
    used = np.unique(codes[codes >= 0])
    if len(used) == len(col.dictionary):
        return col
    lookup = np.full(len(col.dictionary) + 1, -1, np.int64)
    lookup[used] = np.arange(len(used))
    recoded = np.where(codes >= 0, lookup[codes], -1).astype(_code_dtype(len(used)))
    col.values, col.dictionary = recoded, [col.dictionary[i] for i in used]
    return col


def fields_of(snapshots: list[Snapshot]) -> dict[str, str]:
    """Every field path of the parts and its type; ValueError when parts disagree on a type (the
    catalogue changed meanwhile: the next full snapshot takes it)."""
    fields: dict[str, str] = {}
    for s in snapshots:
        for path, col in s.columns.items():
            if fields.setdefault(path, col.type) != col.type:
                raise ValueError(f"{path} is {col.type} in one part and {fields[path]} in another")
    return fields


def merge(snapshots: list[Snapshot], fields: dict[str, str] | None = None) -> Snapshot:
    """One snapshot of the parts' rows in id order. Parts hold disjoint ids (ValueError if not).
    `fields` ({path: type}) keeps only those columns, adding absent ones a part lacks."""
    fields = fields_of(snapshots) if fields is None else fields
    sizes = [s.n for s in snapshots]
    ids = (
        np.concatenate([s.profile_ids for s in snapshots])
        if snapshots
        else np.zeros(0, dtype=object)
    )
    order = np.argsort(ids, kind="stable")  # timsort: finds the parts' sorted runs
    ids = ids[order]
    if len(ids) > 1 and not (ids[1:] != ids[:-1]).all():
        raise ValueError("the parts share a profile id")
    columns = {}
    for path, ftype in fields.items():
        parts = [s.columns.get(path) for s in snapshots]
        parts = [c if c is not None and c.type == ftype else None for c in parts]
        columns[path] = take(concat(ftype, parts, sizes), order)
    # event day counts: only when every part has them (a part without is stale for event rules)
    events = None
    if snapshots and all(s.events is not None for s in snapshots):
        events = EventColumns.concat([s.events for s in snapshots]).take(order)
    return Snapshot(ids, columns, events)


def drop(snapshot: Snapshot, profile_ids) -> Snapshot:
    """The snapshot less the given profiles' rows (changed or erased)."""
    gone = np.array(sorted(profile_ids), dtype=object)
    ids = snapshot.profile_ids
    if not len(gone) or not len(ids):
        return snapshot
    at = np.minimum(np.searchsorted(ids, gone), len(ids) - 1)
    keep = np.ones(len(ids), bool)
    keep[at[ids[at] == gone]] = False
    if keep.all():
        return snapshot
    rows = np.flatnonzero(keep)
    events = snapshot.events.take(rows) if snapshot.events is not None else None
    return Snapshot(ids[rows], {p: take(c, rows) for p, c in snapshot.columns.items()}, events)
