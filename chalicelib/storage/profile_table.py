"""Repository of profiles, their events and the project's attribute kind counts.

Every write of a profile is one DynamoDB transaction together with what must change with it
(its new events, its attribute kind counts), guarded by the profile's version: concurrent writers
retry on a fresh read instead of overwriting each other (storage/profile_writes.py plans and
sends a write). The items of a write are built by the `*_item` helpers below, which the bulk
import (storage.bulk_import) uses too.
"""

from __future__ import annotations

from typing import Callable, Iterator

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..behaviour import Event
from ..infra.errors import Conflict, PayloadTooLarge
from ..profile_documents import (
    kind_deltas,
    stored_bytes,
)
from . import batch, change_log, kind_counts, profile_writes, table_keys
from .connection import bind, transaction_connection
from .records import ProfileRecord
from .tables import AttributeKindModel, EventModel, ProfileModel

EVENTS_PER_TRANSACTION = 90  # DynamoDB allows 100 items in one transaction (+ profile, change)
# DynamoDB's item limit is 400 KB, but moto (the local stack, the tests) counts an attribute that
# an update replaces twice, old and new value: rewriting `behaviour` fails there once the old item
# plus the new value pass 405,000 bytes. This limit lets every profile under it be rewritten on
# both (2 x 190,000 + keys and names < 405,000); bounded histories (behaviour.DAILY_HISTORY_DAYS)
# keep behaviour far below it.
MAX_PROFILE_BYTES = 190_000

Position = tuple[int, str]  # (shard, profile_id): where a walk over a project's profiles stands


def profile_key(project_id: str, profile_id: str) -> str:
    """The partition key of a profile in the current settings' shards."""
    return table_keys.profile_partition_of(project_id, profile_id, bind().profile_shards)


# --- the items of a write (one way to build each, for the API's writes and the bulk import) ---


def profile_item(
    project_id: str,
    profile_id: str,
    attributes: dict,
    behaviour: dict,
    predictive: dict,
    created_at: str,
    updated_at: str,
    version: int | None = None,
) -> ProfileModel:
    """A whole profile item; without a version, saving it creates it only if absent."""
    item = ProfileModel(
        profile_key(project_id, profile_id),
        profile_id,
        project_id=project_id,
        attrs=attributes,
        behaviour=behaviour,
        predictive=predictive,
        created_at=created_at,
        updated_at=updated_at,
    )
    if version is not None:
        item.version = version
    return item


def event_item(project_id: str, profile_id: str, event: Event, received_at: str) -> EventModel:
    return EventModel(
        table_keys.profile_ref(project_id, profile_id),
        event.event_id,
        data=event.stored_data(received_at),
    )


def kind_count_update(
    project_id: str, name: str, delta: dict[str, int]
) -> tuple[AttributeKindModel, list]:
    """The counter item of one attribute and the ADD actions that apply a change of kinds."""
    return kind_counts.counter_update(project_id, name, delta)


def to_record(model: ProfileModel) -> ProfileRecord:
    return ProfileRecord(
        model.project_id,
        model.profile_id,
        model.attrs or {},
        model.behaviour or {},
        model.predictive or {},
        model.created_at,
        model.updated_at,
        int(model.version) if model.version is not None else None,
    )


def to_document(profile: ProfileRecord) -> dict:
    return profile.document()


def _read(project_id: str, profile_id: str, consistent: bool = True) -> ProfileModel | None:
    try:
        return ProfileModel.get(
            profile_key(project_id, profile_id), profile_id, consistent_read=consistent
        )
    except ProfileModel.DoesNotExist:
        return None


def get(project_id: str, profile_id: str, consistent: bool = True) -> ProfileRecord | None:
    model = _read(project_id, profile_id, consistent)
    return to_record(model) if model is not None else None


def upsert_attributes(
    project_id: str, profile_id: str, update: dict, merge: Callable[[dict, dict], dict]
) -> tuple[ProfileRecord, bool]:
    def change(existing: ProfileRecord | None, exclude: set[str]):
        stored = existing.attributes if existing else {}
        behaviour = existing.behaviour if existing else {}
        return merge(stored, update), behaviour, []

    profile, created, _ = profile_writes.write_one(project_id, profile_id, change)
    return profile, created


def add_events(
    project_id: str,
    profile_id: str,
    events: list[Event],
    aggregate: Callable[[dict | None, list[Event]], dict],
) -> set[str]:
    """Store new events of one profile and count them into its behaviour, once each.

    Returns the ids of the events that were already stored (redeliveries)."""
    _check_room(project_id, profile_id, events, aggregate)
    duplicates: set[str] = set()
    for start in range(0, len(events), EVENTS_PER_TRANSACTION):
        chunk = events[start : start + EVENTS_PER_TRANSACTION]

        known: set[str] = set()

        def change(existing: ProfileRecord | None, exclude: set[str], chunk=chunk, known=known):
            fresh = [e for e in chunk if e.event_id not in exclude and e.event_id not in known]
            if not fresh:
                return None
            stored = existing.attributes if existing else {}
            behaviour = existing.behaviour if existing else None
            return stored, aggregate(behaviour, fresh), fresh

        try:
            _, _, found = profile_writes.write_one(
                project_id, profile_id, change, too_large_path="/profile_id"
            )
        except PayloadTooLarge:  # counted again, redeliveries may seem to outgrow the profile
            known.update(_stored_ids(project_id, profile_id, chunk))
            if not known:
                raise
            _, _, found = profile_writes.write_one(
                project_id, profile_id, change, too_large_path="/profile_id"
            )
            found |= known
        duplicates |= found
    return duplicates


