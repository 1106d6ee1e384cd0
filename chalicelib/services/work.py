"""The work queue's messages as typed items, and what each one does."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RescoreShard:
    project_id: str
    job_id: str
    shard: int
    as_of: date | None
    conversion_horizon: int | None
    clv_horizon: int | None


@dataclass(frozen=True)
class EvaluateSegment:
    project_id: str
    segment_id: str
    trigger: str


@dataclass(frozen=True)
class EraseFromSnapshot:
    project_id: str
    profile_id: str


@dataclass(frozen=True)
class Deliver:
    project_id: str
    segment_id: str
    destination_id: str
    delivery_id: str
    changes: list


WorkItem = RescoreShard | EvaluateSegment | EraseFromSnapshot | Deliver


def parse(body: str) -> WorkItem:
    """A message body to a typed item; ValueError for anything else."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("a work message is a JSON object")
    kind = data.get("kind")
    if kind == "rescore_shard":
        as_of = data.get("as_of")
        return RescoreShard(str(data["project_id"]), str(data["job_id"]), int(data["shard"]),
                            date.fromisoformat(as_of) if as_of else None,
                            data.get("conversion_horizon"), data.get("clv_horizon"))
    if kind == "deliver":
        if not isinstance(data.get("changes"), list):
            raise ValueError("a delivery holds a list of changes")
        return Deliver(str(data["project_id"]), str(data["segment_id"]),
                       str(data["destination_id"]), str(data["delivery_id"]), data["changes"])
    if kind == "erase_from_snapshot":
        return EraseFromSnapshot(str(data["project_id"]), str(data["profile_id"]))
    if kind == "evaluate_segment":
        return EvaluateSegment(str(data["project_id"]), str(data["segment_id"]),
                               str(data.get("trigger", "saved")))
    raise ValueError(f"unknown work kind {kind!r}")


def process(item: WorkItem) -> dict:
    from ..storage import snapshots
    from . import destinations, memberships, scoring
    if isinstance(item, Deliver):
        return destinations.deliver(item.project_id, item.segment_id, item.destination_id,
                                    item.delivery_id, item.changes)
    if isinstance(item, EraseFromSnapshot):
        return {"rows_dropped": snapshots.drop_profiles(item.project_id, {item.profile_id})}
    if isinstance(item, RescoreShard):
        return scoring.rescore_shard(item.project_id, item.job_id, item.shard, item.as_of,
                                     item.conversion_horizon, item.clv_horizon)
    return memberships.evaluate_segment(item.project_id, item.segment_id, item.trigger)


def retry_later(receipt_handle: str, receive_count: int) -> int:
    """Back off before a failed message's next delivery (exponential in its deliveries)."""
    from ..storage import work_queue
    return work_queue.retry_later(receipt_handle, receive_count)
