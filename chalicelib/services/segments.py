"""Segments: the field catalogue, CRUD with validation, and on-demand evaluation."""
from __future__ import annotations

import logging
from bisect import bisect_right

import numpy as np

from .. import cursor
from ..errors import Conflict, NotFound, ValidationError
from ..segments import Catalogue, compile_rules, parse_rules, parse_segment
from ..storage import profiles as profile_store
from ..storage import segments as store
from ..storage.connection import bind
from ..storage.records import SegmentRecord
from ..validation import check_id

log = logging.getLogger(__name__)
SAMPLE_SIZE = 10


def catalogue(project_id: str) -> Catalogue:
    return Catalogue(profile_store.attribute_kinds(project_id))


def _document(segment: SegmentRecord) -> dict:
    return {"segment_id": segment.segment_id, **segment.definition,
            "created_at": segment.created_at, "updated_at": segment.updated_at}


def load(project_id: str, segment_id: str) -> SegmentRecord:
    check_id(segment_id, "/segment_id", "segment_id")
    segment = store.get(project_id, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id!r} not found", "/segment_id")
    return segment


def create(project_id: str, body) -> dict:
    definition = parse_segment(body, catalogue(project_id))
    segment = store.create(project_id, definition.to_dict())
    return {**_document(segment), "backfill": _backfill(project_id, segment.segment_id)}


def _backfill(project_id: str, segment_id: str) -> str:
    """Queue the evaluation of a saved segment's membership. If the queue cannot be reached the
    save stands: the next rescore evaluates every segment."""
    from ..storage import work_queue
    from ..storage.work_messages import EvaluateSegment
    try:
        work_queue.send([EvaluateSegment(project_id, segment_id, "saved")])
        return "queued"
    except Exception:
        log.exception("queueing the backfill of %s/%s failed", project_id, segment_id)
        return "deferred"


def list_all(project_id: str) -> dict:
    return {"segments": [_document(s) for s in store.list_all(project_id)]}


def get(project_id: str, segment_id: str) -> dict:
    return _document(load(project_id, segment_id))


def replace(project_id: str, segment_id: str, body) -> dict:
    segment = load(project_id, segment_id)
    definition = parse_segment(body, catalogue(project_id))
    segment = store.replace(segment, definition.to_dict())
    return {**_document(segment), "backfill": _backfill(project_id, segment_id)}


def delete(project_id: str, segment_id: str) -> None:
    from ..storage import memberships
    store.delete(load(project_id, segment_id))
    memberships.erase_segment(project_id, segment_id)


def stored_root(project_id: str, segment: SegmentRecord):
    """A saved segment parsed against today's catalogue (attribute types may have moved)."""
    try:
        return parse_rules(segment.definition, catalogue(project_id))
    except ValidationError as exc:
        raise Conflict(f"the saved segment no longer fits the field catalogue: {exc.message}; "
                       "edit it", exc.path, "stale_segment") from None


MAX_OVERLAY = 20_000  # profiles changed since the snapshot that a request re-reads at most


