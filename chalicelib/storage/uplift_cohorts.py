"""Uplift cohorts in S3: per segment, the members who entered (from the membership history),
their group and their day-bucketed purchases, in columns (one .npz object). A cache: uplift
reads it instead of every entry and profile, rebuilds it when it is older than its limit, and
erasure deletes it (every cohort of the project: an erased profile may have left a segment
whose cohort still holds it)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..rules.day_buckets import DayBuckets
from .connection import bind
from .model_store import ensure_bucket, s3_client


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
