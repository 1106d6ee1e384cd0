"""moto's in-memory backends are not thread-safe: two requests at once can fail inside moto with
"dictionary changed size during iteration". Real DynamoDB executes each call atomically, so the
local stack and the tests serialise moto's handling of each call behind one lock. Our own code
still interleaves between calls (read, compute, conditional write), which is what the optimistic
locking is for and what the concurrency tests exercise. The same lock lets the local store
pause every call while it copies the tables (`held`), and journal each call's changes before its
answer leaves moto (`after_each_call`).

moto's TransactWriteItems also deep-copies every table a transaction touches, once per item, to
roll back on failure: a profile write with its events copied the whole events table dozens of
times, so each write took seconds once a few thousand profiles were stored. `fast_transactions`
backs up only the items the transaction touches, and restores them if it fails.

moto also parses every condition expression anew for each item, a good part of a batch write's
time: `cached_conditions` keeps the parsed condition expressions (immutable trees) by their text,
names and values, and the parsed update expressions by their text.
"""

from __future__ import annotations

import functools
import json
import threading

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

    fast_transactions()
    cached_conditions()
    for cls in (BotocoreStubber, DomainDispatcherApplication):
        original = cls.__call__

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            return _call_locked(__original, self, *args, **kwargs)

        cls.__call__ = locked
    _done = True


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB backend: tables are not copied
    (the item-level backup below replaces that); everything else is copied as before."""

    def __init__(self, table_class):
        import copy

        self._copy, self._table = copy, table_class

    def deepcopy(self, value, memo=None):
        return value if isinstance(value, self._table) else self._copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(self._copy, name)


def fast_transactions() -> None:
    import copy

    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "_fast", False):
        return
    original = DynamoDBBackend.transact_write_items
    backend_module.copy = _NoTableCopies(Table)

    @functools.wraps(original)
    def transact_write_items(self, transact_items):
        backups = []
        for item in transact_items:
            try:
                _, op = next(iter(item.items()))
                table = self.tables[op["TableName"]]
                key = op.get("Key") or {
                    name: op["Item"][name]
                    for name in (table.hash_key_attr, table.range_key_attr)
                    if name
                }
                current = self.get_item(op["TableName"], key)
            except Exception:  # a malformed item: moto's own checks report it
                continue
            backups.append((op["TableName"], key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(backups):
                if before is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before.to_json()["Attributes"])
            raise

    transact_write_items._fast = True
    DynamoDBBackend.transact_write_items = transact_write_items


def cached_conditions() -> None:
    import moto.dynamodb.comparisons as comparisons
    import moto.dynamodb.models as backend_module
    import moto.dynamodb.models.table as table_module

    original = comparisons.get_filter_expression
    if getattr(original, "_cached", False):
        return

    @functools.lru_cache(maxsize=4096)
    def parsed(expr, names_json, values_json):
        return original(expr, json.loads(names_json), json.loads(values_json))

    @functools.wraps(original)
    def get_filter_expression(expr, names, values):
        try:
            key = json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
        except (TypeError, ValueError):  # not plain JSON: parse as moto does
            return original(expr, names, values)
        return parsed(expr, *key)

    get_filter_expression._cached = True
    for module in (comparisons, backend_module, table_module):
        module.get_filter_expression = get_filter_expression

    # update expressions: moto's validator works on a deep copy of the parsed tree
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    UpdateExpressionParser.make = classmethod(
        functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make.__func__)
    )
