"""The audience found by reading every profile of the project: the answer before the first
snapshot, or when the change log since it is too long to overlay."""

from __future__ import annotations

from bisect import bisect_right

from ..rules import compile_rules, ranks
from ..storage import profile_table
from .base import Audience
from .worth import SegmentWorth


class TableTooLarge(Exception):
    """The walk met more profiles than it may read."""


def _documents(project_id: str, limit: int | None):
    for read, (_, document) in enumerate(profile_table.iter_documents(project_id), 1):
        if limit is not None and read > limit:
            raise TableTooLarge(f"more than {limit} profiles")
        yield document


class TableWalkAudience(Audience):
    """One pass over the table keeps the matching ids (sorted, so pages and cursors are in id
    order as with a snapshot) and the members' worth. With a `limit`, TableTooLarge once more
    profiles than that are read (a request does not walk a large table)."""

    def __init__(self, project_id: str, root, limit: int | None = None):
        super().__init__(project_id)
        walk = lambda: _documents(project_id, limit)  # noqa: E731
        if ranks.rank_paths(root) and limit is not None:
            # rank bounds need a pass of their own: a bounded walk is read once and kept
            kept = list(walk())
            walk = lambda: kept  # noqa: E731
        root = ranks.resolve(  # rank bounds over the profiles walked (rules/ranks.py)
            root, lambda p: ranks.numbers_of(walk(), p)
        )
        matches = compile_rules(root)
        self._worth = SegmentWorth()
        found = []
        for document in walk():
            if matches(document):
                found.append(document["profile_id"])
                self._worth.add(document["predictive"])
        self._ids = sorted(found)

    def count(self) -> int:
        return len(self._ids)

    def page(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        start = bisect_right(self._ids, after) if after is not None else 0
        chunk = self._ids[start : start + limit + 1]
        return chunk[:limit], len(chunk) > limit

    def ids(self) -> list[str]:
        return list(self._ids)

    def worth(self) -> SegmentWorth:
        return self._worth
