"""local/moto_updates.py: the direct UpdateItem answers what moto's own does, item for item,
error for error and stream record for stream record, for the shapes it takes and the ones it
hands back to moto."""

import re

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend

from chalicelib.local import moto_updates

BIG = "x" * 300_000

UPDATES = [
    # the shapes a profile write and a counter send
    {"k": "a", "e": "SET #a = :a, #b = :b ADD #v :one", "c": "#v = :v", "v": {":v": {"N": "1"}}},
    {"k": "a", "e": "SET #a = :a, #b = :b ADD #v :one", "c": "#v = :v", "v": {":v": {"N": "1"}}},
    {"k": "a", "e": "SET #a = :a ADD #v :one", "c": "#v = :v", "v": {":v": {"N": "9"}}, "old": 1},
    {"k": "a", "e": "SET #a = :a ADD #v :one", "c": "#v = :v", "v": {":v": {"N": "2"}}},
    {"k": "a", "e": "ADD #n :half"},
    {"k": "a", "e": "ADD #n :half, #v :one"},
    {"k": "a", "e": "SET #b = :m"},
    # handed back to moto: type errors, keys, index keys, missing items, paths, sets, sizes
    {"k": "a", "e": "ADD #a :one"},
    {"k": "a", "e": "SET #k = :a"},
    {"k": "a", "e": "SET #g = :empty"},
    {"k": "new", "e": "SET #a = :a ADD #v :one"},
    {"k": "a", "e": "SET #m.#a = :a"},
    {"k": "a", "e": "ADD #s :set"},
    {"k": "a", "e": "SET #a = :big, #b = :big"},
    {"k": "a", "e": "SET #a = :a, #a = :m"},
    {"k": "a", "e": "SET #a = :nothing"},
    {"k": "a", "e": "SET a = :a"},
    {"k": "a", "e": "REMOVE #b"},
]
NAMES = {
    "#a": "a",
    "#b": "b",
    "#v": "version",
    "#n": "n",
    "#k": "k",
    "#g": "g",
    "#m": "m",
    "#s": "s",
}
VALUES = {
    ":a": {"S": "alpha"},
    ":b": {"M": {"orders": {"N": "2"}, "days": {"L": [{"S": "2026-01-01"}]}}},
    ":one": {"N": "1"},
    ":half": {"N": "0.5"},
    ":m": {"M": {"x": {"BOOL": True}}},
    ":empty": {"S": ""},
    ":set": {"SS": ["p", "q"]},
    ":big": {"S": BIG},
}


def make(client, name):
    return client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "k", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]


def run(client, name) -> list:
    client.put_item(
        TableName=name,
        Item={"k": {"S": "a"}, "g": {"S": "g1"}, "version": {"N": "1"}, "m": {"M": {}}},
    )
    outcomes = []
    for update in UPDATES:
        used = set(re.findall(r"[#:]\w+", update["e"] + " " + update.get("c", "")))
        names = {k: v for k, v in NAMES.items() if k in used}
        values = {k: v for k, v in {**VALUES, **update.get("v", {})}.items() if k in used}
        call = {
            "TableName": name,
            "Key": {"k": {"S": update["k"]}},
            "UpdateExpression": update["e"],
            "ReturnValues": "ALL_NEW",
        }
        if names:
            call["ExpressionAttributeNames"] = names
        if values:
            call["ExpressionAttributeValues"] = values
        if "c" in update:
            call["ConditionExpression"] = update["c"]
        if update.get("old"):
            call["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            outcomes.append(client.update_item(**call).get("Attributes"))
        except ClientError as error:
            outcomes.append((error.response["Error"], error.response.get("Item")))
    items = sorted(client.scan(TableName=name)["Items"], key=lambda i: i["k"]["S"])
    return outcomes + [items]


def stream(arn) -> list:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return [
        {k: r["dynamodb"].get(k) for k in ("Keys", "NewImage", "OldImage")}
        | {"event": r["eventName"]}
        for r in streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    ]


def test_the_direct_update_answers_what_moto_answers(aws, monkeypatch):
    # GIVEN two tables alike, one updated directly, the other by moto's own UpdateItem
    client = boto3.client("dynamodb", region_name="us-east-1")
    direct_arn, own_arn = make(client, "direct"), make(client, "own")
    taken = []
    real_plan = moto_updates.plan
    monkeypatch.setattr(
        moto_updates, "plan", lambda e: taken.append(real_plan(e) is not None) or real_plan(e)
    )
    assert getattr(DynamoDBBackend.update_item, "_direct", False)
    # WHEN the same updates are sent to each
    direct = run(client, "direct")
    monkeypatch.setattr(DynamoDBBackend, "update_item", DynamoDBBackend.update_item.__wrapped__)
    own = run(client, "own")
    # THEN the answers, errors, items and stream records are the same
    for step, (mine, theirs) in enumerate(zip(direct, own)):
        assert mine == theirs, (step, UPDATES[step] if step < len(UPDATES) else "items")
    assert stream(direct_arn) == stream(own_arn)
    # and the direct path was taken for the shapes it is for
    assert sum(taken[: len(UPDATES)]) >= 12 and len(direct[-1]) == 2


@pytest.mark.parametrize(
    "expression, shape",
    [
        ("SET #a = :a", (("SET", "#a", ":a"),)),
        (
            "SET #a=:a, #b = :b ADD #v :one",
            (("SET", "#a", ":a"), ("SET", "#b", ":b"), ("ADD", "#v", ":one")),
        ),
        ("ADD #0 :0", (("ADD", "#0", ":0"),)),
        ("SET #a = :a REMOVE #b", None),
        ("SET #a = #a + :one", None),
        ("SET #m.#a = :a", None),
        ("SET a = :a", None),
        ("SET #a = list_append(#a, :a)", None),
    ],
)
def test_the_shapes_done_directly(expression, shape):
    assert moto_updates.plan(expression) == shape


def test_a_failed_transaction_puts_back_what_direct_and_moto_updates_changed(aws):
    """GIVEN an item with a string set and a version WHEN a transaction adds to the set (moto's
    own update, in place), updates the item directly, and then fails on a condition THEN the item
    is as it was: each backup holds what its kind of update could change."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    make(client, "t")
    before = {"k": {"S": "a"}, "s": {"SS": ["p"]}, "version": {"N": "1"}, "a": {"S": "old"}}
    client.put_item(TableName="t", Item=before)
    client.put_item(TableName="t", Item={"k": {"S": "b"}, "version": {"N": "1"}})
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"k": {"S": "a"}},
                        "UpdateExpression": "ADD #s :set",
                        "ExpressionAttributeNames": {"#s": "s"},
                        "ExpressionAttributeValues": {":set": {"SS": ["q"]}},
                    }
                },
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"k": {"S": "b"}},
                        "UpdateExpression": "SET #a = :a ADD #v :one",
                        "ExpressionAttributeNames": {"#a": "a", "#v": "version"},
                        "ExpressionAttributeValues": {":a": {"S": "new"}, ":one": {"N": "1"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"k": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                },
            ]
        )
    assert client.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"] == before
    assert client.get_item(TableName="t", Key={"k": {"S": "b"}})["Item"] == {
        "k": {"S": "b"},
        "version": {"N": "1"},
    }
