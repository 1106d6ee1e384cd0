"""Repository of profiles, their events and the project's attribute kind counts.

Every write of a profile is one DynamoDB transaction together with what must change with it
(its new events, its attribute kind counts), guarded by the profile's version: concurrent writers
retry on a fresh read instead of overwriting each other. The items of a write are built by the
`*_item` helpers below, which the bulk import (storage.bulk) uses too.
"""
from __future__ import annotations

import json
import random
import time
from typing import Callable, Iterator

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..behaviour import Event
from ..errors import Conflict, PayloadTooLarge, ValidationError
from ..profiles import MAX_STORED_ATTRIBUTES, kind_deltas, segmentable_document
from ..validation import now_iso
from . import batch, changes, table_keys
from .connection import bind, transaction_connection
from .models import KINDS, AttributeKindModel, EventModel, ProfileModel
from .records import ProfileRecord

MAX_ATTEMPTS = 12
EVENTS_PER_TRANSACTION = 90  # DynamoDB allows 100 items in one transaction (+ profile, change)
MAX_TRANSACTION_ITEMS = 100
MAX_PROFILE_BYTES = 350_000  # DynamoDB's item limit is 400 KB; keys and margins take the rest
KIND_ATTRS = {kind: getattr(AttributeKindModel, f"n_{kind}") for kind in KINDS}

Position = tuple[int, str]  # (shard, profile_id): where a walk over a project's profiles stands


def profile_key(project_id: str, profile_id: str) -> str:
    """The partition key of a profile in the current settings' shards."""
    return table_keys.profile_partition_of(project_id, profile_id, bind().profile_shards)


# --- the items of a write (one way to build each, for the API's writes and the bulk import) ---

def profile_item(project_id: str, profile_id: str, attributes: dict, behaviour: dict,
                 predictive: dict, created_at: str, updated_at: str,
                 version: int | None = None) -> ProfileModel:
    """A whole profile item; without a version, saving it creates it only if absent."""
    item = ProfileModel(profile_key(project_id, profile_id), profile_id, project_id=project_id,
                        attrs=attributes, behaviour=behaviour, predictive=predictive,
                        created_at=created_at, updated_at=updated_at)
    if version is not None:
        item.version = version
    return item


def event_item(project_id: str, profile_id: str, event: Event, received_at: str) -> EventModel:
    return EventModel(table_keys.profile_ref(project_id, profile_id), event.event_id,
                      data=event.stored_data(received_at))


def kind_count_update(project_id: str, name: str, delta: dict[str, int]
                      ) -> tuple[AttributeKindModel, list]:
    """The counter item of one attribute and the ADD actions that apply a change of kinds."""
    return AttributeKindModel(project_id, name), [KIND_ATTRS[k].add(n) for k, n in delta.items()
                                                  if n]


def to_record(model: ProfileModel) -> ProfileRecord:
    return ProfileRecord(model.project_id, model.profile_id, model.attrs or {},
                         model.behaviour or {}, model.predictive or {}, model.created_at,
                         model.updated_at, int(model.version) if model.version is not None
                         else None)


def to_document(profile: ProfileRecord) -> dict:
    return profile.document()


def _read(project_id: str, profile_id: str, consistent: bool = True) -> ProfileModel | None:
    try:
        return ProfileModel.get(profile_key(project_id, profile_id), profile_id,
                                consistent_read=consistent)
    except ProfileModel.DoesNotExist:
        return None


def get(project_id: str, profile_id: str, consistent: bool = True) -> ProfileRecord | None:
    model = _read(project_id, profile_id, consistent)
    return to_record(model) if model is not None else None


def _is_condition_failure(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.005 * (2 ** attempt)) * random.random())


