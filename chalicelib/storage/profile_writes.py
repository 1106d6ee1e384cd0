"""One profile's write, planned and sent: checked against its limits, guarded by its version,
put in a DynamoDB transaction with what must change with it (its new events, its attribute kind
counts, its change entry), retried on a fresh read when a concurrent writer won. The single
write (`write_one`) and the batched one (storage/profile_batch.py) share the plan."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..behaviour import Event
from ..infra.errors import Conflict, PayloadTooLarge, ValidationError
from ..profile_documents import (
    MAX_STORED_ATTRIBUTES,
    kind_deltas,
    segmentable_document,
    stored_bytes,
)
from ..validation import now_iso
from . import change_log, profile_table
from .connection import transaction_connection
from .records import ProfileRecord
from .tables import ChangeModel, EventModel, ProfileModel, set_json

MAX_ATTEMPTS = 12
MAX_TRANSACTION_ITEMS = 100


def is_condition_failure(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.005 * (2**attempt)) * random.random())


def _too_large(size: int, path: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the profile would hold {size} bytes of attributes, behaviour and "
        f"scores; at most {profile_table.MAX_PROFILE_BYTES}",
        path,
    )


@dataclass
class Planned:
    """One profile's write, checked and ready to go into a transaction."""

    existing: ProfileModel | None
    written: ProfileRecord
    events: list[Event]
    deltas: dict[str, dict[str, int]]  # attribute kind counts to change
    size: int = 0  # bytes of the profile's documents (profile_documents.stored_bytes)


Change = Callable[[ProfileRecord | None, set[str]], tuple[dict, dict, list[Event]] | None]


def plan(
    project_id: str,
    profile_id: str,
    existing: ProfileModel | None,
    changed: tuple[dict, dict, list[Event]],
    too_large_path: str,
    now: str,
) -> Planned:
    """The write of `changed` (attributes, behaviour, new events) over `existing`, or the
    ValidationError / PayloadTooLarge that refuses it (nothing is written then)."""
    attributes, behaviour, events = changed
    if len(attributes) > MAX_STORED_ATTRIBUTES:
        raise ValidationError(
            f"a profile holds at most {MAX_STORED_ATTRIBUTES} attributes",
            "/attributes",
            "too_many",
        )
    before = (existing.attrs or {}) if existing else {}
    deltas = kind_deltas(before, attributes)
    if len(deltas) + len(events) > MAX_TRANSACTION_ITEMS - 2:
        raise ValidationError(
            f"one request changes the kind of at most {MAX_TRANSACTION_ITEMS - 2} attributes",
            "/attributes",
            "too_many",
        )
    predictive = (existing.predictive or {}) if existing else {}
    size = stored_bytes(attributes, behaviour, predictive)
    if size > profile_table.MAX_PROFILE_BYTES:
        raise _too_large(size, too_large_path)
    version = (existing.version or 0) + 1 if existing else 1
    written = ProfileRecord(
        project_id,
        profile_id,
        attributes,
        behaviour,
        predictive,
        existing.created_at if existing else now,
        now,
        version,
    )
    return Planned(existing, written, events, deltas, size)


def add_to_transaction(
    tx: TransactWrite, planned: Planned, kind_counts: bool = True
) -> ChangeModel:
    """Put one planned write into `tx`: its change entry first, then its events (the order
    `write_one` reads cancellation reasons in), its kind counts (unless the caller counts them
    itself), then the profile, guarded by the version read. Returns the change entry, for
    `change_log.landed` once the transaction has committed."""
    w = planned.written
    project_id, profile_id, now = w.project_id, w.profile_id, w.updated_at
    change = change_log.entry(
        project_id,
        profile_id,
        kind=change_log.WRITE,
        version=w.version,
        document=segmentable_document(w.document()),
    )
    tx.save(change)
    for event in planned.events:
        tx.save(
            profile_table.event_item(project_id, profile_id, event, now),
            condition=EventModel.event_id.does_not_exist(),
        )
    if kind_counts:
        for name, delta in planned.deltas.items():
            tx.update(*profile_table.kind_count_update(project_id, name, delta))
    if planned.existing is None:
        # no version: the version attribute makes this "create if absent"
        tx.save(
            profile_table.profile_item(
                project_id, profile_id, w.attributes, w.behaviour, {}, now, now
            )
        )
    else:
        tx.update(
            planned.existing,
            actions=[
                set_json(ProfileModel.attrs, w.attributes),
                set_json(ProfileModel.behaviour, w.behaviour),
                ProfileModel.updated_at.set(now),
            ],
        )
    return change


def redelivered_events(planned: Planned, reasons: list, first: int = 0) -> set[str]:
    """The ids of the planned events a cancelled transaction found already stored; the
    planned write's items start at `first` among the transaction's `reasons`."""
    events = planned.events
    return {
        events[i].event_id
        for i in range(min(len(events), len(reasons) - first - 1))
        if is_condition_failure(reasons[first + i + 1])
    }


def write_one(
    project_id: str,
    profile_id: str,
    change: Change,
    too_large_path: str = "/attributes",
) -> tuple[ProfileRecord | None, bool, set[str]]:
    """Read, change, write in one guarded transaction; retry on a concurrent write.

    `change(existing, redelivered)` returns (attributes, behaviour, events to insert; leaving out
    the `redelivered` event ids), or None for no write.
    Returns (profile, created, ids of events found already stored, i.e. redelivered).
    """
    duplicates: set[str] = set()
    excluded: set[str] = set()
    for attempt in range(MAX_ATTEMPTS):
        existing = profile_table._read(project_id, profile_id)
        changed = change(profile_table.to_record(existing) if existing else None, excluded)
        if changed is None:
            return profile_table.to_record(existing) if existing else None, False, duplicates
        planned = plan(project_id, profile_id, existing, changed, too_large_path, now_iso())
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                written_entry = add_to_transaction(tx, planned)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            redelivered = redelivered_events(planned, reasons)
            if (
                not redelivered
                and not any(is_condition_failure(r) for r in reasons)
                and exc.cause_response_code
                not in ("TransactionConflictException", "TransactionCanceledException")
            ):
                raise
            duplicates |= redelivered
            excluded |= redelivered
            if not redelivered:
                _backoff(attempt)  # a concurrent writer won; read again
            continue
        change_log.landed([written_entry])
        return planned.written, existing is None, duplicates
    raise Conflict(
        "the profile is being changed by too many writers at once; try again",
        "/profile_id",
        "write_conflict",
    )
