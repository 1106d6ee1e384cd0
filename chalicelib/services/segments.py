"""Segments: the field catalogue, CRUD with validation, and on-demand evaluation."""
from __future__ import annotations

from bisect import bisect_right

from .. import cursor
from ..errors import Conflict, NotFound, ServiceError, ValidationError
from ..segments import Catalogue, compile_rules, parse_rules, parse_segment
from ..storage import profiles as profile_store
from ..storage import segments as store
from ..storage.connection import bind
from ..storage.models import SegmentModel
from ..validation import check_id

SAMPLE_SIZE = 10


def catalogue(project_id: str) -> Catalogue:
    return Catalogue(profile_store.attribute_kinds(project_id))


def _document(segment: SegmentModel) -> dict:
    return {"segment_id": segment.segment_id, **segment.definition,
            "created_at": segment.created_at, "updated_at": segment.updated_at}


def _load(project_id: str, segment_id: str) -> SegmentModel:
    check_id(segment_id, "/segment_id", "segment_id")
    segment = store.get(project_id, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id!r} not found", "/segment_id")
    return segment


def create(project_id: str, body) -> dict:
    definition = parse_segment(body, catalogue(project_id))
    return _document(store.create(project_id, definition.to_dict()))


def list_all(project_id: str) -> dict:
    return {"segments": [_document(s) for s in store.list_all(project_id)]}


def get(project_id: str, segment_id: str) -> dict:
    return _document(_load(project_id, segment_id))


def replace(project_id: str, segment_id: str, body) -> dict:
    segment = _load(project_id, segment_id)
    definition = parse_segment(body, catalogue(project_id))
    return _document(store.replace(segment, definition.to_dict()))


def delete(project_id: str, segment_id: str) -> None:
    store.delete(_load(project_id, segment_id))


def _stored_predicate(project_id: str, segment: SegmentModel):
    """A saved segment compiled against today's catalogue (attribute types may have moved)."""
    try:
        return compile_rules(parse_rules(segment.definition, catalogue(project_id)))
    except ValidationError as exc:
        raise Conflict(f"the saved segment no longer fits the field catalogue: {exc.message}; "
                       "edit it", exc.path, "stale_segment") from None


def members(project_id: str, segment_id: str, limit: int, cursor_text: str | None) -> dict:
    """A page of members and the total count, evaluated on current data page by page."""
    segment = _load(project_id, segment_id)
    matches = _stored_predicate(project_id, segment)
    secret = bind().cursor_secret
    scope = f"{project_id}:members:{segment_id}"
    after = cursor.decode(cursor_text, scope, secret)
    if after is not None and (len(after) != 2 or not isinstance(after[0], int)
                              or not isinstance(after[1], str)):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    after_key = tuple(after) if after else None
    page, count, last, more = [], 0, None, False
    for position, model in profile_store.iter_profiles(project_id):
        document = profile_store.to_document(model)
        if not matches(document):
            continue
        count += 1
        if after_key is not None and position <= after_key:
            continue
        if len(page) < limit:
            page.append(document)
            last = position
        else:
            more = True
    out = {"profiles": page, "count": count}
    if more:
        out["next_cursor"] = cursor.encode(list(last), scope, secret)
    return out


def preview(project_id: str, body) -> dict:
    """Count, a sample, and what the segment is worth: expected conversions (the sum of its
    members' conversion probabilities), expected value (the sum of their predicted CLV), and
    histograms of conversion potential and CLV a builder can draw."""
    matches = compile_rules(parse_rules(body, catalogue(project_id)))
    count, sample, worth = 0, [], SegmentWorth()
    for _, model in profile_store.iter_profiles(project_id):
        document = profile_store.to_document(model)
        if matches(document):
            count += 1
            worth.add(document["predictive"])
            if len(sample) < SAMPLE_SIZE:
                sample.append(document)
    return {"count": count, "sample": sample, **worth.to_dict()}


CONVERSION_BINS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001]
CLV_BINS = [0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, float("inf")]


class SegmentWorth:
    """Running sums and histograms of the members' predictive fields."""

    def __init__(self):
        self.scored = 0
        self.expected_conversions = 0.0
        self.expected_value = 0.0
        self.conversion_counts = [0] * (len(CONVERSION_BINS) - 1)
        self.clv_counts = [0] * (len(CLV_BINS) - 1)

    def add(self, predictive: dict) -> None:
        p, clv = predictive.get("conversion_potential"), predictive.get("clv")
        if p is None or clv is None:
            return  # not scored yet
        self.scored += 1
        self.expected_conversions += p / 100
        self.expected_value += predictive.get("clv_predicted", 0)
        self.conversion_counts[bisect_right(CONVERSION_BINS, p) - 1] += 1
        self.clv_counts[max(0, bisect_right(CLV_BINS, clv) - 1)] += 1

    def to_dict(self) -> dict:
        def histogram(edges, counts):
            return [{"from": edges[i], "to": None if edges[i + 1] == float("inf")
                     else round(edges[i + 1]), "count": c} for i, c in enumerate(counts)]
        return {"scored": self.scored,
                "expected_conversions": round(self.expected_conversions, 2),
                "expected_value": round(self.expected_value, 2),
                "histograms": {"conversion_potential": histogram(CONVERSION_BINS,
                                                                 self.conversion_counts),
                               "clv": histogram(CLV_BINS, self.clv_counts)}}


__all__ = ["ServiceError", "catalogue", "create", "delete", "get", "list_all", "members",
           "preview", "replace"]