def _write(project_id: str, profile_id: str,
           change: Callable[[ProfileRecord | None, set[str]], tuple[dict, dict, list[Event]] | None]
           ) -> tuple[ProfileRecord | None, bool, set[str]]:
    """Read, change, write in one guarded transaction; retry on a concurrent write.

    `change(existing, redelivered)` returns (attributes, behaviour, events to insert; leaving out
    the `redelivered` event ids), or None for no write.
    Returns (profile, created, ids of events found already stored, i.e. redelivered).
    """
    duplicates: set[str] = set()
    excluded: set[str] = set()
    for attempt in range(MAX_ATTEMPTS):
        existing = _read(project_id, profile_id)
        changed = change(to_record(existing) if existing else None, excluded)
        if changed is None:
            return to_record(existing) if existing else None, False, duplicates
        attributes, behaviour, events = changed
        if len(attributes) > MAX_STORED_ATTRIBUTES:
            raise ValidationError(f"a profile holds at most {MAX_STORED_ATTRIBUTES} attributes",
                                  "/attributes", "too_many")
        before = (existing.attrs or {}) if existing else {}
        deltas = kind_deltas(before, attributes)
        if len(deltas) + len(events) > MAX_TRANSACTION_ITEMS - 2:
            raise ValidationError(f"one request changes the kind of at most "
                                  f"{MAX_TRANSACTION_ITEMS - 2} attributes", "/attributes",
                                  "too_many")
        size = len(json.dumps(attributes)) + len(json.dumps(behaviour)) + len(
            json.dumps(existing.predictive if existing else {}))
        if size > MAX_PROFILE_BYTES:
            raise PayloadTooLarge(f"the profile would hold {size} bytes; at most "
                                  f"{MAX_PROFILE_BYTES}", "/attributes")
        now = now_iso()
        try:
            version = (existing.version or 0) + 1 if existing else 1
            written = ProfileRecord(project_id, profile_id, attributes, behaviour,
                                    (existing.predictive or {}) if existing else {},
                                    existing.created_at if existing else now, now, version)
            with TransactWrite(connection=transaction_connection()) as tx:
                tx.save(changes.entry(project_id, profile_id, kind=changes.WRITE, version=version,
                                      document=segmentable_document(written.document())))
                for event in events:
                    tx.save(event_item(project_id, profile_id, event, now),
                            condition=EventModel.event_id.does_not_exist())
                for name, delta in deltas.items():
                    tx.update(*kind_count_update(project_id, name, delta))
                if existing is None:
                    # no version: the version attribute makes this "create if absent"
                    tx.save(profile_item(project_id, profile_id, attributes, behaviour, {}, now,
                                         now))
                else:
                    tx.update(existing, actions=[ProfileModel.attrs.set(attributes),
                                                 ProfileModel.behaviour.set(behaviour),
                                                 ProfileModel.updated_at.set(now)])
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            # puts come in order: the change entry, then the events (see the transaction above)
            redelivered = {events[i].event_id for i in range(min(len(events), len(reasons) - 1))
                           if _is_condition_failure(reasons[i + 1])}
            if not redelivered and not any(_is_condition_failure(r) for r in reasons) \
                    and exc.cause_response_code not in ("TransactionConflictException",
                                                         "TransactionCanceledException"):
                raise
            duplicates |= redelivered
            excluded |= redelivered
            if not redelivered:
                _backoff(attempt)  # a concurrent writer won; read again
            continue
        return written, existing is None, duplicates
    raise Conflict("the profile is being changed by too many writers at once; try again",
                   "/profile_id", "write_conflict")


def upsert_attributes(project_id: str, profile_id: str, update: dict,
                      merge: Callable[[dict, dict], dict]) -> tuple[ProfileRecord, bool]:
    def change(existing: ProfileRecord | None, exclude: set[str]):
        stored = existing.attributes if existing else {}
        behaviour = existing.behaviour if existing else {}
        return merge(stored, update), behaviour, []

    profile, created, _ = _write(project_id, profile_id, change)
    return profile, created


def add_events(project_id: str, profile_id: str, events: list[Event],
               aggregate: Callable[[dict | None, list[Event]], dict]) -> set[str]:
    """Store new events of one profile and count them into its behaviour, once each.

    Returns the ids of the events that were already stored (redeliveries)."""
    duplicates: set[str] = set()
    for start in range(0, len(events), EVENTS_PER_TRANSACTION):
        chunk = events[start:start + EVENTS_PER_TRANSACTION]

        def change(existing: ProfileRecord | None, exclude: set[str], chunk=chunk):
            fresh = [e for e in chunk if e.event_id not in exclude]
            if not fresh:
                return None
            stored = existing.attributes if existing else {}
            behaviour = existing.behaviour if existing else None
            return stored, aggregate(behaviour, fresh), fresh

        _, _, found = _write(project_id, profile_id, change)
        duplicates |= found
    return duplicates


