"""Repository of saved segments (one project's segments share a partition)."""

from __future__ import annotations

import secrets

from pynamodb.exceptions import UpdateError

from ..infra.errors import Conflict
from ..validation import now_iso
from .connection import bind
from .records import SegmentRecord
from .tables import SegmentModel, set_json

MAX_SEGMENTS_PER_PROJECT = 1000


def _record(model: SegmentModel) -> SegmentRecord:
    return SegmentRecord(
        model.project_id,
        model.segment_id,
        model.definition,
        model.created_at,
        model.updated_at,
        int(model.version) if model.version is not None else None,
        model.destinations,
    )


def create(project_id: str, definition: dict) -> SegmentRecord:
    bind()
    if SegmentModel.count(project_id, limit=MAX_SEGMENTS_PER_PROJECT) >= MAX_SEGMENTS_PER_PROJECT:
        raise Conflict(
            f"a project holds at most {MAX_SEGMENTS_PER_PROJECT} segments", "/", "too_many_segments"
        )
    now = now_iso()
    segment = SegmentModel(
        project_id,
        "seg_" + secrets.token_hex(8),
        definition=definition,
        created_at=now,
        updated_at=now,
    )
    segment.save()  # version attribute: fails rather than overwrite an id collision
    return _record(segment)


def get(project_id: str, segment_id: str) -> SegmentRecord | None:
    bind()
    try:
        return _record(SegmentModel.get(project_id, segment_id, consistent_read=True))
    except SegmentModel.DoesNotExist:
        return None


def list_all(project_id: str) -> list[SegmentRecord]:
    bind()
    return [_record(m) for m in SegmentModel.query(project_id)]


def replace(segment: SegmentRecord, definition: dict) -> SegmentRecord:
    return _update(
        segment,
        [set_json(SegmentModel.definition, definition), SegmentModel.updated_at.set(now_iso())],
    )


def delete(segment: SegmentRecord) -> None:
    bind()
    SegmentModel(segment.project_id, segment.segment_id).delete(add_version_condition=False)


def set_destinations(segment: SegmentRecord, destinations: list[dict]) -> SegmentRecord:
    """Replace the segment's webhook destinations."""
    return _update(segment, [SegmentModel.destinations.set(destinations)])


def _update(segment: SegmentRecord, actions: list) -> SegmentRecord:
    """Apply the actions unless the segment changed or went since it was read (409)."""
    bind()
    # the item as read: its version conditions the update (PynamoDB's VersionAttribute)
    model = SegmentModel(segment.project_id, segment.segment_id, version=segment.version)
    try:
        model.update(actions=actions)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                "the segment was changed or deleted meanwhile; read it and retry",
                "/",
                "write_conflict",
            ) from None
        raise
    return _record(model)  # the update read back the whole item
