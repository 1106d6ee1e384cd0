"""Read-only views of memberships for the ad audiences (services/ad_audiences): a segment's
members with the time each entered and whether it is in the control group (the sweeps), and a
profile's memberships and last exits (erasure, changed identifiers). Writes stay in
membership_table.py."""

from __future__ import annotations

from typing import Iterator

from . import batch, table_keys
from .connection import bind
from .tables import MembershipChangeModel, MembershipModel


def walk(project_id: str, segment_id: str) -> Iterator[dict]:
    """{"profile_id", "entered_at", "control"} of each member, in profile id order."""
    bind()
    for item in MembershipModel.query(table_keys.segment_ref(project_id, segment_id)):
        yield {
            "profile_id": item.profile_id,
            "entered_at": item.entered_at,
            # the control group's flag (absent on memberships stored before it existed)
            "control": bool(getattr(item, "control", False)),
        }


def of_profile(project_id: str, profile_id: str, segment_ids: list[str]) -> dict[str, bool]:
    """{segment_id: in the control group} for each of `segment_ids` the profile is a member of
    (read by key, so a membership of the last second is there too)."""
    bind()
    keys = [(table_keys.segment_ref(project_id, s), profile_id) for s in segment_ids]
    return {
        table_keys.parse_segment_ref(item.segment_key)[1]: bool(getattr(item, "control", False))
        for item in batch.get(MembershipModel, keys)
    }


def left(project_id: str, profile_id: str, segment_ids: list[str]) -> set[str]:
    """Those of `segment_ids` whose latest entry or exit of the profile (in the kept history)
    is an exit, outside the control group: its exit may still be queued, unsent."""
    bind()
    wanted = {table_keys.segment_ref(project_id, s) for s in segment_ids}
    latest: dict[str, str] = {}
    for item in MembershipChangeModel.by_profile.query(
        table_keys.profile_ref(project_id, profile_id)
    ):
        if item.segment_key in wanted:
            latest[item.segment_key] = max(latest.get(item.segment_key, ""), item.change_id)
    return {
        table_keys.parse_segment_ref(item.segment_key)[1]
        for item in batch.get(MembershipChangeModel, list(latest.items()))
        if item.change == "exited" and not getattr(item, "control", False)
    }
