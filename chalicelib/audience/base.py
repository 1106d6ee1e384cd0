"""The one question every segment answer asks: who matches a rule tree now."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator

from ..storage import profile_table
from .worth import SegmentWorth

READ_BATCH = 500  # member ids per page when reading every member's document


class Audience(ABC):
    """The members of a rule tree in one project, in profile id order. Backends differ in how
    they find them (a columnar snapshot plus the change log, or a walk of the table); callers
    never need to know which one answered, and a page cursor (the last id of a page) is valid
    with either."""

    def __init__(self, project_id: str):
        self.project_id = project_id

    @abstractmethod
    def count(self) -> int:
        """How many profiles match."""

    @abstractmethod
    def page(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Member ids after `after` in id order: up to `limit`, and whether more follow."""

    @abstractmethod
    def ids(self) -> list[str]:
        """Every member id, in id order."""

    @abstractmethod
    def worth(self) -> SegmentWorth:
        """Sums and histograms of the members' predictive fields."""

    def documents(self, ids: list[str]) -> list[dict]:
        """The members' current profile documents, in the order given; a profile erased since
        it was found is left out."""
        found = profile_table.documents(self.project_id, ids)
        return [found[pid] for pid in ids if pid in found]

    def iter_documents(self, batch: int = READ_BATCH) -> Iterator[dict]:
        """Every member's document in id order, read a page at a time."""
        after = None
        while True:
            ids, more = self.page(after, batch)
            yield from self.documents(ids)
            if not more or not ids:
                return
            after = ids[-1]
