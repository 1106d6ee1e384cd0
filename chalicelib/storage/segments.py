"""Repository of saved segments (one project's segments share a partition)."""
from __future__ import annotations

import secrets

from pynamodb.exceptions import UpdateError

from ..errors import Conflict
from ..validation import now_iso
from .connection import bind
from .models import SegmentModel

MAX_SEGMENTS_PER_PROJECT = 1000


def create(project_id: str, definition: dict) -> SegmentModel:
    bind()
    if SegmentModel.count(project_id, limit=MAX_SEGMENTS_PER_PROJECT) >= MAX_SEGMENTS_PER_PROJECT:
        raise Conflict(f"a project holds at most {MAX_SEGMENTS_PER_PROJECT} segments", "/",
                       "too_many_segments")
    now = now_iso()
    segment = SegmentModel(project_id, "seg_" + secrets.token_hex(8), definition=definition,
                           created_at=now, updated_at=now)
    segment.save()  # version attribute: fails rather than overwrite an id collision
    return segment


def get(project_id: str, segment_id: str) -> SegmentModel | None:
    bind()
    try:
        return SegmentModel.get(project_id, segment_id, consistent_read=True)
    except SegmentModel.DoesNotExist:
        return None


def list_all(project_id: str) -> list[SegmentModel]:
    bind()
    return list(SegmentModel.query(project_id))


def replace(segment: SegmentModel, definition: dict) -> SegmentModel:
    return _update(segment, [SegmentModel.definition.set(definition),
                             SegmentModel.updated_at.set(now_iso())])


def delete(segment: SegmentModel) -> None:
    segment.delete(add_version_condition=False)


def set_destinations(segment: SegmentModel, destinations: list[dict]) -> SegmentModel:
    """Replace the segment's webhook destinations."""
    return _update(segment, [SegmentModel.destinations.set(destinations)])


def _update(segment: SegmentModel, actions: list) -> SegmentModel:
    """Apply the actions unless the segment changed or went since it was read (409)."""
    try:
        segment.update(actions=actions)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict("the segment was changed or deleted meanwhile; read it and retry",
                           "/", "write_conflict") from None
        raise
    return segment
