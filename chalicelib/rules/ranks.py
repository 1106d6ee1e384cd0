"""Rank conditions (`top_percent`, `bottom_percent`) made evaluable one profile at a time. Pure.

Whether a profile is in the top X % of a field depends on every other profile, so before a tree
is evaluated each rank condition is resolved over the population (the same fresh view the other
rules read: the snapshot's rows less those changed since, plus the changed profiles' current
documents; or the profiles walked) into a bound:

- the population is the profiles holding a number in the field; a missing value (or one of
  another type) is not counted and never matches;
- top X % of n numbers: k = ceil(X/100 x n), at least 1; the bound is the k-th largest value and a
  profile matches when its value is at least the bound, so ties at the boundary are all in (the
  segment may hold more than k); bottom X %: the k-th smallest, at most;
- no number in the field at all: nobody matches.

The columnar masks compute the same bound from a column (vectors.rank_mask); a test checks both.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

import numpy as np

from .column_encoding import Snapshot, valid
from .stored import COERCE, MISMATCH, NUMBER, reader
from .tree import Condition, Group
from .vectors import Rank, _decode, kth_value, rank_count

TOP = {"top_percent": True, "bottom_percent": False}


class Numbers:
    """A field's numbers over the population, missing values left out: plain numbers, plus
    (from a snapshot) a column's stored integers, decoded only where the bound can lie."""

    def __init__(self, plain: np.ndarray, col=None, stored: np.ndarray | None = None):
        self.plain = np.asarray(plain, dtype=np.float64)
        self.col, self.stored = col, stored
        self.n = len(self.plain) + (0 if stored is None else len(stored))

    def kth(self, k: int, top: bool) -> float:
        """The k-th largest (top) or smallest number (1 <= k <= n). The k-th of the union lies
        among the column's own k first and the plain numbers, so only those are decoded (stored
        integers order as the numbers they stand for)."""
        values = self.plain
        if self.stored is not None and len(self.stored):
            m = min(k, len(self.stored))
            s = self.stored
            first = np.partition(s, len(s) - m)[len(s) - m :] if top else np.partition(s, m - 1)[:m]
            if len(self.plain):
                first = np.concatenate([_decoded(self.col, first), self.plain])
                return float(kth_value(first, k, top))
            return float(_decoded(self.col, kth_value(first, k, top)))
        return float(kth_value(values, k, top))


def _decoded(col, stored):
    return np.asarray(stored, dtype=np.float64) if col.scale < 0 else _decode(col, stored)


# field paths -> each path's numbers over the population
Population = Callable[[set[str]], dict[str, Numbers | np.ndarray]]


def rank_paths(node: Group | Condition) -> set[str]:
    """The fields the tree's rank conditions name."""
    if isinstance(node, Condition):
        return {node.field.path} if node.operator.name in TOP else set()
    if not isinstance(node, Group):  # an event condition: counts, never a rank
        return set()
    return set().union(*map(rank_paths, node.rules)) if node.rules else set()


def bound(values: Numbers | np.ndarray, percent: float, top: bool) -> float:
    """The value a profile must reach (top: at least; bottom: at most) to be in the top/bottom
    `percent` % of `values`; ±infinity (nobody) for no values."""
    numbers = values if isinstance(values, Numbers) else Numbers(values)
    k = rank_count(percent, numbers.n)
    if k == 0:
        return float("inf") if top else float("-inf")
    return numbers.kth(k, top)


def resolve(node: Group | Condition, population: Population) -> Group | Condition:
    """The tree with every rank condition's bound set; the same tree (and no population read)
    when it has none."""
    paths = rank_paths(node)
    if not paths:
        return node
    numbers = population(paths)
    return _resolve(node, numbers)


def _resolve(node, numbers: dict[str, np.ndarray]):
    if not isinstance(node, Group):
        if not isinstance(node, Condition) or node.operator.name not in TOP:
            return node
        values = numbers.get(node.field.path, Numbers(np.zeros(0)))
        rank: Rank = node.value
        threshold = bound(values, rank.percent, TOP[node.operator.name])
        return replace(node, value=Rank(rank.percent, threshold))
    return Group(node.match, tuple(_resolve(r, numbers) for r in node.rules))


def numbers_of(documents: Iterable[dict], paths: set[str]) -> dict[str, np.ndarray]:
    """Each path's numbers over the documents, as the per-profile evaluator reads them."""
    readers = {p: reader(p) for p in paths}
    found: dict[str, list] = {p: [] for p in paths}
    coerce = COERCE[NUMBER]
    for document in documents:
        for path, read in readers.items():
            value = coerce(read(document))  # ABSENT and other types give MISMATCH
            if value is not MISMATCH:
                found[path].append(value)
    return {p: np.array(v, dtype=np.float64) for p, v in found.items()}


def snapshot_numbers(
    snapshot: Snapshot, paths: set[str], changed: Iterable[str], documents: Iterable[dict]
) -> dict[str, Numbers]:
    """The fresh view's numbers: the snapshot's rows less the changed profiles', plus the changed
    profiles' current `documents` (deleted ones left out)."""
    ids = snapshot.profile_ids
    keep = np.ones(len(ids), bool)
    changed = sorted(changed)
    if changed and len(ids):
        wanted = np.array(changed, dtype=object)
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        keep[at[ids[at] == wanted]] = False
    fresh = numbers_of(documents, paths)
    out = {}
    for path in paths:
        col = snapshot.columns.get(path)
        if col is None or col.type != NUMBER:
            out[path] = fresh[path]
            continue
        rows = valid(col) & keep
        stored = col.values if rows.all() else col.values[rows]
        if col.scale < 0:  # a float column: NaN marks no number, already left out
            out[path] = Numbers(np.concatenate([stored, fresh[path]]))
        else:
            out[path] = Numbers(fresh[path], col, stored)
    return out
