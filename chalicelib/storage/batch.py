"""The raw DynamoDB calls PynamoDB's models do not make the way the service needs, through the
public botocore client of `connection.transaction_connection()`:

- batch reads and writes that finish: the items DynamoDB leaves unprocessed (throttling, size
  limits) are sent again with exponential backoff and jitter, and an error is raised only when
  they are still left after MAX_ROUNDS (PynamoDB's own batch helpers resend at once, or forever);
- a conditional set that leaves the version alone (PynamoDB's updates always bump a
  VersionAttribute).

Throttled and transient *calls* are retried by botocore (PynamoDB's standard retry mode)."""

from __future__ import annotations

import random
import time
from typing import Iterable, Type, TypeVar

from botocore.exceptions import ClientError
from pynamodb.attributes import Attribute, VersionAttribute
from pynamodb.models import Model

from .connection import transaction_connection
from .tables import key_attributes

M = TypeVar("M", bound=Model)
MAX_ROUNDS = 10
WRITE_CHUNK, GET_CHUNK = 25, 100


class Unprocessed(RuntimeError):
    """DynamoDB kept refusing some items of a batch."""


def backoff(round_: int) -> None:
    time.sleep(min(2.0, 0.02 * 2**round_) * random.random())


def _client(model: Type[Model] | None = None):
    """The botocore client of every raw call (one per settings, whatever the table)."""
    return transaction_connection().client


def _serialized_key(model: Type[Model], values: tuple) -> dict:
    """A key given as its (hash[, range]) values; every key of this service is a string."""
    return {a.attr_name: {"S": value} for (_, a), value in zip(key_attributes(model), values)}


def _key(model: Type[Model], item: Model) -> dict:
    """The item's key, from its key attributes only (a keys-only read leaves others unset)."""
    return _serialized_key(model, tuple(getattr(item, name) for name, _ in key_attributes(model)))


def set_if_version(
    model: Type[Model],
    key: tuple,
    attribute: Attribute,
    value,
    version: int | None,
    also_put: tuple[Model, ...] = (),
) -> bool:
    """Set one attribute of the item with this key only if its version is still `version`, and
    leave the version as it is; the items `also_put` are put in the same transaction. False
    when the item changed or went meanwhile (then nothing is written)."""
    version_name = next(
        a.attr_name for a in model.get_attributes().values() if isinstance(a, VersionAttribute)
    )
    update = {
        "TableName": model.Meta.table_name,
        "Key": _serialized_key(model, key),
        "UpdateExpression": "SET #a = :a",
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": {"#a": attribute.attr_name, "#v": version_name},
        "ExpressionAttributeValues": {
            ":a": {attribute.attr_type: attribute.serialize(value)},
            ":v": {"N": str(version)},
        },
    }
    try:
        if not also_put:
            _client(model).update_item(**update)
        else:
            puts = [
                {"Put": {"TableName": m.Meta.table_name, "Item": m.serialize()}} for m in also_put
            ]
            _client(model).transact_write_items(TransactItems=[{"Update": update}, *puts])
    except ClientError as exc:
        error = exc.response.get("Error", {}).get("Code")
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if error == "ConditionalCheckFailedException" or (
            error == "TransactionCanceledException"
            and reasons[:1] in (["ConditionalCheckFailed"], ["TransactionConflict"])
        ):
            return False
        raise
    return True


def write(model: Type[M], puts: Iterable[M] = (), deletes: Iterable[M] = ()) -> int:
    """Put and delete items of one table; returns how many requests were sent in all."""
    table = model.Meta.table_name
    requests = [{"PutRequest": {"Item": m.serialize()}} for m in puts] + [
        {"DeleteRequest": {"Key": _key(model, m)}} for m in deletes
    ]
    for start in range(0, len(requests), WRITE_CHUNK):
        pending = requests[start : start + WRITE_CHUNK]
        for round_ in range(MAX_ROUNDS):
            response = _client(model).batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table)
            if not pending:
                break
            backoff(round_)
        else:
            raise Unprocessed(f"{len(pending)} items of {table} left unprocessed")
    return len(requests)


def range_keys_from(model: Type[Model], hash_value: str, start: str) -> list[str]:
    """The range keys of one partition from `start` on, in order: a keys-only query whose
    answer is read no further than the keys (a model object a key cost more than its read)."""
    (_, hash_attr), (_, range_attr) = key_attributes(model)
    request = {
        "TableName": model.Meta.table_name,
        "KeyConditionExpression": "#h = :h AND #r >= :r",
        "ExpressionAttributeNames": {"#h": hash_attr.attr_name, "#r": range_attr.attr_name},
        "ExpressionAttributeValues": {":h": {"S": hash_value}, ":r": {"S": start}},
        "ProjectionExpression": "#r",
        "ConsistentRead": True,
    }
    found: list[str] = []
    while True:
        page = _client(model).query(**request)
        found += [item[range_attr.attr_name]["S"] for item in page.get("Items", ())]
        if not page.get("LastEvaluatedKey"):
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get(
    model: Type[M], keys: list[tuple], consistent: bool = True, attributes: list[str] | None = None
) -> list[M]:
    """The stored items among the (hash, range) keys; missing ones are simply absent."""
    table = model.Meta.table_name
    found: list[M] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), GET_CHUNK):
        serialized = [
            _serialized_key(model, key if isinstance(key, tuple) else (key,))
            for key in unique[start : start + GET_CHUNK]
        ]
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
