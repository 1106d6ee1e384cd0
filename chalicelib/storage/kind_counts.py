"""The project's attribute kind counts (how many stored values of each attribute have each kind),
which the field catalogue types attributes by.

A single profile write changes its counters in its own transaction (one ADD per attribute whose
kind changed). A batch write (storage.profile_batch) would need up to 64 ADDs per profile, each a
costly update: instead, each of its transactions puts one *delta item* holding the summed changes
of the profiles it writes, so counts and profiles still commit together. Readers add the delta
items to the counters; the batch then folds its delta items into the counters (each fold is one
transaction: delete the deltas, ADD their sums once per attribute name). A delta left by a
process that stopped before folding is still counted, and folded by the next fold of the project.
"""

from __future__ import annotations

import logging
import uuid

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from .connection import bind, transaction_connection
from .tables import KINDS, AttributeKindModel

log = logging.getLogger(__name__)
KIND_ATTRS = {kind: getattr(AttributeKindModel, f"n_{kind}") for kind in KINDS}
# attribute names start with a letter (validation.ATTRIBUTE_RE): no counter has this prefix
DELTA_PREFIX = "#delta/"
MAX_TRANSACTION_ITEMS = 100
MAX_DELTA_NAMES = MAX_TRANSACTION_ITEMS - 2  # a delta item can always be folded on its own

Deltas = dict[str, dict[str, int]]


def counter_update(project_id: str, name: str, delta: dict[str, int]):
    """The counter item of one attribute and the ADD actions that apply a change of kinds."""
    return AttributeKindModel(project_id, name), [
        KIND_ATTRS[k].add(n) for k, n in delta.items() if n
    ]


def add(total: Deltas, deltas: Deltas) -> None:
    """Sum `deltas` into `total`, dropping changes that cancel out."""
    for name, delta in deltas.items():
        counts = total.setdefault(name, {})
        for kind, n in delta.items():
            counts[kind] = counts.get(kind, 0) + n
            if not counts[kind]:
                del counts[kind]
        if not counts:
            del total[name]


def delta_item(project_id: str, deltas: Deltas) -> AttributeKindModel:
    """A new delta item holding `deltas` (at most MAX_DELTA_NAMES names), for a transaction."""
    return AttributeKindModel(project_id, f"{DELTA_PREFIX}{uuid.uuid4().hex}", deltas=deltas)


def fold(project_id: str, deltas: dict[str, Deltas]) -> int:
    """Fold delta items (their name -> their deltas) into the counters, as few transactions as
    fit. A delta already folded by someone else cancels its transaction; the rest are folded
    again one by one. Returns the delta items folded."""
    groups: list[list[str]] = [[]]
    names: set[str] = set()
    for item_name, d in deltas.items():
        if len(groups[-1]) + 1 + len(names | set(d)) > MAX_TRANSACTION_ITEMS:
            groups.append([])
            names = set()
        groups[-1].append(item_name)
        names |= set(d)
    folded = 0
    for group in groups:
        if not group:
            continue
        try:
            _fold_group(project_id, {n: deltas[n] for n in group})
            folded += len(group)
        except TransactWriteError:
            if len(group) == 1:
                continue  # already folded (or being folded) elsewhere
            for name in group:
                try:
                    _fold_group(project_id, {name: deltas[name]})
                    folded += 1
                except TransactWriteError:
                    pass
    return folded


def _fold_group(project_id: str, deltas: dict[str, Deltas]) -> None:
    total: Deltas = {}
    for d in deltas.values():
        add(total, d)
    with TransactWrite(connection=transaction_connection()) as tx:
        for item_name in deltas:
            tx.delete(
                AttributeKindModel(project_id, item_name),
                condition=AttributeKindModel.name.exists(),
            )
        for name, delta in total.items():
            tx.update(*counter_update(project_id, name, delta))


def read(project_id: str) -> dict[str, dict[str, int]]:
    """Per attribute name, the count of stored values of each kind (counters plus deltas)."""
    bind()
    counts: dict[str, dict[str, int]] = {}
    pending: dict[str, Deltas] = {}
    for item in AttributeKindModel.query(project_id):
        if item.name.startswith(DELTA_PREFIX):
            pending[item.name] = item.deltas or {}
        else:
            counts[item.name] = item.counts()
    for d in pending.values():
        for name, delta in d.items():
            row = counts.setdefault(name, {kind: 0 for kind in KINDS})
            for kind, n in delta.items():
                row[kind] = row.get(kind, 0) + n
    if pending:
        # left by writers that stopped before folding: fold them now (a later read then pays
        # for none). Failing here changes nothing already read.
        try:
            fold(project_id, pending)
        except Exception:
            log.exception("folding attribute kind deltas of %s failed", project_id)
    return counts
