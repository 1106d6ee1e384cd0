"""Where moto, our local stand-in for DynamoDB, is far slower than DynamoDB in ways our tests and
the local stack feel; each patch keeps moto's answers as they were.

moto's TransactWriteItems also deep-copies every table a transaction touches, once per item, to
roll back on failure: a profile write with its events copied the whole events table dozens of
times, so each write took seconds once a few thousand profiles were stored. `fast_transactions`
backs up only the items the transaction touches, and restores them if it fails.

moto also parses every condition expression anew for each item, a good part of a batch write's
time: `cached_conditions` keeps the parsed condition expressions (immutable trees) by their text,
names and values, and the parsed update expressions by their text.

moto answers each page of a Query by sorting every item of the table (all partitions), then
skipping the pages before it one comparison at a time: reading a project's change log took
seconds once other tables and projects held a few thousand items. `partition_queries` hands a
base-table query only its own partition, already in key order and starting after the last
page; moto's filtering, paging and answer are unchanged.

moto builds each GetRecords answer of a DynamoDB stream with its generic, reflective serializer:
the local stream runner's polls of the profiles stream (whole old and new images) held the lock
for most of a second each under load. `plain_stream_records` answers with the records as JSON,
which they already are.

moto checks an item's 400 KB limit as each attribute is stored, summing the sizes of all the
attributes stored before it: quadratic in the attributes, each size a walk of nested maps.
`one_size_check` checks a new item once, with the same sum, refusing exactly what moto refuses.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone


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


def _sort_key(value):
    """DynamoDB's order of a key value (S and B: as stored; N: as a number)."""
    return float(value.value) if value.type == "N" else value.value


def partition_queries() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = Table.query
    if getattr(original, "_partitioned", False):
        return

    @functools.wraps(original)
    def query(self, hash_key, *args, **kwargs):
        # moto's positional order: range_comparison, range_objs, limit, exclusive_start_key,
        # scan_index_forward, projection_expressions, index_name, ...
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        plain = (
            not index_name
            and hash_key is not None
            and self.range_key_attr
            and len(kwargs.get("hash_key_conditions") or ()) <= 1
        )
        if not plain:
            return original(self, hash_key, *args, **kwargs)
        args = list(args)
        start, forward = args[3], args[4] is not False
        partition = sorted(
            self.items.get(hash_key, {}).values(), key=lambda i: _sort_key(i.range_key)
        )
        if start and self.range_key_attr in start:
            after = _sort_key(DynamoType(start[self.range_key_attr]))
            partition = [
                i
                for i in partition
                if (_sort_key(i.range_key) > after) == forward and _sort_key(i.range_key) != after
            ]
            args[3] = None  # the partition starts after the last page already
        self.all_items = lambda: partition  # read once, by the call below (the lock is held)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query._partitioned = True
    Table.query = query


def plain_stream_records() -> None:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler.get_records, "_plain", False):
        return

    def get_records(self):
        limit = self._get_param("Limit")
        result = self.backend.get_records(
            self._get_param("ShardIterator"), 1000 if limit is None else limit
        )
        records = []
        for record in result["Records"]:  # the time as the API sends it: epoch seconds
            when = datetime.fromisoformat(record["dynamodb"]["ApproximateCreationDateTime"])
            epoch = int(when.replace(tzinfo=timezone.utc).timestamp() * 1000) / 1000
            records.append(
                {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": epoch}}
            )
        return json.dumps({**result, "Records": records})

    get_records._plain = True
    DynamoDBStreamsHandler.get_records = get_records


def one_size_check() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "_one_check", False):
        return

    def __init__(self, hash_key, range_key, attrs):
        self.hash_key, self.range_key = hash_key, range_key
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > 405000:
            raise ItemSizeTooLarge  # moto's own limit (LimitedSizeDict)
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, values)  # later sets (updates) are still checked by moto

    __init__._one_check = True
    Item.__init__ = __init__


def install() -> None:
    fast_transactions()
    cached_conditions()
    partition_queries()
    plain_stream_records()
    one_size_check()
