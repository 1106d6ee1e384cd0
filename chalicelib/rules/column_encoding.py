"""A columnar snapshot of profiles: each catalogue field one column of the smallest exact
encoding. Pure.

- number: scaled integers (value x 10^d in int16/int32, d = 0..3, when every value is an exact
  decimal that fits), else float64; a sentinel marks missing or wrongly-typed values;
- text and enum: dictionary codes (int8/int16/int32, -1 for missing or wrongly-typed);
- boolean: int8 (0, 1, -1); date: float64 seconds since the epoch (NaN for missing);
- list: a dictionary-coded flat array with row offsets (CSR).
A packed bit per field and profile says whether the field is stored at all.
Rules over it compile in columnar.py.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .event_columns import EventColumns
from .stored import (
    ABSENT,
    BOOLEAN,
    DATE,
    ENUM,
    LIST,
    MISMATCH,
    NUMBER,
    TEXT,
    coerce_stored,
    field_value,
)

if TYPE_CHECKING:
    from .fields import Catalogue

INT_SENTINEL = {np.int16: -(2**15), np.int32: -(2**31)}  # the dtype's minimum


@dataclass
class Column:
    type: str
    present: np.ndarray  # bool per profile (kept packed in storage: see nbytes)
    values: np.ndarray
    scale: int = -1  # numbers, dates: decimals of the scaled integers; -1 for float64
    offset: float = 0.0  # dates: seconds subtracted before scaling (2000-01-01)
    dictionary: list = field(default_factory=list)
    offsets: np.ndarray | None = None  # lists: row offsets into values
    is_list: np.ndarray | None = None  # lists: stored value is a list (present may be other)
    # derived on first use, never stored: which rows hold a value of the right type
    _valid: np.ndarray | None = field(default=None, repr=False)
    _complete: bool | None = field(default=None, repr=False)

    def nbytes(self) -> int:
        extra = self.offsets.nbytes if self.offsets is not None else 0
        return self.values.nbytes + extra + math.ceil(len(self.present) / 8)


DATE_OFFSET = 946684800.0  # 2000-01-01: int32 seconds around it reach 1932..2068


def _encode_numbers(raw: list, offset: float = 0.0) -> tuple[np.ndarray, int]:
    floats = np.array([v - offset if v is not None else np.nan for v in raw], dtype=np.float64)
    finite = floats[~np.isnan(floats)]
    for decimals in range(4):
        scaled = np.round(finite * 10**decimals)
        # exact: every stored double is the double nearest to its integer / 10^d
        if np.all(np.abs(scaled) < 2**31 - 2) and np.all(scaled / 10**decimals == finite):
            dtype = np.int16 if np.all(np.abs(scaled) < 2**15 - 2) else np.int32
            out = np.full(len(raw), INT_SENTINEL[dtype], dtype=dtype)
            mask = ~np.isnan(floats)
            out[mask] = np.round(floats[mask] * 10**decimals).astype(dtype)
            return out, decimals
    return floats, -1


def _code_dtype(size: int):
    return np.int8 if size < 127 else np.int16 if size < 32767 else np.int32


def _encode_codes(raw: list) -> tuple[np.ndarray, list]:
    dictionary = sorted({v for v in raw if v is not None})
    index = {v: i for i, v in enumerate(dictionary)}
    codes = np.array(
        [index[v] if v is not None else -1 for v in raw], dtype=_code_dtype(len(dictionary))
    )
    return codes, dictionary


def build_column(field_type: str, stored: list) -> Column:
    """`stored` holds each profile's raw value or ABSENT."""
    present = np.array([v is not ABSENT for v in stored], dtype=bool)
    typed = []
    for v in stored:
        c = MISMATCH if v is ABSENT else coerce_stored(field_type, v)
        typed.append(None if c is MISMATCH else c)
    if field_type == NUMBER:
        values, scale = _encode_numbers(typed)
        return Column(NUMBER, present, values, scale)
    if field_type in (TEXT, ENUM):
        codes, dictionary = _encode_codes(typed)
        return Column(field_type, present, codes, dictionary=dictionary)
    if field_type == BOOLEAN:
        return Column(
            BOOLEAN, present, np.array([-1 if v is None else int(v) for v in typed], dtype=np.int8)
        )
    if field_type == DATE:
        values, scale = _encode_numbers(
            [None if v is None else v.timestamp() for v in typed], DATE_OFFSET
        )
        if scale < 0:
            values = values + DATE_OFFSET
        return Column(DATE, present, values, scale, offset=DATE_OFFSET if scale >= 0 else 0.0)
    if field_type == LIST:
        elements = [[e for e in v if isinstance(e, str)] if v is not None else [] for v in typed]
        dictionary = sorted({e for row in elements for e in row})
        index = {e: i for i, e in enumerate(dictionary)}
        flat = np.array(
            [index[e] for row in elements for e in row], dtype=_code_dtype(len(dictionary))
        )
        offsets = np.cumsum([0] + [len(row) for row in elements]).astype(np.int64)
        is_list = np.array([v is not None for v in typed], dtype=bool)
        return Column(LIST, present, flat, dictionary=dictionary, offsets=offsets, is_list=is_list)
    raise ValueError(field_type)


