"""Read-only walk of a segment's stored members with the time each entered and whether it is in
the control group, for the ad-audience sweeps (services/ad_audiences). Writes stay in
membership_table.py."""

from __future__ import annotations

from typing import Iterator

from . import table_keys
from .connection import bind
from .tables import MembershipModel


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
