"""moto's in-memory backends are not thread-safe: two requests at once can fail inside moto with
"dictionary changed size during iteration". Real DynamoDB executes each call atomically, so the
local stack and the tests serialise moto's handling of each call behind one lock. Our own code
still interleaves between calls (read, compute, conditional write), which is what the optimistic
locking is for and what the concurrency tests exercise. The same lock lets the local store
pause every call while it copies the tables (`held`), and journal each call's changes before its
answer leaves moto (`after_each_call`).

The lock also installs the speedups of moto_speedups.py.
"""

from __future__ import annotations

import functools
import threading

from . import moto_speedups

_lock = threading.RLock()
_done = False
_depth = 0  # nested moto calls of the thread holding the lock (an in-process call inside another)
_after_call: list = []


def held() -> threading.RLock:
    """`with held():` no moto call runs (from any thread or over HTTP) until the block ends."""
    return _lock


def after_each_call(callback) -> None:
    """Run callback(), lock still held, each time an outermost moto call returns or fails."""
    if callback not in _after_call:
        _after_call.append(callback)


def _call_locked(function, *args, **kwargs):
    global _depth
    with _lock:
        _depth += 1
        try:
            return function(*args, **kwargs)
        finally:
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
    for cls in (BotocoreStubber, DomainDispatcherApplication):
        original = cls.__call__

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            return _call_locked(__original, self, *args, **kwargs)

        cls.__call__ = locked
    _done = True
