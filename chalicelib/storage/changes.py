"""The change log: profiles changed since a time, for the snapshot overlay."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from .connection import bind
from .models import ChangeModel

CHANGE_TTL_DAYS = 7
MARGIN_SECONDS = 120


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(project_id: str, profile_id: str) -> ChangeModel:
    return ChangeModel(project_id, f"{stamp()}#{profile_id}",
                       expires=int(time.time()) + CHANGE_TTL_DAYS * 86400)


def record(project_id: str, profile_id: str) -> None:
    bind()
    entry(project_id, profile_id).save()


def _parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def age_days(moment: str) -> float:
    return (datetime.now(timezone.utc) - _parse(moment)).total_seconds() / 86400


def since(project_id: str, moment: str, limit: int) -> set[str] | None:
    """Profile ids changed at or after `moment` (less a margin); None when more than `limit`
    entries. The margin covers a write stamped just before a snapshot started but committed
    after the snapshot read its profile: re-reading a few extra profiles is harmless."""
    bind()
    start = (_parse(moment) - timedelta(seconds=MARGIN_SECONDS)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ids, entries = set(), 0
    for item in ChangeModel.query(project_id, ChangeModel.change_id >= start,
                                  attributes_to_get=["change_id"]):
        entries += 1
        if entries > limit:
            return None
        ids.add(item.change_id.split("#", 1)[1])
    return ids
