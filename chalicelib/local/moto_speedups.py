"""Where moto, our local stand-in for DynamoDB, is far slower than DynamoDB in ways our tests and
the local stack feel; each patch keeps moto's answers as they were.

moto's TransactWriteItems also deep-copies every table a transaction touches, once per item, to
roll back on failure: a profile write with its events copied the whole events table dozens of
times, so each write took seconds once a few thousand profiles were stored. `fast_transactions`
backs up only the items the transaction touches, and restores them if it fails.

moto also parses every condition expression anew for each item, a good part of a batch write's
time: `cached_conditions` keeps the parsed condition expressions (immutable trees) by their text,
names and values (for the backend, and for the answering side's check of the names a condition
uses), and the parsed update expressions by their text.

moto answers each page of a Query by sorting every item of the table (all partitions), then
skipping the pages before it one comparison at a time: reading a project's change log took
seconds once other tables and projects held a few thousand items. `partition_queries` hands a
base-table query only the items of its own partition that its key condition and start key can
reach, in key order (kept sorted as items come and go, found by bisection); moto's filtering,
paging and answer are unchanged, except that the items answered are not deep-copied first.

moto projects an item (a ProjectionExpression) by converting the whole item to plain JSON and
back; `plain_projections` copies top-level text attributes instead.

moto checks an item's 400 KB limit as each attribute is stored, summing the sizes of all the
attributes stored before it: quadratic in the attributes, each size a walk of nested maps.
`one_size_check` checks a new item once, with the same sum, refusing exactly what moto refuses.
"""

from __future__ import annotations

import bisect
import functools
import json
import threading


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
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    from . import moto_updates

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
            backups.append((op["TableName"], key, moto_updates.backup(item, op, current)))
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

    # the answering side parses each condition once more, to check the names it uses
    import moto.dynamodb.responses as responses_module

    original_parser = comparisons.create_condition_expression_parser

    @functools.lru_cache(maxsize=4096)
    def parsed_with_names(expr, names_json, values_json):
        parser = original_parser(expr, json.loads(names_json), json.loads(values_json))
        op = parser.parse()  # an error is raised each time, not cached
        return op, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found)

    def create_condition_expression_parser(expr, names, values):
        try:
            key = json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
        except (TypeError, ValueError):
            return original_parser(expr, names, values)
        return _ParsedCondition(lambda: parsed_with_names(expr, *key))

    responses_module.create_condition_expression_parser = create_condition_expression_parser

    # update expressions: moto's validator works on a deep copy of the parsed tree
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    UpdateExpressionParser.make = classmethod(
        functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make.__func__)
    )


class _ParsedCondition:
    """Stands in for moto's ConditionExpressionParser where the answering side uses one: parse()
    (cached), then the names and values it found."""

    def __init__(self, parse):
        self._parse = parse
        self.expr_attr_names_found: list[str] = []
        self.expr_attr_values_found: list[str] = []

    def parse(self):
        op, names, values = self._parse()
        self.expr_attr_names_found, self.expr_attr_values_found = list(names), list(values)
        return op


def _sort_key(value):
    """DynamoDB's order of a key value (S and B: as stored; N: as a number)."""
    return float(value.value) if value.type == "N" else value.value


class _SortedPartition:
    """One partition's range keys in key order (their sort values beside them), kept up to
    date by the table's own put_item and delete_item, so a query neither sorts the partition
    nor walks the items before its range (a change log of 100,000 entries read for its last
    minute took most of a second each time)."""

    def __init__(self, part: dict):
        self.part = part
        self.refs = sorted(part, key=_sort_key)
        self.keys = [_sort_key(r) for r in self.refs]

    def fresh(self, part) -> bool:
        return part is self.part and len(self.keys) == len(part)

    def added(self, range_key) -> bool:
        key = _sort_key(range_key)
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            return False
        self.keys.insert(at, key)
        self.refs.insert(at, range_key)
        return True

    def removed(self, range_key) -> bool:
        key = _sort_key(range_key)
        at = bisect.bisect_left(self.keys, key)
        if at == len(self.keys) or self.keys[at] != key:
            return False
        del self.keys[at], self.refs[at]
        return True

    def span(self, comparison, values, start, forward) -> tuple[int, int]:
        """The positions [lo, hi) that can satisfy the key condition and come after `start`;
        moto still applies the condition itself to each of them."""
        keys, lo, hi = self.keys, 0, len(self.keys)
        if comparison in ("=", "EQ"):
            lo, hi = bisect.bisect_left(keys, values[0]), bisect.bisect_right(keys, values[0])
        elif comparison in (">", "GT"):
            lo = bisect.bisect_right(keys, values[0])
        elif comparison in (">=", "GE"):
            lo = bisect.bisect_left(keys, values[0])
        elif comparison in ("<", "LT"):
            hi = bisect.bisect_left(keys, values[0])
        elif comparison in ("<=", "LE"):
            hi = bisect.bisect_right(keys, values[0])
        elif comparison == "BETWEEN":
            lo, hi = bisect.bisect_left(keys, values[0]), bisect.bisect_right(keys, values[1])
        elif comparison == "BEGINS_WITH" and isinstance(values[0], str):
            lo = hi = bisect.bisect_left(keys, values[0])
            while hi < len(keys) and keys[hi].startswith(values[0]):
                hi += 1
        if start is not None:
            if forward:
                lo = max(lo, bisect.bisect_right(keys, start))
            else:
                hi = min(hi, bisect.bisect_left(keys, start))
        return lo, max(lo, hi)


