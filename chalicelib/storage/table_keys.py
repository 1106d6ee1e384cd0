"""Every composite DynamoDB key of the service, built and parsed here and nowhere else
(docs/storage.md lists the tables).

A composite key joins its parts with '#'. Its first part never holds one (project ids are
[a-z0-9-], chalicelib.validation; stamps are ISO times), so a key is split at its first '#' and
the last part (a profile or segment id) may hold any character, '#' included.
"""

from __future__ import annotations

import zlib

SEP = "#"


def _join(first: str, last: str) -> str:
    if SEP in first:  # it could not be split again; validation never lets one through
        raise ValueError(f"a key's first part holds no {SEP!r}: {first!r}")
    return f"{first}{SEP}{last}"


def _split(key: str) -> tuple[str, str]:
    first, sep, last = key.partition(SEP)
    if not sep:
        raise ValueError(f"not a composite key: {key!r}")
    return first, last


# --- profiles: pk = "<project>#<shard>", sk = profile_id ---------------------------------------


def shard_of(profile_id: str, shards: int) -> int:
    """The write shard of a profile: stable, so a profile's key follows from its id."""
    return zlib.crc32(profile_id.encode()) % shards


def profile_partition(project_id: str, shard: int) -> str:
    return _join(project_id, f"{shard:03d}")


def profile_partition_of(project_id: str, profile_id: str, shards: int) -> str:
    return profile_partition(project_id, shard_of(profile_id, shards))


def parse_profile_partition(pk: str) -> tuple[str, int]:
    """(project_id, shard) of a profiles partition key."""
    project_id, shard = _split(pk)
    return project_id, int(shard)


def profile_walk_start(project_id: str, shard: int, after_profile_id: str) -> dict:
    """The serialized exclusive start key of a walk resuming after a profile of a shard."""
    return {
        "pk": {"S": profile_partition(project_id, shard)},
        "profile_id": {"S": after_profile_id},
    }


# --- "<project>#<profile_id>": the events partition and the by_profile index key -----------------


def profile_ref(project_id: str, profile_id: str) -> str:
    """One profile of one project: the events table's partition key, and the key of the
    `by_profile` index of memberships, membership changes and changes (erasure reads them)."""
    return _join(project_id, profile_id)


def parse_profile_ref(ref: str) -> tuple[str, str]:
    """(project_id, profile_id)."""
    return _split(ref)


# --- "<project>#<segment_id>": memberships, membership_changes, segment_stats ------------------


def segment_ref(project_id: str, segment_id: str) -> str:
    return _join(project_id, segment_id)


def parse_segment_ref(ref: str) -> tuple[str, str]:
    """(project_id, segment_id)."""
    return _split(ref)


# --- "<ISO time with microseconds>#<profile_id>": changes and membership_changes sort keys ------


def change_id(at: str, profile_id: str) -> str:
    return _join(at, profile_id)


def parse_change_id(value: str) -> tuple[str, str]:
    """(at, profile_id)."""
    return _split(value)
