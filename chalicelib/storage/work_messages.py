"""The work queue's messages, typed: every producer builds one of these, `work_queue.send` writes
`to_message()`, and the worker reads a body back with `parse` (services.work says what each one
does). A body that is not one of them raises MalformedMessage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import ClassVar


class MalformedMessage(ValueError):
    """A queued body that is not a work message of a known kind."""


@dataclass(frozen=True)
class RescoreShard:
    """One write shard of a fan-out rescore, or a piece of it: a worker near the end of its time
    budget hands the rest of its shard on as the next piece, starting after the profile id
    `after`."""

    kind: ClassVar[str] = "rescore_shard"
    project_id: str
    job_id: str
    shard: int
    as_of: date | None = None
    conversion_horizon: int | None = None
    clv_horizon: int | None = None
    piece: int = 0
    after: str | None = None

    def to_message(self) -> dict:
        return {
            "kind": self.kind,
            "project_id": self.project_id,
            "job_id": self.job_id,
            "shard": self.shard,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "conversion_horizon": self.conversion_horizon,
            "clv_horizon": self.clv_horizon,
            "piece": self.piece,
            "after": self.after,
        }

    @classmethod
    def from_message(cls, data: dict) -> "RescoreShard":
        as_of, after = data.get("as_of"), data.get("after")
        return cls(
            str(data["project_id"]),
            str(data["job_id"]),
            int(data["shard"]),
            date.fromisoformat(as_of) if as_of else None,
            _horizon(data.get("conversion_horizon")),
            _horizon(data.get("clv_horizon")),
            int(data.get("piece") or 0),
            None if after is None else str(after),
        )


@dataclass(frozen=True)
class Compact:
    """Fold the change log into a new snapshot of the project (chalicelib.audience.compaction)."""

    kind: ClassVar[str] = "compact"
    project_id: str

    def to_message(self) -> dict:
        return {"kind": self.kind, "project_id": self.project_id}

    @classmethod
    def from_message(cls, data: dict) -> "Compact":
        return cls(str(data["project_id"]))


@dataclass(frozen=True)
class EvaluateSegment:
    """A full evaluation of one saved segment (its backfill, or after a rescore)."""

    kind: ClassVar[str] = "evaluate_segment"
    project_id: str
    segment_id: str
    trigger: str = "saved"

    def to_message(self) -> dict:
        return {
            "kind": self.kind,
            "project_id": self.project_id,
            "segment_id": self.segment_id,
            "trigger": self.trigger,
        }

    @classmethod
    def from_message(cls, data: dict) -> "EvaluateSegment":
        return cls(
            str(data["project_id"]), str(data["segment_id"]), str(data.get("trigger", "saved"))
        )


@dataclass(frozen=True)
class EraseFromSnapshot:
    """Rewrite the project's snapshot without an erased profile's row."""

    kind: ClassVar[str] = "erase_from_snapshot"
    project_id: str
    profile_id: str

    def to_message(self) -> dict:
        return {"kind": self.kind, "project_id": self.project_id, "profile_id": self.profile_id}

    @classmethod
    def from_message(cls, data: dict) -> "EraseFromSnapshot":
        return cls(str(data["project_id"]), str(data["profile_id"]))


@dataclass(frozen=True)
class Deliver:
    """One webhook delivery: a chunk of a segment's entries and exits to one destination."""

    kind: ClassVar[str] = "deliver"
    project_id: str
    segment_id: str
    destination_id: str
    delivery_id: str
    changes: list

    def to_message(self) -> dict:
        return {
            "kind": self.kind,
            "project_id": self.project_id,
            "segment_id": self.segment_id,
            "destination_id": self.destination_id,
            "delivery_id": self.delivery_id,
            "changes": self.changes,
        }

    @classmethod
    def from_message(cls, data: dict) -> "Deliver":
        if not isinstance(data.get("changes"), list):
            raise MalformedMessage("a delivery holds a list of changes")
        return cls(
            str(data["project_id"]),
            str(data["segment_id"]),
            str(data["destination_id"]),
            str(data["delivery_id"]),
            data["changes"],
        )


@dataclass(frozen=True)
class SyncAudience:
    """Work for one ad-platform destination (services/ad_audiences): send `changes` (mode
    "changes"), or queue every current member ("backfill") or those due a refresh ("refresh")."""

    kind: ClassVar[str] = "sync_audience"
    MODES: ClassVar[tuple] = ("changes", "backfill", "refresh", "keys")
    project_id: str
    segment_id: str
    destination_id: str
    mode: str = "changes"
    # ({"profile_id", "change": "entered"|"exited"}, ...); mode "keys" adds each one's hashed
    # row ("keys"), for an erased profile or a changed email or phone (ad_audiences.identity)
    changes: tuple = ()

    def to_message(self) -> dict:
        return {
            "kind": self.kind,
            "project_id": self.project_id,
            "segment_id": self.segment_id,
            "destination_id": self.destination_id,
            "mode": self.mode,
            "changes": list(self.changes),
        }

    @classmethod
    def from_message(cls, data: dict) -> "SyncAudience":
        if data.get("mode") not in cls.MODES or not isinstance(data.get("changes"), list):
            raise MalformedMessage("an audience sync names its mode and holds a list of changes")
        return cls(
            str(data["project_id"]),
            str(data["segment_id"]),
            str(data["destination_id"]),
            data["mode"],
            tuple(data["changes"]),
        )


WorkMessage = RescoreShard | Compact | EvaluateSegment | EraseFromSnapshot | Deliver | SyncAudience
KINDS = {
    cls.kind: cls
    for cls in (RescoreShard, Compact, EvaluateSegment, EraseFromSnapshot, Deliver, SyncAudience)
}


def _horizon(value) -> int | None:
    return None if value is None else int(value)


def parse(body: str) -> WorkMessage:
    """A queued body to its typed message; MalformedMessage for anything else."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise MalformedMessage("a work message is JSON") from None
    if not isinstance(data, dict):
        raise MalformedMessage("a work message is a JSON object")
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MalformedMessage(f"unknown work kind {kind!r}")
    try:
        return cls.from_message(data)
    except MalformedMessage:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"a {cls.kind} message lacks or mangles {exc}") from None
