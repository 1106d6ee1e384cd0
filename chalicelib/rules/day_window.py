"""The value of the day operators on date fields (`within_last_days`, `more_than_days_ago`):
N whole days, today included, in the project's time zone (UTC unless the project sets one), the
same days event conditions count in (event_keys.py). Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = "UTC"


@lru_cache(maxsize=64)
def _opening(days: float, time_zone: str, now: datetime) -> datetime:
    zone = timezone.utc if time_zone == UTC else ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=math.ceil(days) - 1)
    return datetime.combine(first, time(), tzinfo=zone)  # that day's own UTC offset (DST)


@dataclass(frozen=True)
class DayWindow:
    days: float  # 0 .. MAX_DAYS; a fraction counts as the whole day it starts
    time_zone: str = UTC

    def opening(self, now: datetime) -> datetime:
        """The midnight that opens the last `days` whole days up to `now`'s day (0 days: the
        next midnight, so nothing up to now is within them)."""
        return _opening(self.days, self.time_zone, now)

    def in_zone(self, time_zone: str) -> "DayWindow":
        return DayWindow(self.days, time_zone)
