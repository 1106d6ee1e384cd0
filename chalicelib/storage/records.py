"""What the repositories hand to services: plain, frozen records. No ORM object leaves storage/."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..profile_documents import profile_document


@dataclass(frozen=True)
class ProfileRecord:
    project_id: str
    profile_id: str
    attributes: dict
    behaviour: dict
    predictive: dict
    created_at: str | None
    updated_at: str | None
    version: int | None  # the stored version: a score write is conditioned on it

    def document(self) -> dict:
        """The profile as the API and segment rules see it."""
        return profile_document(
            self.profile_id,
            self.attributes,
            self.behaviour,
            self.predictive,
            self.created_at,
            self.updated_at,
        )

    def with_predictive(self, predictive: dict) -> "ProfileRecord":
        """The profile after a score write (which leaves its version as it is)."""
        return replace(self, predictive=predictive)


@dataclass(frozen=True)
class SegmentRecord:
    project_id: str
    segment_id: str
    definition: dict
    created_at: str
    updated_at: str
    version: int | None  # a replace or a destination change is conditioned on it
    destinations: list | None = None  # [{"destination_id", "url", "secret", "created_at"}]


@dataclass(frozen=True)
class JobRecord:
    project_id: str
    job_id: str
    kind: str
    status: str
    started_at: str
    finished_at: str | None = None
    summary: dict = field(default_factory=dict)
    shards_total: int | None = None
    shards_done: frozenset = frozenset()
    shards_failed: frozenset = frozenset()
    taken_at: str | None = None
    finalized: bool | None = None
    last_error: str | None = None
    piece_ends: dict = field(default_factory=dict)  # "<shard>.<piece>" -> its last profile id


@dataclass(frozen=True)
class ProjectRecord:
    project_id: str
    name: str
    created_at: str
    model_version: str | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    key_hash: str
    key_id: str
    project_id: str
    created_at: str
    revoked: bool
    rate_limit: float = 0.0  # requests per second (storage.project_table's defaults if unset)
    burst: int = 0


@dataclass(frozen=True)
class MembershipChangeRecord:
    """An entry into or exit from a segment; `position` resumes a listing after it."""

    profile_id: str
    change: str  # "entered" or "exited"
    at: str
    position: str
    control: bool = False  # the member's group when the change was recorded (uplift)


@dataclass(frozen=True)
class SegmentStatRecord:
    at: str
    size: int
    entered: int
    exited: int
    duration_ms: float
    trigger: str