@dataclass
class Snapshot:
    profile_ids: np.ndarray
    columns: dict[str, Column]
    # the day counts event conditions read; None in a snapshot stored before it held them
    events: EventColumns | None = None

    @property
    def n(self) -> int:
        return len(self.profile_ids)

    @classmethod
    def build(
        cls, documents: list[dict], catalogue: Catalogue, paths: list[str] | None = None
    ) -> "Snapshot":
        fields = [catalogue.get(p) for p in paths] if paths else list(catalogue)
        columns = {
            f.path: build_column(f.type, [field_value(d, f.path) for d in documents])
            for f in fields
        }
        events = EventColumns.from_rows([event_days(d) for d in documents])
        return cls(np.array([d["profile_id"] for d in documents], dtype=object), columns, events)

    def nbytes(self) -> int:
        events = self.events.nbytes() if self.events is not None else 0
        return sum(c.nbytes() for c in self.columns.values()) + events

    @classmethod
    def from_values(
        cls,
        profile_ids: list[str],
        values: dict[str, tuple[str, list]],
        events: list | None = None,
    ) -> "Snapshot":
        """From raw stored values per field path ({path: (type, values)}) and each profile's
        `behaviour.events`; rows are sorted by profile id, so members come out in id order and a
        page cursor is an id."""
        order = sorted(range(len(profile_ids)), key=profile_ids.__getitem__)
        columns = {
            path: build_column(ftype, [raw[i] for i in order])
            for path, (ftype, raw) in values.items()
        }
        rows = [events[i] for i in order] if events is not None else [None] * len(order)
        return cls(
            np.array([profile_ids[i] for i in order], dtype=object),
            columns,
            EventColumns.from_rows(rows),
        )

    def without(self, profile_ids: set[str]) -> "Snapshot":
        """The snapshot less the rows of the given profiles (erasure). Dictionaries are kept:
        a value only the erased profiles held would stay in them, so it is dropped too by
        re-encoding text columns from their remaining rows."""
        keep = ~np.isin(self.profile_ids, list(profile_ids))
        columns = {}
        for path, col in self.columns.items():
            if col.offsets is not None:
                rows = [
                    col.values[col.offsets[i] : col.offsets[i + 1]] for i in np.flatnonzero(keep)
                ]
                used = sorted({int(c) for row in rows for c in row})
                recode = {old: new for new, old in enumerate(used)}
                flat = np.array(
                    [recode[int(c)] for row in rows for c in row], dtype=_code_dtype(len(used))
                )
                offsets = np.cumsum([0] + [len(row) for row in rows]).astype(np.int64)
                columns[path] = Column(
                    col.type,
                    col.present[keep],
                    flat,
                    col.scale,
                    col.offset,
                    [col.dictionary[c] for c in used],
                    offsets,
                    col.is_list[keep],
                )
            elif col.type in (TEXT, ENUM):
                codes = col.values[keep]
                used = np.unique(codes[codes >= 0])
                lookup = np.full(len(col.dictionary) + 1, -1, dtype=np.int64)
                lookup[used] = np.arange(len(used))
                recoded = np.where(codes >= 0, lookup[codes], -1).astype(_code_dtype(len(used)))
                columns[path] = Column(
                    col.type,
                    col.present[keep],
                    recoded,
                    dictionary=[col.dictionary[c] for c in used],
                )
            else:
                columns[path] = Column(
                    col.type,
                    col.present[keep],
                    col.values[keep],
                    col.scale,
                    col.offset,
                    list(col.dictionary),
                )
        events = self.events.take(np.flatnonzero(keep)) if self.events is not None else None
        return Snapshot(self.profile_ids[keep], columns, events)

    def decoded(self, path: str) -> np.ndarray:
        """A number column as float64, NaN where there is no number."""
        col = self.columns.get(path)
        if col is None or col.type != NUMBER:
            return np.full(self.n, np.nan)
        if col.scale < 0:
            return col.values.astype(np.float64)
        return np.where(valid(col), col.values / 10**col.scale, np.nan)

    def to_bytes(self) -> bytes:
        if any("\n" in pid for pid in self.profile_ids):  # ids are validated; be sure anyway
            raise ValueError("a profile id holds a newline")
        arrays, meta = {"ids": np.frombuffer("\n".join(self.profile_ids).encode(), np.uint8)}, {}
        for i, (path, col) in enumerate(self.columns.items()):
            arrays[f"c{i}_present"] = np.packbits(col.present)
            arrays[f"c{i}_values"] = col.values
            if col.offsets is not None:
                arrays[f"c{i}_offsets"] = col.offsets
                arrays[f"c{i}_is_list"] = np.packbits(col.is_list)
            meta[path] = {
                "i": i,
                "type": col.type,
                "scale": col.scale,
                "offset": col.offset,
                "dictionary": col.dictionary,
            }
        header = {"n": self.n, "columns": meta}
        if self.events is not None:
            event_arrays, header["events"] = self.events.to_arrays()
            arrays.update(event_arrays)
        arrays["meta"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        out = io.BytesIO()
        np.savez(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Snapshot":
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
            n = meta["n"]
            text = z["ids"].tobytes().decode()
            ids = np.array(text.split("\n") if n else [], dtype=object)
            if len(ids) != n:
                raise ValueError(f"snapshot holds {len(ids)} ids for {n} rows")
            columns = {}
            for path, m in meta["columns"].items():
                i = m["i"]
                offsets = z[f"c{i}_offsets"] if f"c{i}_offsets" in z else None
                columns[path] = Column(
                    m["type"],
                    np.unpackbits(z[f"c{i}_present"], count=n).astype(bool),
                    z[f"c{i}_values"],
                    m["scale"],
                    m["offset"],
                    m["dictionary"],
                    offsets,
                    np.unpackbits(z[f"c{i}_is_list"], count=n).astype(bool)
                    if offsets is not None
                    else None,
                )
            events = EventColumns.from_arrays(n, z, meta["events"]) if "events" in meta else None
        return cls(ids, columns, events)


def event_days(document: dict):
    """A profile document's `behaviour.events` (rules/event_keys.py), or None."""
    behaviour = document.get("behaviour")
    return behaviour.get("events") if isinstance(behaviour, dict) else None


def valid(col: Column) -> np.ndarray:
    """Rows holding a value of the column's type (cached on the column)."""
    if col._valid is None:
        if col.type in (NUMBER, DATE):
            col._valid = (
                ~np.isnan(col.values)
                if col.scale < 0
                else col.values != np.iinfo(col.values.dtype).min
            )
        elif col.type in (TEXT, ENUM, BOOLEAN):
            col._valid = col.values >= 0
        else:
            col._valid = col.is_list
        col._complete = bool(col._valid.all())
    return col._valid


__all__ = ["Column", "Snapshot", "build_column", "event_days", "valid"]
