"""Uplift cohorts in S3: per segment, the members who entered (from the membership history),
their group and their day-bucketed purchases, in columns (one .npz object). A cache: uplift
reads it instead of every entry and profile, rebuilds it when it is older than its limit, and
erasure deletes it (every cohort of the project: an erased profile may have left a segment
whose cohort still holds it)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from ..rules.day_buckets import DayBuckets
from . import change_log, table_keys
from .connection import bind
from .model_store import ensure_bucket, s3_client
from .tables import ChangeModel


@dataclass(frozen=True)
class StoredCohort:
    built_at: float  # unix seconds
    profile_ids: np.ndarray  # str
    entered: np.ndarray  # float64 unix seconds of the (first) entry kept
    control: np.ndarray  # bool
    orders: DayBuckets
    revenue: DayBuckets  # the same rows and days as orders


def _prefix(project_id: str) -> str:
    return f"uplift/{project_id}/"


def _key(project_id: str, segment_id: str) -> str:
    return f"{_prefix(project_id)}{segment_id}.npz"


def save(project_id: str, segment_id: str, cohort: StoredCohort) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        built_at=np.float64(cohort.built_at),
        profile_ids=cohort.profile_ids.astype(str),
        entered=cohort.entered,
        control=cohort.control,
        offsets=cohort.orders.offsets,
        days=cohort.orders.days,
        orders=cohort.orders.values,
        revenue=cohort.revenue.values,
    )
    ensure_bucket()
    s3_client().put_object(
        Bucket=bind().model_bucket, Key=_key(project_id, segment_id), Body=buffer.getvalue()
    )


def load(project_id: str, segment_id: str) -> StoredCohort | None:
    s3 = s3_client()
    try:
        body = s3.get_object(Bucket=bind().model_bucket, Key=_key(project_id, segment_id))
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
        return None
    data = np.load(io.BytesIO(body["Body"].read()), allow_pickle=False)
    offsets, days = data["offsets"], data["days"]
    return StoredCohort(
        float(data["built_at"]),
        data["profile_ids"],
        data["entered"],
        data["control"],
        DayBuckets(offsets, days, data["orders"]),
        DayBuckets(offsets, days, data["revenue"]),
    )


def delete(project_id: str, segment_ids: list[str] | None = None) -> None:
    """Delete the cohorts of the given segments (None: every cohort of the project)."""
    s3, bucket = s3_client(), bind().model_bucket
    if segment_ids is None:
        try:
            keys = [
                o["Key"]
                for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=_prefix(project_id)
                )
                for o in page.get("Contents", [])
            ]
        except s3.exceptions.NoSuchBucket:
            return
    else:
        keys = [_key(project_id, s) for s in segment_ids]
    for start in range(0, len(keys), 1000):
        try:
            s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
            )
        except s3.exceptions.NoSuchBucket:
            return


def behaviour_changed_since(project_id: str, moment: str, limit: int) -> set[str] | None:
    """The profiles whose behaviour (purchases) may have changed at or after `moment` (less the
    change log's margin), from the change log; None when it holds more than `limit` entries.
    A score-only write (a "predictive" entry, or the hint it replaces or follows) changes no
    purchase, so it is left out: after a rescore the cohort need not read every profile again."""
    bind()
    start = (change_log.parse(moment) - timedelta(seconds=change_log.MARGIN_SECONDS)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    hints: dict[str, str] = {}  # profile -> its latest hint not yet followed by a score write
    changed: set[str] = set()
    for n, item in enumerate(
        ChangeModel.query(
            project_id, ChangeModel.change_id >= start, attributes_to_get=["change_id", "kind"]
        )
    ):
        if n >= limit:
            return None
        at, profile_id = table_keys.parse_change_id(item.change_id)
        if item.kind == change_log.PREDICTIVE:
            hints.pop(profile_id, None)
        elif item.kind is None:
            hints[profile_id] = at
        else:  # a write or an erasure
            changed.add(profile_id)
    return changed | set(hints)