def _check_room(
    project_id: str,
    profile_id: str,
    events: list[Event],
    aggregate: Callable[[dict | None, list[Event]], dict],
) -> None:
    """Refuse, before anything is written, events that would take the profile over its limit.

    `profile_writes.write_one` checks each transaction, but a request of more than EVENTS_PER_TRANSACTION events
    is several: checked one by one, the first ones would be stored and the rest refused. (A
    concurrent writer between them can still make a later one refused; it is then a 413.)"""
    if len(events) <= EVENTS_PER_TRANSACTION:
        return  # one transaction: `profile_writes.write_one` checks it before writing
    existing = get(project_id, profile_id)

    def size(new: list[Event]) -> int:
        if existing is None:
            return stored_bytes({}, aggregate(None, new), {})
        return stored_bytes(
            existing.attributes, aggregate(existing.behaviour, new), existing.predictive
        )

    if size(events) <= MAX_PROFILE_BYTES:
        return
    # redelivered events add nothing: look them up only when it matters
    stored = _stored_ids(project_id, profile_id, events)
    fresh = [e for e in events if e.event_id not in stored]
    grown = size(fresh) if fresh else 0
    if grown > MAX_PROFILE_BYTES:
        raise profile_writes._too_large(grown, "/profile_id")


def _stored_ids(project_id: str, profile_id: str, events: list[Event]) -> set[str]:
    """The ids of the events already stored (redeliveries)."""
    keys = [(table_keys.profile_ref(project_id, profile_id), e.event_id) for e in events]
    return {item.event_id for item in batch.get(EventModel, keys, attributes=["pk", "event_id"])}


def delete(project_id: str, profile_id: str) -> bool:
    """Erase a profile, its events and its share of the attribute kind counts.

    Read the profile, purge its events, then delete it only if it is still the version read.
    Events are only ever written in the same transaction as a new version of their profile, so
    an event committed after the read makes the delete fail and the erasure starts again: when
    the delete succeeds, no event of the erased profile is left, and a profile created again
    after it keeps its own events. Events go first: if the erasure is interrupted, the profile
    is still there to erase again."""
    change_log.record(project_id, profile_id)  # before the erasure: segment answers re-check it
    for attempt in range(profile_writes.MAX_ATTEMPTS):
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
            change_log.record(project_id, profile_id, kind=change_log.ERASED)
            return True
        except (TransactWriteError, DeleteError):
            profile_writes._backoff(attempt)
    raise Conflict(
        "the profile is being changed by too many writers at once; try again",
        "/profile_id",
        "write_conflict",
    )


def _delete_events(project_id: str, profile_id: str) -> None:
    events_pk = table_keys.profile_ref(project_id, profile_id)
    batch.write(
        EventModel, deletes=list(EventModel.query(events_pk, attributes_to_get=["pk", "event_id"]))
    )


def iter_shard(
    project_id: str, shard: int, page_size: int = 500, after: str | None = None
) -> Iterator[ProfileRecord]:
    """The profiles of one write shard of a project in id order (one fan-out rescoring message),
    from the one after the profile id `after` on (a continued piece of the shard)."""
    bind()
    start = table_keys.profile_walk_start(project_id, shard, after) if after is not None else None
    for model in ProfileModel.query(
        table_keys.profile_partition(project_id, shard),
        last_evaluated_key=start,
        page_size=page_size,
    ):
        yield to_record(model)


def iter_profiles(
    project_id: str, after: Position | None = None, page_size: int = 500
) -> Iterator[tuple[Position, ProfileRecord]]:
    """Every profile of a project, shard by shard in key order, lazily page by page."""
    shards = bind().profile_shards
    first_shard = after[0] if after else 0
    for shard in range(first_shard, shards):
        start = (
            table_keys.profile_walk_start(project_id, shard, after[1])
            if after and shard == after[0]
            else None
        )
        for model in ProfileModel.query(
            table_keys.profile_partition(project_id, shard),
            last_evaluated_key=start,
            page_size=page_size,
        ):
            yield (shard, model.profile_id), to_record(model)


def iter_documents(
    project_id: str, after: Position | None = None, page_size: int = 500
) -> Iterator[tuple[Position, dict]]:
    """Every profile of a project as a plain document, in walk order, with its position."""
    for position, profile in iter_profiles(project_id, after, page_size):
        yield position, profile.document()


def documents(project_id: str, profile_ids: list[str]) -> dict[str, dict]:
    """The stored profiles among the ids as plain documents (missing ones are absent)."""
    return {pid: p.document() for pid, p in batch_get(project_id, profile_ids).items()}


def batch_get(project_id: str, profile_ids: list[str]) -> dict[str, ProfileRecord]:
    """The stored profiles among the ids (missing ones are simply absent)."""
    return {
        model.profile_id: to_record(model) for model in batch_get_items(project_id, profile_ids)
    }


def batch_get_items(project_id: str, profile_ids: list[str]) -> list[ProfileModel]:
    """The stored profile items among the ids, for storage's own writers (storage.bulk_import)."""
    bind()
    ids = list(dict.fromkeys(profile_ids))
    return batch.get(ProfileModel, [(profile_key(project_id, pid), pid) for pid in ids])


def attribute_kinds(project_id: str) -> dict[str, dict[str, int]]:
    return kind_counts.read(project_id)
