"""Batch reads and writes that finish: the items DynamoDB leaves unprocessed (throttling, size
limits) are sent again with exponential backoff and jitter, and an error is raised only when
they are still left after MAX_ROUNDS. (PynamoDB's own batch helpers resend at once, or forever.)
Throttled and transient *calls* are retried by botocore (PynamoDB's standard retry mode)."""
from __future__ import annotations

import random
import time
from typing import Iterable, Type, TypeVar

from pynamodb.models import Model

M = TypeVar("M", bound=Model)
MAX_ROUNDS = 10
WRITE_CHUNK, GET_CHUNK = 25, 100


class Unprocessed(RuntimeError):
    """DynamoDB kept refusing some items of a batch."""


def backoff(round_: int) -> None:
    time.sleep(min(2.0, 0.02 * 2 ** round_) * random.random())


def _client(model: Type[Model]):
    return model._get_connection().connection.client


def _key(model: Type[Model], item: Model) -> dict:
    """The item's key, from its key attributes only (a keys-only read leaves others unset).
    Every key of this service is a string."""
    hash_value, range_value = item._get_hash_range_key_serialized_values()
    key = {model._hash_key_attribute().attr_name: {"S": hash_value}}
    if model._range_key_attribute() is not None:
        key[model._range_key_attribute().attr_name] = {"S": range_value}
    return key


def write(model: Type[M], puts: Iterable[M] = (), deletes: Iterable[M] = ()) -> int:
    """Put and delete items of one table; returns how many requests were sent in all."""
    table = model.Meta.table_name
    requests = [{"PutRequest": {"Item": m.serialize()}} for m in puts] + \
        [{"DeleteRequest": {"Key": _key(model, m)}} for m in deletes]
    for start in range(0, len(requests), WRITE_CHUNK):
        pending = requests[start:start + WRITE_CHUNK]
        for round_ in range(MAX_ROUNDS):
            response = _client(model).batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table)
            if not pending:
                break
            backoff(round_)
        else:
            raise Unprocessed(f"{len(pending)} items of {table} left unprocessed")
    return len(requests)


def get(model: Type[M], keys: list[tuple], consistent: bool = True,
        attributes: list[str] | None = None) -> list[M]:
    """The stored items among the (hash, range) keys; missing ones are simply absent."""
    table = model.Meta.table_name
    hash_name = model._hash_key_attribute().attr_name
    range_attr = model._range_key_attribute()
    found: list[M] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), GET_CHUNK):
        serialized = []
        for key in unique[start:start + GET_CHUNK]:  # every key of this service is a string
            hash_value, range_value = key if range_attr else (key, None)
            entry = {hash_name: {"S": hash_value}}
            if range_attr:
                entry[range_attr.attr_name] = {"S": range_value}
            serialized.append(entry)
        request: dict = {"Keys": serialized, "ConsistentRead": consistent}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            request["ProjectionExpression"] = ", ".join(names)
            request["ExpressionAttributeNames"] = names
        for round_ in range(MAX_ROUNDS):
            response = _client(model).batch_get_item(RequestItems={table: request})
            found += [model.from_raw_data(item) for item in response["Responses"].get(table, [])]
            left = response.get("UnprocessedKeys", {}).get(table)
            if not left:
                break
            request = left
            backoff(round_)
        else:
            raise Unprocessed(f"{len(request['Keys'])} keys of {table} left unprocessed")
    return found
