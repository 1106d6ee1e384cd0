"""Writes of many profiles at once (a batch of profiles or of events), with the guarantees of a
single write (storage.profile_writes.write_one) at a fraction of the calls.

One batch read finds the stored profiles; each profile's change is checked on its own (a refused
profile writes nothing and does not sink the others); the checked writes are packed into as few
transactions as DynamoDB's 100 items allow, each write guarded as in a single write (the version
read, or "create if absent"; events "if absent"). The attribute kind counts of a transaction go
into one delta item in it (storage.kind_counts) instead of one update per attribute name, and are
folded into the counters once the batch is written. A transaction that is cancelled (a concurrent
writer, a redelivered event) writes nothing; its profiles are then written one by one the single
way, which reads again, leaves out redelivered events and retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..behaviour import MAX_PROPERTIES_BYTES
from ..infra.errors import ServiceError
from ..validation import now_iso
from . import change_log, kind_counts, profile_table, profile_writes
from .connection import transaction_connection
from .profile_writes import MAX_TRANSACTION_ITEMS, Change, Planned
from .records import ProfileRecord

MAX_TRANSACTION_BYTES = 3_000_000  # of DynamoDB's 4 MB, leaving room for keys and names
EVENT_BYTES = MAX_PROPERTIES_BYTES + 1_000  # an event item at most


@dataclass
class Outcome:
    profile: ProfileRecord | None = None
    created: bool = False
    duplicates: set[str] = field(default_factory=set)
    error: ServiceError | None = None


def write_many(
    project_id: str, changes: dict[str, Change], too_large_path: str = "/attributes"
) -> dict[str, Outcome]:
    """Apply each profile's `change` (as profile_writes.write_one takes it) to the stored profile.
    Returns each profile's outcome: written (created or not, redelivered event ids), no write,
    or the service error that refused it."""
    outcomes: dict[str, Outcome] = {}
    existing = {m.profile_id: m for m in profile_table.batch_get_items(project_id, list(changes))}
    now = now_iso()
    planned: list[tuple[str, Planned]] = []
    for profile_id, change in changes.items():
        stored = existing.get(profile_id)
        try:
            changed = change(profile_table.to_record(stored) if stored else None, set())
            if changed is None:
                outcomes[profile_id] = Outcome(profile_table.to_record(stored) if stored else None)
                continue
            planned.append(
                (
                    profile_id,
                    profile_writes.plan(
                        project_id, profile_id, stored, changed, too_large_path, now
                    ),
                )
            )
        except ServiceError as exc:
            outcomes[profile_id] = Outcome(error=exc)
    written_deltas: dict[str, kind_counts.Deltas] = {}
    for group in _groups(planned):
        written = _write_group(project_id, group, changes, existing, now, too_large_path, outcomes)
        if written:
            written_deltas[written[0]] = written[1]
    if written_deltas:
        kind_counts.fold(project_id, written_deltas)
    return outcomes


def _write_group(project_id, group, changes, existing, now, path, outcomes):
    """One transaction of planned writes; returns the name and counts of the kind-count delta
    item it wrote, if any. Cancelled because some events were already stored
    (a client re-sending a batch): the group is planned again without them and written once
    more, instead of profile by profile. Cancelled for anything else (a concurrent writer):
    each profile is written on its own, the single way."""
    redelivered: dict[str, set[str]] = {}
    for attempt in range(2):
        deltas: kind_counts.Deltas = {}
        for _, p in group:
            kind_counts.add(deltas, p.deltas)
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                if deltas:
                    item = kind_counts.delta_item(project_id, deltas)
                    tx.save(item)
                entries = [
                    profile_writes.add_to_transaction(tx, p, kind_counts=False) for _, p in group
                ]
        except TransactWriteError as exc:
            found = _only_redelivered(group, exc.cancellation_reasons or [], 1 if deltas else 0)
            if attempt == 0 and found:
                for profile_id, ids in found.items():
                    redelivered.setdefault(profile_id, set()).update(ids)
                group = _replan(project_id, group, changes, existing, now, path, redelivered)
                for profile_id in redelivered.keys() - {pid for pid, _ in group}:
                    stored = existing.get(profile_id)
                    outcomes[profile_id] = Outcome(
                        profile_table.to_record(stored) if stored else None,
                        duplicates=redelivered[profile_id],
                    )
                if group:
                    continue
                return None
            for profile_id, _ in group:  # nothing of the group was written: one by one
                outcome = _write_one(project_id, profile_id, changes[profile_id], path)
                outcome.duplicates |= redelivered.get(profile_id, set())
                outcomes[profile_id] = outcome
            return None
        change_log.landed(entries)
        for profile_id, p in group:
            outcomes[profile_id] = Outcome(
                p.written, p.existing is None, redelivered.get(profile_id, set())
            )
        return (item.name, deltas) if deltas else None
    return None


def _only_redelivered(group, reasons: list, first: int) -> dict[str, set[str]] | None:
    """Each profile's events a cancelled transaction found already stored, if those were all
    it failed on; None if anything else failed (or the reasons do not tell). pynamodb sends a
    transaction's puts before its updates: the delta item, then each write's change entry,
    events and (when new) profile in order; the updates of stored profiles come last."""
    if not reasons:
        return None
    found: dict[str, set[str]] = {}
    failed = {i for i, r in enumerate(reasons) if profile_writes.is_condition_failure(r)}
    at = first
    for profile_id, p in group:
        ids = profile_writes.redelivered_events(p, reasons, at)
        if ids:
            found[profile_id] = ids
        failed -= set(range(at + 1, at + 1 + len(p.events)))
        at += 1 + len(p.events) + (1 if p.existing is None else 0)
    return found if found and not failed else None


def _replan(project_id, group, changes, existing, now, path, redelivered):
    """The group's writes planned again from the same stored profiles, less the redelivered
    events (a profile with nothing new left drops out)."""
    again = []
    for profile_id, _ in group:
        stored = existing.get(profile_id)
        changed = changes[profile_id](
            profile_table.to_record(stored) if stored else None,
            redelivered.get(profile_id, set()),
        )
        if changed is not None:
            again.append(
                (
                    profile_id,
                    profile_writes.plan(project_id, profile_id, stored, changed, path, now),
                )
            )
    return again


def _write_one(project_id: str, profile_id: str, change: Change, path: str) -> Outcome:
    try:
        profile, created, duplicates = profile_writes.write_one(
            project_id, profile_id, change, path
        )
    except ServiceError as exc:
        return Outcome(error=exc)
    return Outcome(profile, created, duplicates)


def _groups(planned: list[tuple[str, Planned]]) -> list[list[tuple[str, Planned]]]:
    """The writes packed in order into transactions: each write's items (change entry, events,
    profile) plus one delta item within MAX_TRANSACTION_ITEMS, the delta item's names within
    kind_counts.MAX_DELTA_NAMES (so that it can be folded), and their bytes within
    MAX_TRANSACTION_BYTES (DynamoDB refuses a transaction of more than 4 MB)."""
    groups: list[list[tuple[str, Planned]]] = []
    items, size, names = MAX_TRANSACTION_ITEMS, 0, set()
    for profile_id, p in planned:
        count = 2 + len(p.events)
        # the profile and its change entry each hold about its documents; events are small
        bytes_ = 2 * p.size + EVENT_BYTES * len(p.events)
        grown = names | set(p.deltas)
        if (
            not groups
            or items + count > MAX_TRANSACTION_ITEMS
            or size + bytes_ > MAX_TRANSACTION_BYTES
            or len(grown) > kind_counts.MAX_DELTA_NAMES
        ):
            groups.append([])
            items, size, grown = 1, 0, set(p.deltas)  # 1: the delta item
        groups[-1].append((profile_id, p))
        items += count
        size += bytes_
        names = grown
    return groups
