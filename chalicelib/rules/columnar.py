"""The vectorised evaluation of rule trees over a columnar snapshot (snapshot.py). Pure.

A rule tree compiles once into numpy mask operations: each condition asks its operator for its
mask over the field's column (operators.py, vectors.py); groups combine the masks. Answers equal
the per-profile evaluator's (a property test checks it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import numpy as np

from . import event_conditions
from .column_encoding import Column, Snapshot, build_column
from .event_conditions import EventCondition
from .tree import Condition, Rule, simplified

Mask = Callable[[Snapshot], np.ndarray]


class StaleSnapshot(Exception):
    """A column was built for another field type than the catalogue now gives the field."""


def _condition_mask(cond: Condition, now: datetime) -> Mask:
    path, field_type, operator, value = (
        cond.field.path,
        cond.field.type,
        cond.operator,
        cond.value,
    )

    def mask(s: Snapshot) -> np.ndarray:
        col = s.columns.get(path)
        if col is None:  # not in the snapshot: nobody has it
            return np.full(s.n, operator.if_absent)
        if col.type != field_type:
            raise StaleSnapshot(f"{path} is {field_type} now, {col.type} in the snapshot")
        return operator.mask(col, field_type, value, now)

    return mask


def _event_mask(cond: EventCondition, now: datetime) -> Mask:
    def mask(s: Snapshot) -> np.ndarray:
        if s.events is None:  # taken before snapshots held day counts
            raise StaleSnapshot("the snapshot holds no event day counts")
        return event_conditions.mask(cond, now, s.events)

    return mask


def _compile(node: Rule, now: datetime) -> Mask:
    if isinstance(node, Condition):
        return _condition_mask(node, now)
    if isinstance(node, EventCondition):
        return _event_mask(node, now)
    children = [_compile(r, now) for r in node.rules]
    match = node.match

    def mask(s: Snapshot) -> np.ndarray:
        if not children:
            return np.full(s.n, match != "any")
        out = children[0](s).copy()  # a child may hand back a cached column array
        for child in children[1:]:
            if match == "all":
                np.logical_and(out, child(s), out=out)
            else:
                np.logical_or(out, child(s), out=out)
        return np.logical_not(out, out=out) if match == "none" else out

    return mask


def compile_mask(node: Rule, now: datetime | None = None) -> Mask:
    """Compile once; evaluate over any snapshot. `now` anchors relative dates."""
    return _compile(simplified(node), now or datetime.now(timezone.utc))


__all__ = ["Column", "Snapshot", "StaleSnapshot", "build_column", "compile_mask"]
