"""Request rate limits per API key: a token bucket per key, refilled at the key's rate (requests
per second) up to its burst. A request with a live key takes one token; without one it is refused
with 429 and a Retry-After of the seconds until a token is back.

On AWS, API Gateway's usage plan throttles keys before they reach the function (the deploy
template); the same limits are enforced here, in the request path, so that the local stack and
the tests behave alike. Buckets live in the process: each Lambda container counts on its own,
which can only refuse what API Gateway would refuse too.
"""

from __future__ import annotations

import math
import threading
import time

from ..infra.errors import ServiceError

MAX_BUCKETS = 10_000  # past this many, buckets idle for a minute are dropped


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class Limiter:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str, rate: float, burst: int) -> float:
        """Take a token of `key`'s bucket: 0.0 if there was one, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - when) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / rate if rate > 0 else 3600.0
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_idle(now)
        return wait

    def _forget_idle(self, now: float) -> None:
        # a bucket untouched for a minute is full again unless its key is very slow (under
        # burst/60 per second): forgetting it then only refills it early
        for key, (_, when) in list(self._buckets.items()):
            if now - when > 60:
                del self._buckets[key]

    def check(self, key: str, rate: float, burst: int) -> None:
        wait = self.take(key, rate, burst)
        if wait > 0:
            raise RateLimited(
                f"this API key is limited to {rate:g} requests per second "
                f"(bursts of {burst}); retry after the Retry-After header's seconds",
                wait,
            )


limiter = Limiter()
