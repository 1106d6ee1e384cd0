"""Columnar snapshots of a project's profiles in S3, and the project's pointer to the latest.
A warm Lambda keeps the last snapshots it loaded, by key."""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict

import numpy as np
from pynamodb.exceptions import UpdateError

from ..rules.columnar import Snapshot
from .connection import bind
from .model_store import s3_client
from .tables import ProjectModel

_cache: OrderedDict[str, Snapshot] = OrderedDict()
_lock = threading.Lock()
CACHE_SIZE = 4


READ_AT = ".read-"  # in a compacted snapshot's key: when the table was last read for its rows


def save(
    project_id: str, snapshot: Snapshot, taken_at: str, read_at: str | None = None
) -> str | None:
    """Store a snapshot and point the project at it, unless a newer one is already there (then
    this one is deleted and None returned). Older snapshot objects are deleted: an erased
    profile's rows must not stay behind in S3. `read_at`: a compaction's snapshot is made from
    the log on top of one read from the table at `read_at`; its rows may hold a score that a
    rescore backdated before that time (change_log.since)."""
    s = bind()
    prefix = f"snapshots/{project_id}/"
    origin = f"{READ_AT}{read_at}" if read_at and read_at != taken_at else ""
    key = f"{prefix}{taken_at}-{secrets.token_hex(4)}{origin}.npz"
    s3 = s3_client()
    s3.put_object(Bucket=s.model_bucket, Key=key, Body=snapshot.to_bytes())
    if not _update_if(
        project_id,
        [
            ProjectModel.snapshot_key.set(key),
            ProjectModel.snapshot_at.set(taken_at),
            ProjectModel.changes_since_snapshot.set(0),
            ProjectModel.snapshot_rows.set(snapshot.n),
        ],
        ProjectModel.snapshot_at.does_not_exist() | (ProjectModel.snapshot_at <= taken_at),
    ):
        s3.delete_object(Bucket=s.model_bucket, Key=key)
        return None
    snapshot.read_at = read_at if origin else None  # as `_latest` sets it from the key
    _keep(key, snapshot)  # the next answer in this process need not read it back
    older = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=s.model_bucket, Prefix=prefix
        )
        for o in page.get("Contents", [])
        if o["Key"] != key and o["Key"][len(prefix) : len(prefix) + len(taken_at)] <= taken_at
    ]
    for start in range(0, len(older), 1000):
        s3.delete_objects(
            Bucket=s.model_bucket,
            Delete={"Objects": [{"Key": k} for k in older[start : start + 1000]], "Quiet": True},
        )
    return key


def drop_profiles(project_id: str, profile_ids: set[str]) -> bool:
    """Rewrite the project's snapshot without the given profiles' rows (erasure); True when
    there were rows to drop."""
    current = latest(project_id)
    if current is None:
        return False
    snapshot, taken_at = current
    if not np.isin(snapshot.profile_ids, list(profile_ids)).any():
        return False
    save(project_id, snapshot.without(profile_ids), taken_at, read_at(snapshot, taken_at))
    return True


def read_at(snapshot: Snapshot, taken_at: str) -> str:
    """When the rows of a snapshot `latest` gave were last read from the table: when it was
    taken, unless a compaction made it from the log."""
    return getattr(snapshot, "read_at", None) or taken_at


def latest(project_id: str) -> tuple[Snapshot, str] | None:
    """The latest snapshot and the time it was taken, or None if there is none yet."""
    for _attempt in range(3):
        try:
            return _latest(project_id)
        except s3_client().exceptions.NoSuchKey:
            continue  # replaced (and deleted) between reading the pointer and the object
    return _latest(project_id)


def _latest(project_id: str) -> tuple[Snapshot, str] | None:
    s = bind()
    try:
        project = ProjectModel.get(
            project_id, attributes_to_get=["snapshot_key", "snapshot_at"], consistent_read=True
        )
    except ProjectModel.DoesNotExist:
        return None
    if not project.snapshot_key:
        return None
    with _lock:
        if project.snapshot_key in _cache:
            _cache.move_to_end(project.snapshot_key)
            return _cache[project.snapshot_key], project.snapshot_at
    blob = s3_client().get_object(Bucket=s.model_bucket, Key=project.snapshot_key)["Body"].read()
    snapshot = Snapshot.from_bytes(blob)
    if READ_AT in project.snapshot_key:  # fixed for the key cached
        snapshot.read_at = project.snapshot_key.rsplit(READ_AT, 1)[1].removesuffix(".npz")
    _keep(project.snapshot_key, snapshot)
    return snapshot, project.snapshot_at


def _update_if(project_id: str, actions: list, condition) -> bool:
    """Update the project item if the condition holds; False when it did not."""
    try:
        ProjectModel(project_id).update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False


