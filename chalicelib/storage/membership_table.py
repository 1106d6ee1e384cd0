"""Repository of segment memberships, their entries and exits, and segment size over time.

A transition (a profile entering or leaving a segment) is one conditional write of the membership
row and one history entry, in one transaction: a transition applied twice (a redelivered message,
two evaluators racing) fails its condition the second time and is recorded once.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from . import batch, table_keys, uplift_cohorts
from .change_log import stamp
from .connection import bind, transaction_connection
from .records import MembershipChangeRecord, SegmentStatRecord
from .tables import MembershipChangeModel, MembershipModel, SegmentStatModel

HISTORY_TTL_DAYS = 90
STATS_TTL_DAYS = 400
PAIRS_PER_TRANSACTION = 50  # two items each; DynamoDB allows 100 in a transaction


def members(project_id: str, segment_id: str) -> set[str]:
    """Who is stored as a member now (a keys-only read of the segment's partition)."""
    bind()
    return {
        m.profile_id
        for m in MembershipModel.query(
            table_keys.segment_ref(project_id, segment_id), attributes_to_get=["profile_id"]
        )
    }


def member_groups(project_id: str, segment_id: str) -> dict[str, bool]:
    """Who is stored as a member now, and whether each is in the control group."""
    bind()
    return {
        m.profile_id: bool(m.control)
        for m in MembershipModel.query(
            table_keys.segment_ref(project_id, segment_id),
            attributes_to_get=["profile_id", "control"],
        )
    }


def set_control(project_id: str, segment_id: str, groups: dict[str, bool]) -> int:
    """Move stored members into or out of the control group (after its percentage changed);
    a member that left meanwhile is skipped. Returns how many were moved."""
    bind()
    key = table_keys.segment_ref(project_id, segment_id)
    moved = 0
    for profile_id, control in sorted(groups.items()):
        try:
            MembershipModel(key, profile_id).update(
                actions=[MembershipModel.control.set(control)],
                condition=MembershipModel.profile_id.exists(),
            )
            moved += 1
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return moved


def members_among(
    project_id: str, segment_ids: list[str], profile_ids: list[str]
) -> set[tuple[str, str]]:
    """(segment_id, profile_id) pairs stored as members, among the given ones."""
    bind()
    keys = [(table_keys.segment_ref(project_id, s), p) for s in segment_ids for p in profile_ids]
    return {
        (table_keys.parse_segment_ref(item.segment_key)[1], item.profile_id)
        for item in batch.get(MembershipModel, keys, attributes=["segment_key", "profile_id"])
    }


def segments_of(project_id: str, profile_id: str) -> set[str]:
    """The segments a profile is stored as a member of (the index is eventually consistent:
    a membership of the last second may be missing)."""
    bind()
    return {
        table_keys.parse_segment_ref(item.segment_key)[1]
        for item in MembershipModel.by_profile.query(table_keys.profile_ref(project_id, profile_id))
    }


def apply(
    project_id: str,
    segment_id: str,
    entered: Iterable[str],
    exited: Iterable[str],
    control_of: Callable[[str], bool] | None = None,
) -> tuple[int, int]:
    """Record entries and exits; returns how many of each were applied (a transition already
    applied by someone else is skipped)."""
    applied = apply_changes(project_id, segment_id, entered, exited, control_of)
    n_in = sum(1 for c in applied if c["change"] == "entered")
    return n_in, len(applied) - n_in


def apply_changes(
    project_id: str,
    segment_id: str,
    entered: Iterable[str],
    exited: Iterable[str],
    control_of: Callable[[str], bool] | None = None,
) -> list[dict]:
    """Record entries and exits; returns the ones applied here, as
    {"profile_id", "change", "at", "control"} (for destinations, which skip control members).
    `control_of` tells a member's group (none: every member is treated); it is recorded on the
    membership row and on the history entry."""
    group = control_of or (lambda _pid: False)
    pairs = [(pid, True, group(pid)) for pid in sorted(entered)] + [
        (pid, False, group(pid)) for pid in sorted(exited)
    ]
    applied = []
    for start in range(0, len(pairs), PAIRS_PER_TRANSACTION):
        chunk = pairs[start : start + PAIRS_PER_TRANSACTION]
        at = _transact(project_id, segment_id, chunk)
        if at:
            done = [(pair, at) for pair in chunk]
        else:  # one of them was applied meanwhile: apply the others one by one
            done = [
                (pair, one)
                for pair in chunk
                for one in [_transact(project_id, segment_id, [pair])]
                if one
            ]
        applied += [
            {
                "profile_id": pid,
                "change": "entered" if entering else "exited",
                "at": moment[:23] + "Z",
                "control": control,
            }
            for (pid, entering, control), moment in done
        ]
    return applied


def _transact(project_id: str, segment_id: str, pairs: list[tuple[str, bool, bool]]) -> str | None:
    """The time of the transitions when applied; None when one of them was applied already."""
    key = table_keys.segment_ref(project_id, segment_id)
    at = stamp()
    expires = int(time.time()) + HISTORY_TTL_DAYS * 86400
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            for profile_id, entering, control in pairs:
                profile_key = table_keys.profile_ref(project_id, profile_id)
                row = MembershipModel(
                    key, profile_id, profile_key=profile_key, entered_at=at, control=control
                )
                if entering:
                    tx.save(row, condition=MembershipModel.profile_id.does_not_exist())
                else:
                    tx.delete(row, condition=MembershipModel.profile_id.exists())
                tx.save(
                    MembershipChangeModel(
                        key,
                        table_keys.change_id(at, profile_id),
                        profile_key=profile_key,
                        change="entered" if entering else "exited",
                        expires=expires,
                        control=control,
                    )
                )
        return at
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return None
        raise


def history(
    project_id: str, segment_id: str, since: str, after: str | None, limit: int
) -> tuple[list[MembershipChangeRecord], bool]:
    """Entries and exits from `since` on, oldest first, after the position `after` (that of
    the last entry of the previous page)."""
    bind()
    if after is not None and after >= since:
        condition = MembershipChangeModel.change_id > after
    else:
        condition = MembershipChangeModel.change_id >= since
    items = list(
        MembershipChangeModel.query(
            table_keys.segment_ref(project_id, segment_id),
            condition,
            limit=limit + 1,
            page_size=limit + 1,
        )
    )
    return [_change(item) for item in items[:limit]], len(items) > limit


def _change(item: MembershipChangeModel) -> MembershipChangeRecord:
    at, profile_id = table_keys.parse_change_id(item.change_id)
    return MembershipChangeRecord(profile_id, item.change, at, item.change_id, bool(item.control))


def entries(project_id: str, segment_id: str, since: str) -> list[tuple[str, str, bool]]:
    """Every entry into the segment from `since` on (ISO text, compared with the stamps), oldest
    first, as (profile_id, at, control): the cohorts uplift compares. History is kept
    HISTORY_TTL_DAYS days."""
    bind()
    out = []
    for item in MembershipChangeModel.query(
        table_keys.segment_ref(project_id, segment_id),
        MembershipChangeModel.change_id >= since,
        filter_condition=MembershipChangeModel.change == "entered",
        attributes_to_get=["change_id", "control"],
        page_size=1000,
    ):
        at, profile_id = table_keys.parse_change_id(item.change_id)
        out.append((profile_id, at, bool(item.control)))
    return out


def record_stat(
    project_id: str,
    segment_id: str,
    size: int,
    entered: int,
    exited: int,
    duration_ms: float,
    trigger: str,
) -> None:
    bind()
    SegmentStatModel(
        table_keys.segment_ref(project_id, segment_id),
        stamp(),
        size=size,
        entered=entered,
        exited=exited,
        duration_ms=round(duration_ms, 1),
        trigger=trigger,
        expires=int(time.time()) + STATS_TTL_DAYS * 86400,
    ).save()


def stats(project_id: str, segment_id: str, limit: int) -> list[SegmentStatRecord]:
    """The latest `limit` full evaluations, newest first."""
    bind()
    return [
        SegmentStatRecord(
            p.at, int(p.size), int(p.entered), int(p.exited), float(p.duration_ms), p.trigger
        )
        for p in SegmentStatModel.query(
            table_keys.segment_ref(project_id, segment_id), scan_index_forward=False, limit=limit
        )
    ]


def erase_profile(project_id: str, profile_id: str, segment_ids: list[str]) -> int:
    """Delete a profile's memberships and its entries and exits in every segment. Memberships
    are deleted by key in each of `segment_ids` (the index is eventually consistent) and by the
    index (segments deleted since); history entries by the index."""
    bind()
    profile_key = table_keys.profile_ref(project_id, profile_id)
    n = 0
    batch.write(
        MembershipModel,
        deletes=[
            MembershipModel(table_keys.segment_ref(project_id, segment_id), profile_id)
            for segment_id in segment_ids
        ],
    )
    for model in (MembershipModel, MembershipChangeModel):
        n += batch.write(model, deletes=list(model.by_profile.query(profile_key)))
    uplift_cohorts.delete(project_id)  # caches: rebuilt without the profile when next asked
    return n


def erase_segment(project_id: str, segment_id: str) -> None:
    """A deleted segment's memberships, history and stats."""
    bind()
    key = table_keys.segment_ref(project_id, segment_id)
    for model in (MembershipModel, MembershipChangeModel, SegmentStatModel):
        batch.write(model, deletes=list(model.query(key)))
    uplift_cohorts.delete(project_id, [segment_id])
