"""Columnar snapshots of a project's profiles in S3, and the project's pointer to the latest.
A warm Lambda keeps the last snapshots it loaded, by key."""

from __future__ import annotations

import gzip
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


def save(project_id: str, snapshot: Snapshot, taken_at: str) -> str | None:
    """Store a snapshot and point the project at it, unless a newer one is already there (then
    this one is deleted and None returned). Older snapshot objects are deleted: an erased
    profile's rows must not stay behind in S3."""
    s = bind()
    prefix = f"snapshots/{project_id}/"
    key = f"{prefix}{taken_at}-{secrets.token_hex(4)}.npz"
    s3 = s3_client()
    s3.put_object(Bucket=s.model_bucket, Key=key, Body=snapshot.to_bytes())
    try:
        ProjectModel(project_id).update(
            actions=[ProjectModel.snapshot_key.set(key), ProjectModel.snapshot_at.set(taken_at)],
            condition=ProjectModel.snapshot_at.does_not_exist()
            | (ProjectModel.snapshot_at <= taken_at),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        s3.delete_object(Bucket=s.model_bucket, Key=key)
        return None
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
    save(project_id, snapshot.without(profile_ids), taken_at)
    return True


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
    with _lock:
        _cache[project.snapshot_key] = snapshot
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return snapshot, project.snapshot_at


def _part_key(project_id: str, job_id: str, shard: int) -> str:
    return f"snapshot-parts/{project_id}/{job_id}/{shard:03d}.json.gz"


def save_part(project_id: str, job_id: str, shard: int, part: dict) -> None:
    """One shard's rows of a fan-out rescore (overwritten by a retry of the same shard)."""
    s = bind()
    s3_client().put_object(
        Bucket=s.model_bucket,
        Key=_part_key(project_id, job_id, shard),
        Body=gzip.compress(json.dumps(part, separators=(",", ":")).encode()),
    )


def load_part(project_id: str, job_id: str, shard: int) -> dict:
    s = bind()
    body = (
        s3_client()
        .get_object(Bucket=s.model_bucket, Key=_part_key(project_id, job_id, shard))["Body"]
        .read()
    )
    return json.loads(gzip.decompress(body))


def delete_parts(project_id: str, job_id: str, shards: int) -> None:
    s = bind()
    keys = [{"Key": _part_key(project_id, job_id, shard)} for shard in range(shards)]
    for start in range(0, len(keys), 1000):
        s3_client().delete_objects(
            Bucket=s.model_bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
        )