class Audience:
    """Who matches a rule tree now: the snapshot's mask, minus the profiles changed since it was
    taken, plus those of them that match today (their documents come from the change log, or,
    where it does not tell, from the table), evaluated one by one. Not ok when there is no
    snapshot yet or too many changes: the caller walks the table."""

    def __init__(self, project_id: str, root):
        from ..segments.columnar import StaleSnapshot, compile_mask
        from ..storage import changes, snapshots
        self.ok = False
        latest = snapshots.latest(project_id)
        if latest is None:
            return
        self.snapshot, taken_at = latest
        if changes.age_days(taken_at) > changes.CHANGE_TTL_DAYS - 1:
            return  # change entries this old have expired: the overlay would miss changes
        overlay = changes.since(project_id, taken_at, MAX_OVERLAY)
        if overlay is None:
            return
        changed = overlay.changed
        try:
            mask = compile_mask(root)(self.snapshot)
        except StaleSnapshot:  # a field changed type since: walk until the next snapshot
            return
        ids = self.snapshot.profile_ids
        if changed and len(ids):
            wanted = np.array(sorted(changed), dtype=object)
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            mask[at[ids[at] == wanted]] = False  # their snapshot rows are stale
        self.mask = mask
        matches = compile_rules(root)
        documents = {pid: d for pid, d in overlay.documents.items() if d is not None}
        fresh = profile_store.batch_get(project_id, sorted(overlay.reread))
        documents.update({pid: profile_store.to_document(m) for pid, m in fresh.items()})
        self.extra = {pid: documents[pid] for pid in sorted(documents) if matches(documents[pid])}
        self.ok = True

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask)) + len(self.extra)

    def page(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Member ids in id order after `after`: up to `limit`, and whether more follow."""
        ids = self.snapshot.profile_ids
        start = int(np.searchsorted(ids, after, side="right")) if after else 0
        found = []
        window = max(4 * limit, 1024)
        while start < len(ids) and len(found) <= limit:
            hits = np.flatnonzero(self.mask[start:start + window]) + start
            found.extend(ids[hits[: limit + 1 - len(found)]])
            start += window
        extra = [pid for pid in self.extra if after is None or pid > after]
        merged = sorted(set(found) | set(extra))[: limit + 1]
        return merged[:limit], len(merged) > limit

    def worth(self) -> "SegmentWorth":
        worth = SegmentWorth()
        s = self.snapshot
        conversion = s.decoded("predictive.conversion_potential")[self.mask]
        clv = s.decoded("predictive.clv")[self.mask]
        predicted = s.decoded("predictive.clv_predicted")[self.mask]
        scored = ~np.isnan(conversion) & ~np.isnan(clv)
        worth.scored = int(scored.sum())
        worth.expected_conversions = float(np.sum(conversion[scored])) / 100
        worth.expected_value = float(np.nansum(predicted[scored]))
        worth.conversion_counts = np.histogram(conversion[scored], CONVERSION_BINS)[0].tolist()
        worth.clv_counts = np.histogram(clv[scored], CLV_BINS[:-1] + [np.finfo(float).max]
                                        )[0].tolist()
        for document in self.extra.values():
            worth.add(document["predictive"])
        return worth


def _documents(project_id: str, ids: list[str]) -> list[dict]:
    found = profile_store.batch_get(project_id, ids)
    return [profile_store.to_document(found[pid]) for pid in ids if pid in found]


def members(project_id: str, segment_id: str, limit: int, cursor_text: str | None) -> dict:
    """A page of members (in profile id order) and the total count."""
    segment = load(project_id, segment_id)
    root = stored_root(project_id, segment)
    secret = bind().cursor_secret
    audience = Audience(project_id, root)
    if not audience.ok:
        return _members_by_walking(project_id, segment_id, root, limit, cursor_text)
    scope = f"{project_id}:members:{segment_id}:ids"
    after = cursor.decode(cursor_text, scope, secret)
    if after is not None and (len(after) != 1 or not isinstance(after[0], str)):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    ids, more = audience.page(after[0] if after else None, limit)
    out = {"profiles": _documents(project_id, ids), "count": audience.count}
    if more:
        out["next_cursor"] = cursor.encode([ids[-1]], scope, secret)
    return out


def count_of(project_id: str, segment: SegmentRecord) -> int:
    root = stored_root(project_id, segment)
    audience = Audience(project_id, root)
    if audience.ok:
        return audience.count
    matches = compile_rules(root)
    return sum(1 for _, m in profile_store.iter_profiles(project_id)
               if matches(profile_store.to_document(m)))


def count(project_id: str, segment_id: str) -> dict:
    segment = load(project_id, segment_id)
    return _worth_of(project_id, stored_root(project_id, segment), sample=False)


def preview(project_id: str, body) -> dict:
    """Count, a sample, and what the segment is worth: expected conversions (the sum of its
    members' conversion probabilities), expected value (the sum of their predicted CLV), and
    histograms of conversion potential and CLV a builder can draw."""
    return _worth_of(project_id, parse_rules(body, catalogue(project_id)), sample=True)


def _worth_of(project_id: str, root, sample: bool) -> dict:
    audience = Audience(project_id, root)
    if audience.ok:
        out = {"count": audience.count, **audience.worth().to_dict()}
        if sample:
            out["sample"] = _documents(project_id, audience.page(None, SAMPLE_SIZE)[0])
        return out
    matches = compile_rules(root)
    total, found, worth = 0, [], SegmentWorth()
    for _, model in profile_store.iter_profiles(project_id):
        document = profile_store.to_document(model)
        if matches(document):
            total += 1
            worth.add(document["predictive"])
            if len(found) < SAMPLE_SIZE:
                found.append(document)
    out = {"count": total, **worth.to_dict()}
    if sample:
        out["sample"] = found
    return out


def _members_by_walking(project_id, segment_id, root, limit, cursor_text) -> dict:
    """No snapshot yet (or too many changes since): evaluate page by page over the table."""
    matches = compile_rules(root)
    secret = bind().cursor_secret
    scope = f"{project_id}:members:{segment_id}"
    after = cursor.decode(cursor_text, scope, secret)
    if after is not None and (len(after) != 2 or not isinstance(after[0], int)
                              or not isinstance(after[1], str)):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    after_key = tuple(after) if after else None
    page, total, last, more = [], 0, None, False
    for position, model in profile_store.iter_profiles(project_id):
        document = profile_store.to_document(model)
        if not matches(document):
            continue
        total += 1
        if after_key is not None and position <= after_key:
            continue
        if len(page) < limit:
            page.append(document)
            last = position
        else:
            more = True
    out = {"profiles": page, "count": total}
    if more:
        out["next_cursor"] = cursor.encode(list(last), scope, secret)
    return out


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


__all__ = ["Audience", "catalogue", "count", "count_of", "create", "delete", "get", "list_all",
           "load", "members", "preview", "replace", "stored_root"]
