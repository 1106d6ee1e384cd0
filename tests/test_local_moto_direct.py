"""local/moto_direct.py and local/moto_streams.py: DynamoDB's data calls handed to moto without
botocore's round trip answer what the round trip answers, call for call and error for error;
calls the shortcut must not take still go through botocore; stream records keep their shape."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.local import moto_direct


def make(client, name):
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "p", "KeyType": "HASH"},
            {"AttributeName": "s", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def key(p, s):
    return {"p": {"S": p}, "s": {"S": s}}


def calls(client, name) -> list:
    """The calls our storage makes, with their failures: every answer or error, in order."""
    item = {
        **key("a", "1"),
        "n": {"N": "1.50"},
        "doc": {"S": '{"x": "é"}'},
        "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}},
        "ss": {"SS": ["x", "y"]},
        "b": {"B": b"\x00\xffbytes"},
    }
    steps = [
        lambda: client.put_item(TableName=name, Item=item),
        lambda: client.put_item(
            TableName=name,
            Item=item,
            ConditionExpression="attribute_not_exists(p)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        lambda: client.get_item(TableName=name, Key=key("a", "1"), ConsistentRead=True),
        lambda: client.update_item(
            TableName=name,
            Key=key("a", "1"),
            UpdateExpression="SET #d = :d ADD #n :one",
            ConditionExpression="#n = :n",
            ExpressionAttributeNames={"#d": "doc", "#n": "n"},
            ExpressionAttributeValues={":d": {"S": "new"}, ":one": {"N": "1"}, ":n": {"N": "9"}},
        ),
        lambda: client.batch_write_item(
            RequestItems={name: [{"PutRequest": {"Item": key("a", str(i))}} for i in range(2, 30)]}
        ),
        lambda: client.query(
            TableName=name,
            KeyConditionExpression="p = :p AND s > :s",
            ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "15"}},
            Limit=5,
            ScanIndexForward=False,
        ),
        lambda: client.batch_get_item(
            RequestItems={name: {"Keys": [key("a", "1"), key("a", "2"), key("zz", "0")]}}
        ),
        lambda: client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": key("t", "1")}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": key("a", "1"),
                        "UpdateExpression": "SET #d = :d",
                        "ConditionExpression": "attribute_not_exists(#d)",
                        "ExpressionAttributeNames": {"#d": "doc"},
                        "ExpressionAttributeValues": {":d": {"S": "never"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        ),
        lambda: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": key("t", str(i))}} for i in (2, 3)]
        ),
        lambda: client.transact_get_items(
            TransactItems=[{"Get": {"TableName": name, "Key": key("t", "2")}}]
        ),
        lambda: client.delete_item(TableName=name, Key=key("t", "3"), ReturnValues="ALL_OLD"),
        lambda: client.get_item(TableName=name, Key={"p": {"S": "a"}}),  # a key missing
        lambda: client.query(TableName="no-such-table", KeyConditionExpression="p = :p"),
        lambda: client.scan(TableName=name, Select="COUNT"),
    ]
    answers = []
    for step in steps:
        try:
            answer = step()
            answer.pop("ResponseMetadata", None)
            answers.append(answer)
        except ClientError as error:
            response = {k: v for k, v in error.response.items() if k != "ResponseMetadata"}
            answers.append((type(error).__name__, response))
    return answers


def same(answer, table: str) -> str:
    """The answer in a form that compares across tables (names, keys in order, bytes shown)."""
    return json.dumps(answer, sort_keys=True, default=repr).replace(f'"{table}"', '"T"')


def test_a_direct_call_answers_what_botocores_round_trip_answers(aws, monkeypatch):
    # GIVEN two tables alike and a client that counts what goes through botocore's wire
    client = boto3.client("dynamodb", region_name="us-east-1")
    make(client, "direct")
    make(client, "wire")
    sent = []
    client.meta.events.register("before-send.dynamodb.*", lambda **kw: sent.append(1))
    # WHEN the same calls are made directly, then over the wire
    direct = calls(client, "direct")
    direct_sent = len(sent)
    monkeypatch.setattr(moto_direct, "ENABLED", False)
    wire = calls(client, "wire")
    # THEN none of the direct ones took the wire, and every answer and error is the same
    assert direct_sent == 0 and len(sent) == len(wire)
    for step, (mine, theirs) in enumerate(zip(direct, wire)):
        assert same(mine, "direct") == same(theirs, "wire"), step
    assert isinstance(direct[1], tuple) and direct[1][0] == "ConditionalCheckFailedException"
    assert direct[7][1]["CancellationReasons"][1]["Code"] == "ConditionalCheckFailed"
    assert direct[2]["Item"]["b"] == {"B": b"\x00\xffbytes"}


def test_calls_the_shortcut_must_not_take_go_through_botocore(aws):
    # GIVEN a client with an endpoint of its own (as the CLI reaches a running stack), and a
    # control-plane call of the default client
    sent = []
    own = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    own.meta.events.register("before-send.dynamodb.*", lambda **kw: sent.append("own") or None)
    default = boto3.client("dynamodb", region_name="us-east-1")
    default.meta.events.register("before-send.dynamodb.*", lambda **kw: sent.append("default"))
    # WHEN each calls
    default.list_tables()
    with pytest.raises(EndpointConnectionError):  # nothing listens on port 9: botocore tried
        own.get_item(TableName="t", Key=key("a", "1"))
    # THEN both went through botocore's wire
    assert sent[0] == "default" and "own" in sent


def test_stream_records_keep_their_shape_and_are_sized_by_their_images(aws):
    # GIVEN a table with a stream
    client = boto3.client("dynamodb", region_name="us-east-1")
    make(client, "streamed")
    # WHEN an item is put, changed and deleted
    client.put_item(TableName="streamed", Item={**key("a", "1"), "v": {"S": "x" * 100}})
    client.put_item(TableName="streamed", Item={**key("a", "1"), "v": {"S": "y" * 10}})
    client.delete_item(TableName="streamed", Key=key("a", "1"))
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName="streamed")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    # THEN each record has its keys and images, and the images' stored size (keys, names, values)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(r["dynamodb"]["Keys"] == key("a", "1") for r in records)
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"S": "x" * 100}
    assert records[1]["dynamodb"]["NewImage"]["v"] == {"S": "y" * 10}
    item_size = {"x": 1 + 1 + 1 + 1 + 1 + 100, "y": 1 + 1 + 1 + 1 + 1 + 10}
    assert [r["dynamodb"]["SizeBytes"] for r in records] == [
        item_size["x"],
        item_size["x"] + item_size["y"],
        item_size["y"],
    ]


def test_parameters_that_are_not_plain_json_go_through_botocore(aws):
    # GIVEN a client without parameter validation (as PynamoDB's) and a string set given as a
    # Python set, which botocore serialises and JSON does not
    from botocore.config import Config

    client = boto3.client(
        "dynamodb", region_name="us-east-1", config=Config(parameter_validation=False)
    )
    make(client, "sets")
    sent = []
    client.meta.events.register("before-send.dynamodb.PutItem", lambda **kw: sent.append(1))
    # WHEN it is put
    client.put_item(TableName="sets", Item={**key("a", "1"), "ss": {"SS": {"x", "y"}}})
    # THEN it went over botocore's wire and is stored
    item = client.get_item(TableName="sets", Key=key("a", "1"))["Item"]
    assert sent == [1] and sorted(item["ss"]["SS"]) == ["x", "y"]
