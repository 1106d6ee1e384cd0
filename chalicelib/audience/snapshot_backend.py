"""The audience found in the project's columnar snapshot, corrected by the change log: the
snapshot's mask less the profiles changed since it was taken, plus those of them that match
today. The changed profiles' documents (from the change log or, where it does not tell, from
the table) become a small columnar snapshot of their own, evaluated with the same masks."""

from __future__ import annotations

import numpy as np

from ..rules import ranks
from ..rules.columnar import StaleSnapshot, compile_mask
from ..rules.stored import NUMBER
from ..storage import change_log, profile_table, snapshot_store
from .base import Audience
from .builder import SnapshotBuilder
from .worth import SegmentWorth

MAX_OVERLAY = 20_000  # change-log entries since the snapshot that a request reads at most
WORTH_FIELDS = (
    "predictive.conversion_potential",
    "predictive.clv",
    "predictive.clv_predicted",
)


class CannotAnswer(Exception):
    """Why the snapshot cannot answer exactly; `entries` is how long the overlay was, if read."""

    def __init__(self, reason: str, entries: int | None = None):
        super().__init__(reason)
        self.reason, self.entries = reason, entries


def rule_fields(node) -> dict[str, str]:
    """Every field a rule tree reads, with the type the catalogue gives it."""
    field = getattr(node, "field", None)
    if field is not None:
        return {field.path: field.type}
    out: dict[str, str] = {}
    for child in getattr(node, "rules", ()):
        out.update(rule_fields(child))
    return out


class SnapshotAudience(Audience):
    def __init__(self, project_id: str, snapshot, mask: np.ndarray, changed, changed_mask):
        super().__init__(project_id)
        self.snapshot, self.mask = snapshot, mask
        self.changed, self.changed_mask = changed, changed_mask  # the overlay's own snapshot
        self.extra = list(changed.profile_ids[changed_mask])  # in id order
        self.overlay_entries = 0

    @classmethod
    def open(cls, project_id: str, root) -> "SnapshotAudience | None":
        """None when this backend cannot answer exactly (see `attempt`)."""
        try:
            return cls.attempt(project_id, root)
        except CannotAnswer:
            return None

    @classmethod
    def attempt(cls, project_id: str, root) -> "SnapshotAudience":
        """CannotAnswer when there is no snapshot yet, its change entries already expired,
        there are too many changes to overlay, or a field changed type since."""
        latest = snapshot_store.latest(project_id)
        if latest is None:
            raise CannotAnswer("no snapshot yet")
        snapshot, taken_at = latest
        if change_log.age_days(taken_at) > change_log.CHANGE_TTL_DAYS - 1:
            raise CannotAnswer("the snapshot is older than the change log")
        overlay = change_log.since(
            project_id, taken_at, MAX_OVERLAY, snapshot_store.read_at(snapshot, taken_at)
        )
        if overlay is None:
            raise CannotAnswer("the change log is too long to overlay", MAX_OVERLAY + 1)
        documents = {pid: d for pid, d in overlay.documents.items() if d is not None}
        documents.update(profile_table.documents(project_id, sorted(overlay.reread)))
        root = ranks.resolve(  # rank bounds over this same view (rules/ranks.py)
            root, lambda p: ranks.snapshot_numbers(snapshot, p, overlay.changed, documents.values())
        )
        try:
            mask = compile_mask(root)(snapshot)
        except StaleSnapshot:
            raise CannotAnswer("a field changed type since the snapshot", overlay.entries) from None
        ids = snapshot.profile_ids
        if overlay.changed and len(ids):
            wanted = np.array(sorted(overlay.changed), dtype=object)
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            mask[at[ids[at] == wanted]] = False  # their snapshot rows are stale
        fields = {path: NUMBER for path in WORTH_FIELDS}
        fields.update(rule_fields(root))
        rows = SnapshotBuilder(project_id, taken_at, list(fields.items()))
        rows.add([documents[pid] for pid in sorted(documents)])
        changed = rows.snapshot()
        audience = cls(project_id, snapshot, mask, changed, compile_mask(root)(changed))
        audience.overlay_entries = overlay.entries
        return audience

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
        for s, mask in ((self.snapshot, self.mask), (self.changed, self.changed_mask)):
            worth.add_columns(*(s.decoded(path)[mask] for path in WORTH_FIELDS))
        return worth