def _sorted_partition(table, hash_key) -> _SortedPartition:
    part = table.items.get(hash_key, {})
    cache = table.__dict__.setdefault("_sorted_partitions", {})
    found = cache.get(hash_key)
    if found is None or not found.fresh(part):
        found = cache[hash_key] = _SortedPartition(part)
    return found


def _keep_sorted(table, hash_key, range_key, change: str) -> None:
    """After put_item/delete_item: the cached order follows, or is dropped when it cannot."""
    cache = table.__dict__.get("_sorted_partitions")
    found = cache.get(hash_key) if cache else None
    if found is None or range_key is None:
        return
    part = table.items.get(hash_key)
    if part is found.part:
        getattr(found, change)(range_key)
    if part is not found.part or len(found.keys) != len(part):
        del cache[hash_key]


class _UncopiedQueryResults:
    """Stands in for the `copy` module inside moto's table module: a base-table query's results
    are not deep-copied (the answer is serialised from them while the lock is held, and a
    projection makes new items); everything else is copied as before."""

    def __init__(self):
        import copy

        self._copy, self.skip = copy, threading.local()

    def deepcopy(self, value, memo=None):
        if getattr(self.skip, "on", False) and isinstance(value, list):
            return list(value)
        return self._copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(self._copy, name)


def partition_queries() -> None:
    import moto.dynamodb.models.table as table_module
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = Table.query
    if getattr(original, "_partitioned", False):
        return
    uncopied = table_module.copy = _UncopiedQueryResults()
    put_item, delete_item = Table.put_item, Table.delete_item

    @functools.wraps(put_item)
    def put_item_sorted(self, *args, **kwargs):
        item = put_item(self, *args, **kwargs)
        if self.range_key_attr and item is not None:
            _keep_sorted(self, item.hash_key, item.range_key, "added")
        return item

    @functools.wraps(delete_item)
    def delete_item_sorted(self, hash_key, range_key=None):
        item = delete_item(self, hash_key, range_key)
        if item is not None and self.range_key_attr:
            _keep_sorted(self, hash_key, range_key, "removed")
        return item

    @functools.wraps(original)
    def query(self, hash_key, *args, **kwargs):
        # moto's positional order: range_comparison, range_objs, limit, exclusive_start_key,
        # scan_index_forward, projection_expressions, index_name, ...
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        plain = (
            not index_name
            and hash_key is not None
            and self.range_key_type in ("S", "N")  # B: base64 text is not in byte order
            and len(kwargs.get("hash_key_conditions") or ()) <= 1
        )
        if not plain:
            return original(self, hash_key, *args, **kwargs)
        args = list(args)
        comparison, objects = args[0], args[1] or []
        start, forward = args[3], args[4] is not False
        sorted_part = _sorted_partition(self, hash_key)
        if not all(o.type == self.range_key_type for o in objects):
            comparison = None  # moto reports (or matches nothing); no narrowing
        after = None
        if start and self.range_key_attr in start:
            after = _sort_key(DynamoType(start[self.range_key_attr]))
            args[3] = None  # the partition starts after the last page already
        lo, hi = sorted_part.span(comparison, [_sort_key(o) for o in objects], after, forward)
        part = sorted_part.part
        partition = [part[r] for r in sorted_part.refs[lo:hi]]
        self.all_items = lambda: partition  # read once, by the call below (the lock is held)
        uncopied.skip.on = True
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            uncopied.skip.on = False
            del self.all_items

    query._partitioned = True
    Table.query = query
    Table.put_item, Table.delete_item = put_item_sorted, delete_item_sorted


def plain_projections() -> None:
    """moto projects an item by converting all of it to plain JSON and back: reading a range of
    the change log for its keys alone converted every entry's document. A projection of
    top-level text attributes copies them instead (the same values: text is not reformatted);
    anything else goes to moto's own."""
    from moto.dynamodb.models.dynamo_type import Item

    original = Item.project
    if getattr(original, "_plain", False):
        return

    @functools.wraps(original)
    def project(self, projection_expressions):
        names = [e[0] for e in projection_expressions if len(e) == 1 and "[" not in e[0]]
        found = [self.attrs[n] for n in names if n in self.attrs]
        if len(names) != len(projection_expressions) or any(v.type != "S" for v in found):
            return original(self, projection_expressions)
        item = Item(self.hash_key, self.range_key, {})
        for name in names:
            if name in self.attrs:
                item.attrs[name] = self.attrs[name]
        return item

    project._plain = True
    Item.project = project


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
    from . import moto_streams, moto_updates

    moto_updates.install()
    moto_streams.install()
    fast_transactions()
    cached_conditions()
    partition_queries()
    plain_projections()
    one_size_check()
