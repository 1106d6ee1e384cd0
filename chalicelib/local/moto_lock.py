"""moto's in-memory backends are not thread-safe: two requests at once can fail inside moto with
"dictionary changed size during iteration". Real DynamoDB executes each call atomically, so the
local stack and the tests serialise moto's handling of each call behind one lock. Our own code
still interleaves between calls (read, compute, conditional write), which is what the optimistic
locking is for and what the concurrency tests exercise."""
from __future__ import annotations

import functools
import threading

_lock = threading.RLock()
_done = False


def serialize_moto_calls() -> None:
    global _done
    if _done:
        return
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    for cls in (BotocoreStubber, DomainDispatcherApplication):
        original = cls.__call__

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            with _lock:
                return __original(self, *args, **kwargs)
        cls.__call__ = locked
    _done = True