def _keep(key: str, snapshot: Snapshot) -> None:
    with _lock:
        _cache[key] = snapshot
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def _parts_prefix(project_id: str, job_id: str) -> str:
    return f"snapshot-parts/{project_id}/{job_id}/"


def _part_key(project_id: str, job_id: str, shard: int, piece: int) -> str:
    return f"{_parts_prefix(project_id, job_id)}{shard:03d}-{piece:04d}.npz"


def save_part(
    project_id: str, job_id: str, shard: int, piece: int, part: Snapshot, totals: dict
) -> None:
    """One piece of one shard of a fan-out rescore, columnar and sorted by id, with its counts
    (overwritten by a redelivery of the same piece, which covers the same rows)."""
    s = bind()
    s3_client().put_object(
        Bucket=s.model_bucket,
        Key=_part_key(project_id, job_id, shard, piece),
        Body=part.to_bytes(),
        Metadata={"totals": json.dumps(totals, separators=(",", ":"))},
    )


def has_part(project_id: str, job_id: str, shard: int, piece: int) -> bool:
    s = bind()
    found = s3_client().list_objects_v2(
        Bucket=s.model_bucket, Prefix=_part_key(project_id, job_id, shard, piece), MaxKeys=1
    )
    return found.get("KeyCount", 0) > 0


def load_part(project_id: str, job_id: str, shard: int, piece: int) -> tuple[Snapshot, dict]:
    s = bind()
    got = s3_client().get_object(
        Bucket=s.model_bucket, Key=_part_key(project_id, job_id, shard, piece)
    )
    return Snapshot.from_bytes(got["Body"].read()), json.loads(got["Metadata"]["totals"])


def delete_parts(project_id: str, job_id: str) -> None:
    s, s3 = bind(), s3_client()
    keys = [
        {"Key": o["Key"]}
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=s.model_bucket, Prefix=_parts_prefix(project_id, job_id)
        )
        for o in page.get("Contents", [])
    ]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=s.model_bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
        )


# --- the compaction's bookkeeping on the project item (chalicelib.audience.compaction) --------


def count_changes(project_id: str, n: int) -> tuple[int, int]:
    """Add n profile changes to the count since the snapshot; returns (the new count, the
    snapshot's rows)."""
    bind()
    item = ProjectModel(project_id)
    item.update(
        actions=[ProjectModel.changes_since_snapshot.add(n)],
        condition=ProjectModel.project_id.exists(),
    )
    return int(item.changes_since_snapshot or 0), int(item.snapshot_rows or 0)


def claim_compaction(project_id: str, now: str, stale_before: str) -> bool:
    """Set the marker that a compaction is queued, unless one was set after `stale_before`
    (still under way): True for the one caller that should queue it."""
    bind()
    return _update_if(
        project_id,
        [ProjectModel.compaction_requested_at.set(now)],
        ProjectModel.project_id.exists()
        & (
            ProjectModel.compaction_requested_at.does_not_exist()
            | (ProjectModel.compaction_requested_at < stale_before)
        ),
    )


def release_compaction(project_id: str) -> None:
    bind()
    ProjectModel(project_id).update(actions=[ProjectModel.compaction_requested_at.remove()])


def compaction_state(project_id: str) -> dict:
    """What a client waiting for a snapshot may want to know."""
    bind()
    try:
        item = ProjectModel.get(
            project_id,
            attributes_to_get=["snapshot_at", "changes_since_snapshot", "compaction_requested_at"],
        )
    except ProjectModel.DoesNotExist:
        return {}
    return {
        "snapshot_at": item.snapshot_at,
        "changes_since_snapshot": int(item.changes_since_snapshot or 0),
        "compaction_requested_at": item.compaction_requested_at,
    }


def note_erasure(project_id: str, at: str) -> None:
    """Record that a profile is erased at `at`, before its tombstone is written (a snapshot
    that reads no such time at or after its own need not look for tombstones)."""
    bind()
    _update_if(  # False: a later erasure is recorded already
        project_id,
        [ProjectModel.erased_at.set(at)],
        ProjectModel.erased_at.does_not_exist() | (ProjectModel.erased_at < at),
    )


def note_no_erasure(project_id: str) -> None:
    """Record "no erasure before now" (an empty time) on a project that has no erasure time yet,
    after its tombstones were looked for: a project erased before the time was recorded keeps
    being looked at until then. Never over a recorded erasure."""
    bind()
    _update_if(
        project_id,
        [ProjectModel.erased_at.set("")],
        ProjectModel.project_id.exists() & ProjectModel.erased_at.does_not_exist(),
    )


def last_erasure(project_id: str) -> str | None:
    """The latest erasure's time; "" if none since it was recorded; None: not known."""
    bind()
    try:
        item = ProjectModel.get(project_id, attributes_to_get=["erased_at"], consistent_read=True)
    except ProjectModel.DoesNotExist:
        return None
    return item.erased_at
