"""The audience found in the project's columnar snapshot, corrected by the change log: the
snapshot's mask less the profiles changed since it was taken, plus those of them that match
today (their documents come from the change log or, where it does not tell, from the table)."""

from __future__ import annotations

import numpy as np

from ..rules import compile_rules, ranks
from ..rules.columnar import StaleSnapshot, compile_mask
from ..storage import change_log, profile_table, snapshot_store
from .base import Audience
from .worth import SegmentWorth

MAX_OVERLAY = 20_000  # change-log entries since the snapshot that a request reads at most


class SnapshotAudience(Audience):
    def __init__(self, project_id: str, snapshot, mask: np.ndarray, extra: dict[str, dict]):
        super().__init__(project_id)
        self.snapshot, self.mask, self.extra = snapshot, mask, extra

    @classmethod
    def open(cls, project_id: str, root) -> "SnapshotAudience | None":
        """None when this backend cannot answer exactly: no snapshot yet, change entries since it
        already expired, too many changes to overlay, or a field that changed type since."""
        latest = snapshot_store.latest(project_id)
        if latest is None:
            return None
        snapshot, taken_at = latest
        if change_log.age_days(taken_at) > change_log.CHANGE_TTL_DAYS - 1:
            return None  # change entries this old have expired: the overlay would miss changes
        overlay = change_log.since(project_id, taken_at, MAX_OVERLAY)
        if overlay is None:
            return None
        documents = {pid: d for pid, d in overlay.documents.items() if d is not None}
        documents.update(profile_table.documents(project_id, sorted(overlay.reread)))
        root = ranks.resolve(  # rank bounds over this same view (rules/ranks.py)
            root, lambda p: ranks.snapshot_numbers(snapshot, p, overlay.changed, documents.values())
        )
        try:
            mask = compile_mask(root)(snapshot)
        except StaleSnapshot:
            return None
        ids = snapshot.profile_ids
        if overlay.changed and len(ids):
            wanted = np.array(sorted(overlay.changed), dtype=object)
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            mask[at[ids[at] == wanted]] = False  # their snapshot rows are stale
        matches = compile_rules(root)
        extra = {pid: documents[pid] for pid in sorted(documents) if matches(documents[pid])}
        return cls(project_id, snapshot, mask, extra)

    def count(self) -> int:
        return int(np.count_nonzero(self.mask)) + len(self.extra)

    def page(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        ids = self.snapshot.profile_ids
        start = int(np.searchsorted(ids, after, side="right")) if after is not None else 0
        found = []
        window = max(4 * limit, 1024)
        while start < len(ids) and len(found) <= limit:
            hits = np.flatnonzero(self.mask[start : start + window]) + start
            found.extend(ids[hits[: limit + 1 - len(found)]])
            start += window
        extra = [pid for pid in self.extra if after is None or pid > after]
        merged = sorted(set(found) | set(extra))[: limit + 1]
        return merged[:limit], len(merged) > limit

    def ids(self) -> list[str]:
        return sorted(set(self.snapshot.profile_ids[self.mask].tolist()) | set(self.extra))

    def worth(self) -> SegmentWorth:
        worth = SegmentWorth()
        s = self.snapshot
        worth.add_columns(
            s.decoded("predictive.conversion_potential")[self.mask],
            s.decoded("predictive.clv")[self.mask],
            s.decoded("predictive.clv_predicted")[self.mask],
        )
        for document in self.extra.values():
            worth.add(document["predictive"])
        return worth
