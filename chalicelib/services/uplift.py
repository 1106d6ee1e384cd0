"""Did the segment work? Treated against control members who entered in a period.

Who entered when, and in which group, comes from the segment's membership history (kept
membership_table.HISTORY_TTL_DAYS days): every member who entered counts, also one who left
since (leaving can depend on what the member did, so dropping leavers would bias the
comparison). A profile that entered more than once counts from its first entry in the history.
Purchases come from the profiles' day buckets (behaviour.purchases), which are keyed by each
event's own timestamp, so late-arriving events count on their day. The columns are cached per
segment in S3 (storage/uplift_cohorts.py) for COHORT_MAX_AGE_SECONDS: the report says as of when.
The statistics are audience/uplift.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np

from ..audience.uplift import Cohorts, uplift
from ..infra.errors import Conflict, ValidationError
from ..rules.day_buckets import DayBuckets
from ..storage import membership_table, profile_table, project_table, uplift_cohorts
from ..storage.uplift_cohorts import StoredCohort
from ..validation import parse_datetime
from . import segments

COHORT_MAX_AGE_SECONDS = 900
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 365
READ_BATCH = 100


def parse_query(since: str | None, until: str | None, window_days: str | None, now: datetime):
    """(since, until, window_days) from the query; until defaults to now, since to the start of
    the kept history."""

    def moment(raw: str | None, name: str, default: datetime) -> datetime:
        if raw is None:
            return default
        value = parse_datetime(raw)
        if value is None:
            raise ValidationError(
                f"{name} must be an ISO 8601 date or time, e.g. 2026-11-01T00:00:00Z", f"/{name}"
            )
        return value

    last = moment(until, "until", now)
    first = moment(since, "since", now - timedelta(days=membership_table.HISTORY_TTL_DAYS))
    if first > last:
        raise ValidationError("since must not be after until", "/since", "invalid_value")
    if window_days is None:
        days = DEFAULT_WINDOW_DAYS
    elif window_days.isascii() and window_days.isdigit() and len(window_days) <= 3:
        days = int(window_days)
    else:
        days = 0
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValidationError(
            f"window_days must be a whole number from 1 to {MAX_WINDOW_DAYS}", "/window_days"
        )
    return first, last, days


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=timezone.utc).timestamp()


def build_cohort(project_id: str, segment_id: str) -> StoredCohort:
    """Every entry of the kept history with its group, and the entering profiles' purchases."""
    since = datetime.now(timezone.utc) - timedelta(days=membership_table.HISTORY_TTL_DAYS)
    first: dict[str, tuple[str, bool]] = {}
    for profile_id, at, control in membership_table.entries(
        project_id, segment_id, since.replace(tzinfo=None).isoformat(timespec="microseconds")
    ):
        first.setdefault(profile_id, (at, control))  # oldest first: the first entry stays
    ids = sorted(first)
    documents: dict[str, dict] = {}
    for start in range(0, len(ids), READ_BATCH):
        documents.update(profile_table.documents(project_id, ids[start : start + READ_BATCH]))
    ids = [pid for pid in ids if pid in documents]  # an erased profile is left out
    purchases = [(documents[pid].get("behaviour") or {}).get("purchases") or {} for pid in ids]
    orders = DayBuckets.from_rows({d: v[0] for d, v in p.items()} for p in purchases)
    revenue = DayBuckets.from_rows({d: v[1] for d, v in p.items()} for p in purchases)
    return StoredCohort(
        time.time(),
        np.asarray(ids, dtype=str),
        np.asarray([_seconds(first[pid][0]) for pid in ids], dtype=np.float64),
        np.asarray([first[pid][1] for pid in ids], dtype=bool),
        orders,
        revenue,
    )


def cohort(project_id: str, segment_id: str) -> StoredCohort:
    """The cached cohort when recent enough, else a fresh one (stored for the next request)."""
    stored = uplift_cohorts.load(project_id, segment_id)
    if stored is not None and time.time() - stored.built_at <= COHORT_MAX_AGE_SECONDS:
        return stored
    stored = build_cohort(project_id, segment_id)
    uplift_cohorts.save(project_id, segment_id, stored)
    return stored


def report(stored: StoredCohort, since: datetime, until: datetime, window_days: int) -> dict:
    """The uplift of the members who entered from since to until (pure, columnar)."""
    rows = np.flatnonzero(
        (stored.entered >= since.timestamp()) & (stored.entered <= until.timestamp())
    )
    entry_days = np.floor(stored.entered[rows] / 86400).astype(np.int64)
    cohorts = Cohorts(
        entry_days, stored.control[rows], stored.orders.take(rows), stored.revenue.take(rows)
    )
    return uplift(cohorts, window_days)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def segment_uplift(
    project_id: str,
    segment_id: str,
    since: str | None,
    until: str | None,
    window_days: str | None,
) -> dict:
    """GET /segments/{id}/uplift."""
    now = datetime.now(timezone.utc)
    first, last, days = parse_query(since, until, window_days, now)
    segment = segments.load(project_id, segment_id)
    own = segments.control_percent(segment)
    everywhere = project_table.control_percent(project_id)
    if not own and not everywhere:
        raise Conflict(
            "the segment has no control group: set its control_percent (1 to 50) and measure "
            "the members who enter from then on",
            "/segment_id",
            "no_control_group",
        )
    stored = cohort(project_id, segment_id)
    return {
        "segment_id": segment_id,
        "since": _iso(first),
        "until": _iso(last),
        "control_percent": own,
        "project_control_percent": everywhere,
        "as_of": _iso(datetime.fromtimestamp(stored.built_at, timezone.utc)),
        "attribution": "purchases on the days after entry, by each event's own timestamp",
        **report(stored, first, last, days),
    }
