"""Who is held out as control: a deterministic, stable assignment. Pure.

Each profile gets a bucket in [0, 100) from SHA-256 of (project, segment, profile id): uniform,
the same on every evaluation, on every machine and after every redeploy (no secret that could be
rotated, so no reshuffle). A member is control when its bucket is below the segment's
`control_percent`, or when its project-wide bucket (project and profile only, the same in every
segment) is below the project's `control_percent` (a global control group). Raising a percentage
only moves profiles into control and lowering it only moves them out: the fewest possible moves.
"""

from __future__ import annotations

import hashlib
import math

from ..infra.errors import ValidationError

MAX_CONTROL_PERCENT = 50
_SCALE = 100.0 / 2**64


def bucket(*parts: str) -> float:
    """A uniform number in [0, 100) for the given key parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") * _SCALE


def segment_bucket(project_id: str, segment_id: str, profile_id: str) -> float:
    return bucket("segment-control", project_id, segment_id, profile_id)


def project_bucket(project_id: str, profile_id: str) -> float:
    return bucket("project-control", project_id, profile_id)


def is_control(
    project_id: str,
    segment_id: str,
    profile_id: str,
    segment_percent: float,
    project_percent: float = 0,
) -> bool:
    """Whether the member is held out (segment control or the project-wide control)."""
    if segment_percent > 0 and segment_bucket(project_id, segment_id, profile_id) < segment_percent:
        return True
    return project_percent > 0 and project_bucket(project_id, profile_id) < project_percent


PERCENT_DECIMALS = 4  # kept to this many decimal places: DynamoDB stores no 1e-162


def parse_control_percent(value, path: str = "/control_percent") -> float:
    """A percentage from 0 to 50 (a number, not a boolean), kept to PERCENT_DECIMALS decimal
    places, or a ValidationError at `path`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
        or not 0 <= value <= MAX_CONTROL_PERCENT  # an int of any size compares exactly
    ):
        raise ValidationError(
            f"control_percent must be a number from 0 to {MAX_CONTROL_PERCENT}", path
        )
    kept = round(float(value), PERCENT_DECIMALS)
    return int(kept) if kept.is_integer() else kept
