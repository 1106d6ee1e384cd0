"""What each work-queue message does (the messages themselves: storage.work_messages)."""

from __future__ import annotations

from ..storage.work_messages import (
    Compact,
    Deliver,
    EraseFromSnapshot,
    EvaluateSegment,
    MalformedMessage,
    RescoreShard,
    SyncAudience,
    WorkMessage,
    parse,
)

__all__ = [
    "Compact",
    "Deliver",
    "EraseFromSnapshot",
    "EvaluateSegment",
    "MalformedMessage",
    "RescoreShard",
    "SyncAudience",
    "WorkMessage",
    "parse",
    "process",
    "retry_later",
]


def process(item: WorkMessage) -> dict:
    from ..storage import snapshot_store
    from . import destinations, memberships, rescore_fanout

    if isinstance(item, Deliver):
        return destinations.deliver(
            item.project_id, item.segment_id, item.destination_id, item.delivery_id, item.changes
        )
    if isinstance(item, SyncAudience):
        from .ad_audiences import worker

        return worker.run(
            item.project_id, item.segment_id, item.destination_id, item.mode, list(item.changes)
        )
    if isinstance(item, EraseFromSnapshot):
        return {"rows_dropped": snapshot_store.drop_profiles(item.project_id, {item.profile_id})}
    if isinstance(item, RescoreShard):
        return rescore_fanout.rescore_shard(
            item.project_id,
            item.job_id,
            item.shard,
            item.as_of,
            item.conversion_horizon,
            item.clv_horizon,
            item.piece,
            item.after,
        )
    if isinstance(item, Compact):
        from ..audience import compaction

        return compaction.compact(item.project_id)
    if isinstance(item, EvaluateSegment):
        return memberships.evaluate_segment(item.project_id, item.segment_id, item.trigger)
    raise TypeError(f"not a work message: {item!r}")


def retry_later(receipt_handle: str, receive_count: int) -> int:
    """Back off before a failed message's next delivery (exponential in its deliveries)."""
    from ..storage import work_queue

    return work_queue.retry_later(receipt_handle, receive_count)
