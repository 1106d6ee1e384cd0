"""moto's in-memory backends are not thread-safe: two requests at once can fail inside moto with
"dictionary changed size during iteration". Real DynamoDB executes each call atomically, so the
local stack and the tests serialise moto's handling of each call behind one lock. Our own code
still interleaves between calls (read, compute, conditional write), which is what the optimistic
locking is for and what the concurrency tests exercise. The same lock lets the local store
pause every call while it copies the tables (`held`), and journal each call's changes before its
answer leaves moto (`after_each_call`).

Requests go first. The local stack runs in one process what AWS runs apart (the API's Lambdas,
the stream and queue Lambdas, DynamoDB): while a request is being answered (`foreground`), a
call from a background thread waits up to BACKGROUND_WAIT_SECONDS for the requests to finish
before it takes the lock, and a background runner up to BACKGROUND_TURN_SECONDS before each
piece of its work (`give_way`), so a rescore or compaction slows requests down less, and still
moves on under steady traffic.

The lock also installs the speedups of moto_speedups.py.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager

from . import moto_direct, moto_speedups

_lock = threading.RLock()
_done = False
_depth = 0  # nested moto calls of the thread holding the lock (an in-process call inside another)
_after_call: list = []
# a request's own work is ~0.1 s: waiting that long and more keeps most requests clear of the
# rescore's and compaction's calls (bulk-load previews: p95 0.42 s at 0.05, 0.28 s at 0.25)
BACKGROUND_WAIT_SECONDS = 0.25
# and a background runner waits up to this long for them before each piece of its work
BACKGROUND_TURN_SECONDS = 1.0
_requests = 0  # being answered now
_quiet = threading.Condition()
_thread = threading.local()


@contextmanager
def foreground():
    """`with foreground():` around a request's handling: background calls give way meanwhile."""
    global _requests
    with _quiet:
        _requests += 1
    _thread.foreground = True
    try:
        yield
    finally:
        _thread.foreground = False
        with _quiet:
            _requests -= 1
            if not _requests:
                _quiet.notify_all()


def give_way(most_seconds: float = None) -> None:
    """A background runner's call before its next piece of work (a stream batch, a queued
    message): wait while requests are being answered, at most `most_seconds`. What AWS runs on
    other Lambdas then takes less of this one interpreter from the requests (a bulk load ran
    into the start-up rescore: 747-1,027 profiles/s, against 1,111-1,324 without it), and
    under steady traffic it still moves on."""
    with _quiet:
        _quiet.wait_for(lambda: not _requests, most_seconds or BACKGROUND_TURN_SECONDS)


def held() -> threading.RLock:
    """`with held():` no moto call runs (from any thread or over HTTP) until the block ends."""
    return _lock


def after_each_call(callback) -> None:
    """Run callback(), lock still held, each time an outermost moto call returns or fails."""
    if callback not in _after_call:
        _after_call.append(callback)


def call_locked(function, *args, **kwargs):
    """function(*args, **kwargs) as one moto call: under the lock, after requests in flight if
    called from the background, with the after-call callbacks."""
    global _depth
    inside = getattr(_thread, "inside", 0)  # a nested call already holds the lock: no waiting
    if _requests and not inside and not getattr(_thread, "foreground", False):
        with _quiet:
            _quiet.wait_for(lambda: not _requests, BACKGROUND_WAIT_SECONDS)
    with _lock:
        _depth += 1
        _thread.inside = inside + 1
        try:
            return function(*args, **kwargs)
        finally:
            _thread.inside = inside
            _depth -= 1
            if not _depth:
                for callback in _after_call:
                    callback()


def serialize_moto_calls() -> None:
    global _done
    if _done:
        return
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    moto_speedups.install()
    moto_direct.install()
    for cls in (BotocoreStubber, DomainDispatcherApplication):
        original = cls.__call__

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            return call_locked(__original, self, *args, **kwargs)

        cls.__call__ = locked
    _done = True
