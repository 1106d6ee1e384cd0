"""Input checks of ad destinations' settings (400 with a JSON pointer). Pure."""

from __future__ import annotations

import re
from typing import Any

from ...infra.errors import ValidationError

MAX_SECRET = 2048
LIFETIME_DAYS_MAX = 10_000


def digits(value: Any, path: str, low: int = 1, high: int = 30) -> str:
    if not isinstance(value, str) or not re.fullmatch(rf"[0-9]{{{low},{high}}}", value):
        raise ValidationError(f"{path.rsplit('/', 1)[-1]} must be {low}-{high} digits", path)
    return value


def secret(value: Any, path: str) -> str:
    """A token or secret: printable ASCII without spaces (what the platforms issue, and what an
    HTTP header can carry)."""
    if not isinstance(value, str) or not re.fullmatch(rf"[!-~]{{8,{MAX_SECRET}}}", value):
        raise ValidationError(
            f"{path.rsplit('/', 1)[-1]} must be 8-{MAX_SECRET} printable ASCII characters "
            "without spaces",
            path,
        )
    return value


def lifetime_days(value: Any, path: str, default: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= high:
        raise ValidationError(f"membership_lifetime_days must be an integer from 2 to {high}", path)
    return value