def delete(project_id: str, profile_id: str) -> bool:
    """Erase a profile, its events and its share of the attribute kind counts.

    Read the profile, purge its events, then delete it only if it is still the version read.
    Events are only ever written in the same transaction as a new version of their profile, so
    an event committed after the read makes the delete fail and the erasure starts again: when
    the delete succeeds, no event of the erased profile is left, and a profile created again
    after it keeps its own events. Events go first: if the erasure is interrupted, the profile
    is still there to erase again."""
    changes.record(project_id, profile_id)  # before the erasure: segment answers re-check it
    for attempt in range(MAX_ATTEMPTS):
        existing = _read(project_id, profile_id)
        if existing is None:
            _delete_events(project_id, profile_id)  # what an interrupted erasure left
            return False
        _delete_events(project_id, profile_id)
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for name, delta in kind_deltas(existing.attrs or {}, {}).items():
                    tx.update(*kind_count_update(project_id, name, delta))
                tx.delete(existing)  # the version read, or the transaction fails
            changes.record(project_id, profile_id, kind=changes.ERASED)
            return True
        except (TransactWriteError, DeleteError):
            _backoff(attempt)
    raise Conflict("the profile is being changed by too many writers at once; try again",
                   "/profile_id", "write_conflict")


def _delete_events(project_id: str, profile_id: str) -> None:
    events_pk = table_keys.profile_ref(project_id, profile_id)
    batch.write(EventModel, deletes=list(EventModel.query(events_pk,
                                                          attributes_to_get=["pk", "event_id"])))


def iter_shard(project_id: str, shard: int, page_size: int = 500) -> Iterator[ProfileRecord]:
    """The profiles of one write shard of a project (one fan-out rescoring message)."""
    bind()
    for model in ProfileModel.query(table_keys.profile_partition(project_id, shard),
                                    page_size=page_size):
        yield to_record(model)


def iter_profiles(project_id: str, after: Position | None = None,
                  page_size: int = 500) -> Iterator[tuple[Position, ProfileRecord]]:
    """Every profile of a project, shard by shard in key order, lazily page by page."""
    shards = bind().profile_shards
    first_shard = after[0] if after else 0
    for shard in range(first_shard, shards):
        start = table_keys.profile_walk_start(project_id, shard, after[1]) \
            if after and shard == after[0] else None
        for model in ProfileModel.query(table_keys.profile_partition(project_id, shard),
                                        last_evaluated_key=start, page_size=page_size):
            yield (shard, model.profile_id), to_record(model)


def iter_documents(project_id: str, after: Position | None = None,
                   page_size: int = 500) -> Iterator[tuple[Position, dict]]:
    """Every profile of a project as a plain document, in walk order, with its position."""
    for position, profile in iter_profiles(project_id, after, page_size):
        yield position, profile.document()


def documents(project_id: str, profile_ids: list[str]) -> dict[str, dict]:
    """The stored profiles among the ids as plain documents (missing ones are absent)."""
    return {pid: p.document() for pid, p in batch_get(project_id, profile_ids).items()}


def write_predictive(profile: ProfileRecord, predictive: dict,
                     change_at: str | None = None) -> bool:
    """A score-only write: sets `predictive` alone, only if the profile is still the version that
    was scored, and without bumping the version (so it never fails a client's or an event's
    write). False when the profile changed meanwhile: its own trigger scores the newer data.
    `change_at` stamps the change entry (a rescore backdates it: see changes.before_snapshot)."""
    project_id, profile_id = profile.project_id, profile.profile_id
    # a hint first; harmless if the write fails
    changes.record(project_id, profile_id, change_at)
    if not batch.set_if_version(ProfileModel, (profile_key(project_id, profile_id), profile_id),
                                ProfileModel.predictive, predictive, profile.version):
        return False
    # the profile as it is now, for segment answers (it replaces the hint when backdated)
    scores = segmentable_document({**profile.document(), "predictive": predictive})["predictive"]
    changes.record(project_id, profile_id, change_at, changes.PREDICTIVE, profile.version,
                   {"predictive": scores})
    return True


def batch_get(project_id: str, profile_ids: list[str]) -> dict[str, ProfileRecord]:
    """The stored profiles among the ids (missing ones are simply absent)."""
    return {model.profile_id: to_record(model) for model in batch_get_items(project_id,
                                                                            profile_ids)}


def batch_get_items(project_id: str, profile_ids: list[str]) -> list[ProfileModel]:
    """The stored profile items among the ids, for storage's own writers (storage.bulk)."""
    bind()
    ids = list(dict.fromkeys(profile_ids))
    return batch.get(ProfileModel, [(profile_key(project_id, pid), pid) for pid in ids])


def attribute_kinds(project_id: str) -> dict[str, dict[str, int]]:
    return {item.name: item.counts() for item in AttributeKindModel.query(project_id)}
