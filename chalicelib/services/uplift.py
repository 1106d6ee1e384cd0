"""Did the segment work? Treated against control members who entered in a period.

Who entered when, and in which group, comes from the segment's membership history (kept
membership_table.HISTORY_TTL_DAYS days): every member who entered counts, also one who left
since (leaving can depend on what the member did, so dropping leavers would bias the
comparison). A profile that entered more than once counts from its first entry in the history.
Purchases come from the profiles' day buckets (behaviour.purchases), which are keyed by each
event's own timestamp, so late-arriving events count on their day. The columns are cached per
segment in S3 (storage/uplift_cohorts.py), rebuilt after each full evaluation of a segment with a
control group; a request brings them up to now as the snapshot audience does: the entries since
and the profiles whose behaviour the change log says changed since are read again (a long change log, or
one expired, rebuilds the cohort).
The statistics are audience/uplift.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np

from ..audience import MAX_OVERLAY
from ..audience.uplift import Cohorts, uplift
from ..infra.errors import Conflict, ValidationError
from ..rules.day_buckets import DayBuckets
from ..storage import change_log, membership_table, profile_table, project_table, uplift_cohorts
from ..storage.uplift_cohorts import StoredCohort
from ..validation import parse_datetime
from . import segments

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


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _purchases(documents: list[dict]) -> tuple[DayBuckets, DayBuckets]:
    """Orders and revenue per day of each document (behaviour.purchases: day -> [n, amount])."""
    rows = [(d.get("behaviour") or {}).get("purchases") or {} for d in documents]
    return (
        DayBuckets.from_rows({day: v[0] for day, v in row.items()} for row in rows),
        DayBuckets.from_rows({day: v[1] for day, v in row.items()} for row in rows),
    )


def _read(project_id: str, ids: list[str]) -> dict[str, dict]:
    documents: dict[str, dict] = {}
    for start in range(0, len(ids), READ_BATCH):
        documents.update(profile_table.documents(project_id, ids[start : start + READ_BATCH]))
    return documents


def _cohort(taken_at: float, entries: dict, documents: dict) -> StoredCohort:
    """The cohort of the entries {profile_id: (at, control)} whose documents are known."""
    ids = sorted(pid for pid in entries if documents.get(pid) is not None)
    orders, revenue = _purchases([documents[pid] for pid in ids])
    return StoredCohort(
        taken_at,
        np.asarray(ids, dtype=str),
        np.asarray([_seconds(entries[pid][0]) for pid in ids], dtype=np.float64),
        np.asarray([entries[pid][1] for pid in ids], dtype=bool),
        orders,
        revenue,
    )


def _first_entries(project_id: str, segment_id: str, since: str) -> dict[str, tuple[str, bool]]:
    first: dict[str, tuple[str, bool]] = {}
    for profile_id, at, control in membership_table.entries(project_id, segment_id, since):
        first.setdefault(profile_id, (at, control))  # oldest first: the first entry stays
    return first


def build_cohort(project_id: str, segment_id: str) -> StoredCohort:
    """Every entry of the kept history with its group, and the entering profiles' purchases.
    Taken as of its start: what changes from then on is in the change log (see freshen)."""
    taken_at = time.time()
    since = datetime.now(timezone.utc) - timedelta(days=membership_table.HISTORY_TTL_DAYS)
    first = _first_entries(project_id, segment_id, since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return _cohort(taken_at, first, _read(project_id, sorted(first)))


def _concat(a: DayBuckets, b: DayBuckets) -> DayBuckets:
    return DayBuckets(
        np.concatenate((a.offsets[:-1], a.offsets[-1] + b.offsets)),
        np.concatenate((a.days, b.days)),
        np.concatenate((a.values, b.values)),
    )


def freshen(project_id: str, segment_id: str, stored: StoredCohort) -> StoredCohort | None:
    """The cohort brought up to now: the entries since it was taken added, the profiles changed
    since (the change log) read again; None when the change log cannot tell (too many changes,
    or entries that expired): then it is built anew."""
    moment = _stamp(stored.built_at)
    if change_log.age_days(moment) > change_log.CHANGE_TTL_DAYS - 1:
        return None
    behaviour_changed = uplift_cohorts.behaviour_changed_since(project_id, moment, MAX_OVERLAY)
    if behaviour_changed is None:
        return None
    taken_at = time.time()
    known = set(stored.profile_ids.tolist())
    added = {
        pid: entry
        for pid, entry in _first_entries(project_id, segment_id, moment).items()
        if pid not in known
    }
    changed = (behaviour_changed & known) | set(added)
    if not changed:
        return stored
    documents = _read(project_id, sorted(changed))  # an erased profile is not found: dropped
    keep = np.flatnonzero(~np.isin(stored.profile_ids, list(changed)))
    rows = np.flatnonzero(np.isin(stored.profile_ids, list(changed)))
    entries = {
        pid: (_stamp(stored.entered[i]), bool(stored.control[i]))
        for i, pid in zip(rows, stored.profile_ids[rows].tolist())
    }
    fresh = _cohort(taken_at, {**entries, **added}, documents)
    return StoredCohort(
        taken_at,
        np.concatenate((stored.profile_ids[keep], fresh.profile_ids)),
        np.concatenate((stored.entered[keep], fresh.entered)),
        np.concatenate((stored.control[keep], fresh.control)),
        _concat(stored.orders.take(keep), fresh.orders),
        _concat(stored.revenue.take(keep), fresh.revenue),
    )


def refresh(project_id: str, segment_id: str) -> StoredCohort:
    """Build the segment's cohort anew and store it."""
    stored = build_cohort(project_id, segment_id)
    uplift_cohorts.save(project_id, segment_id, stored)
    return stored


def cohort(project_id: str, segment_id: str) -> StoredCohort:
    """The segment's cohort as of now: the stored one brought up to date (and stored again when
    something changed), or one built anew."""
    stored = uplift_cohorts.load(project_id, segment_id)
    fresh = None if stored is None else freshen(project_id, segment_id, stored)
    if fresh is None:
        return refresh(project_id, segment_id)
    if fresh is not stored:
        uplift_cohorts.save(project_id, segment_id, fresh)
    return fresh


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
