"""The local stack's moto patches: a failed transaction leaves every item as it was (moto's
whole-table copies are replaced by item backups), and a successful one applies all its items."""

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
    )
    client.put_item(TableName="t", Item={"k": {"S": "a"}, "x": {"N": "1"}})
    client.put_item(TableName="t", Item={"k": {"S": "b"}, "x": {"N": "1"}})
    client.put_item(TableName="t", Item={"k": {"S": "d"}, "x": {"N": "1"}})
    return client


def items(client):
    return {i["k"]["S"]: i.get("x", {}).get("N") for i in client.scan(TableName="t")["Items"]}


def test_a_failed_transaction_changes_nothing(table):
    with pytest.raises(ClientError) as error:
        table.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"k": {"S": "a"}},
                        "UpdateExpression": "SET x = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": {"k": {"S": "c"}, "x": {"N": "3"}}}},
                {"Delete": {"TableName": "t", "Key": {"k": {"S": "d"}}}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"k": {"S": "b"}, "x": {"N": "9"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                },
            ]
        )
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert items(table) == {"a": "1", "b": "1", "d": "1"}


def test_a_transaction_that_holds_applies_every_item(table):
    table.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"k": {"S": "a"}},
                    "UpdateExpression": "SET x = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
            {
                "Put": {
                    "TableName": "t",
                    "Item": {"k": {"S": "c"}, "x": {"N": "3"}},
                    "ConditionExpression": "attribute_not_exists(k)",
                }
            },
            {"Delete": {"TableName": "t", "Key": {"k": {"S": "b"}}}},
        ]
    )
    assert items(table) == {"a": "2", "c": "3", "d": "1"}


@pytest.fixture
def ranged(aws):
    """Two partitions (and a number-keyed table) big enough that a Query answers in pages."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    for name, kind in (("r", "S"), ("n", "N")):
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "h", "KeyType": "HASH"},
                {"AttributeName": "r", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "h", "AttributeType": "S"},
                {"AttributeName": "r", "AttributeType": kind},
            ],
        )
    for i in range(300):  # written out of order; ~6 KB each: a 1 MB page holds ~170
        for h in ("p", "q"):
            client.put_item(
                TableName="r",
                Item={"h": {"S": h}, "r": {"S": f"{(i * 7) % 300:04d}"}, "pad": {"S": "x" * 6000}},
            )
        client.put_item(TableName="n", Item={"h": {"S": "p"}, "r": {"N": str((i * 7) % 300 - 150)}})
    return client


def every_page(client, **query):
    pages, start = [], None
    while True:
        page = client.query(**query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append([i["r"].get("S") or i["r"]["N"] for i in page["Items"]])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


@pytest.mark.parametrize(
    "query",
    [
        dict(TableName="r", KeyConditionExpression="h = :h"),
        dict(TableName="r", KeyConditionExpression="h = :h", ScanIndexForward=False),
        dict(TableName="r", KeyConditionExpression="h = :h AND r >= :s", Limit=37),
        dict(TableName="r", KeyConditionExpression="h = :h AND r BETWEEN :s AND :e"),
        dict(TableName="n", KeyConditionExpression="h = :h", Limit=40),
        dict(TableName="n", KeyConditionExpression="h = :h", Limit=40, ScanIndexForward=False),
        dict(TableName="r", KeyConditionExpression="h = :h AND r > :s"),
        dict(TableName="r", KeyConditionExpression="h = :h AND r < :e", ScanIndexForward=False),
        dict(TableName="r", KeyConditionExpression="h = :h AND r <= :e", Limit=29),
        dict(TableName="r", KeyConditionExpression="h = :h AND r = :s"),
        dict(TableName="r", KeyConditionExpression="h = :h AND begins_with(r, :b)"),
        dict(TableName="n", KeyConditionExpression="h = :h AND r > :n", Limit=17),
        dict(TableName="n", KeyConditionExpression="h = :h AND r BETWEEN :n AND :m"),
    ],
)
def test_a_partition_query_answers_what_moto_answers(ranged, query, monkeypatch):
    """GIVEN items of two partitions written out of key order WHEN a query pages through one
    (forward, backward, with a range condition, numbers as keys) THEN the pages are moto's own,
    whose base-table query sorted the whole table per page."""
    from moto.dynamodb.models.table import Table

    values = {":h": {"S": "p"}, ":s": {"S": "0100"}, ":e": {"S": "0200"}, ":b": {"S": "01"}}
    values.update({":n": {"N": "-20.5"}, ":m": {"N": "99"}})
    used = {k: v for k, v in values.items() if k in query["KeyConditionExpression"]}
    query = {**query, "ExpressionAttributeValues": used}
    fast = every_page(ranged, **query)
    assert Table.query.__wrapped__ is not Table.query  # the speedup is installed
    monkeypatch.setattr(Table, "query", Table.query.__wrapped__)
    assert every_page(ranged, **query) == fast
    assert len(fast) > 1 or "Limit" not in query


def test_a_partition_query_follows_puts_and_deletes(ranged, monkeypatch):
    """GIVEN a partition whose key order a first query has cached WHEN items are added, replaced
    and deleted (by put, transaction and batch) THEN later queries answer what moto's own
    query answers, pages and ranges alike."""
    from moto.dynamodb.models.table import Table

    query = dict(
        TableName="r",
        KeyConditionExpression="h = :h AND r >= :s",
        ExpressionAttributeValues={":h": {"S": "p"}, ":s": {"S": "0150"}},
        Limit=31,
    )
    every_page(ranged, **query)  # the order is now cached
    for i in range(0, 300, 10):  # as many added as deleted: the count alone cannot tell
        ranged.delete_item(TableName="r", Key={"h": {"S": "p"}, "r": {"S": f"{i:04d}"}})
    for i in range(0, 300, 10):
        ranged.put_item(TableName="r", Item={"h": {"S": "p"}, "r": {"S": f"{i:04d}x"}})
    ranged.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "r", "Item": {"h": {"S": "p"}, "r": {"S": "0200y"}}}},
            {"Delete": {"TableName": "r", "Key": {"h": {"S": "p"}, "r": {"S": "0201"}}}},
        ]
    )
    ranged.batch_write_item(
        RequestItems={
            "r": [{"PutRequest": {"Item": {"h": {"S": "p"}, "r": {"S": "0250x"}, "v": {"S": "1"}}}}]
        }
    )
    fast = every_page(ranged, **query)
    monkeypatch.setattr(Table, "query", Table.query.__wrapped__)
    assert every_page(ranged, **query) == fast
    assert "0200y" in sum(fast, []) and "0201" not in sum(fast, [])


def test_stream_records_answer_what_moto_answers(aws, monkeypatch):
    """GIVEN a table with a stream of new and old images, written and changed WHEN its records
    are read THEN the plain JSON answer parses to moto's own serializer's records."""
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    client = boto3.client("dynamodb", region_name="us-east-1")
    arn = client.create_table(
        TableName="s",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    for i in range(3):
        item = {"k": {"S": f"k{i}"}, "m": {"M": {"n": {"N": "1.5"}, "l": {"L": [{"S": "x"}]}}}}
        client.put_item(TableName="s", Item=item)
    client.put_item(TableName="s", Item={"k": {"S": "k0"}, "b": {"BOOL": True}})
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records():
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return streams.get_records(ShardIterator=iterator, Limit=10)["Records"]

    plain = records()
    assert getattr(DynamoDBStreamsHandler.get_records, "_plain", False)
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", DynamoDBStreamsHandler.get_records)
    import moto.dynamodbstreams.responses as responses
    from moto.core.responses import ActionResult

    def moto_own(self):
        limit = self._get_param("Limit")
        return ActionResult(
            self.backend.get_records(self._get_param("ShardIterator"), limit or 1000)
        )

    monkeypatch.setattr(responses.DynamoDBStreamsHandler, "get_records", moto_own)
    own = records()
    assert len(plain) == 4 and plain == own


@pytest.mark.parametrize("kilobytes, refused", [(390, False), (404, False), (406, True)])
def test_an_item_is_refused_past_the_size_moto_refuses(table, kilobytes, refused):
    """GIVEN an item of some size, in attributes of several kinds WHEN it is put THEN it is
    refused exactly past moto's limit (405,000 bytes of names and values), checked once."""
    half = kilobytes * 500 - 40
    item = {"k": {"S": "big"}, "a": {"S": "x" * half}, "m": {"M": {"b": {"S": "y" * half}}}}
    if refused:
        with pytest.raises(ClientError) as error:
            table.put_item(TableName="t", Item=item)
        assert "Item size has exceeded the maximum allowed size" in str(error.value)
    else:
        table.put_item(TableName="t", Item=item)
        assert len(table.get_item(TableName="t", Key={"k": {"S": "big"}})["Item"]["a"]["S"]) == half


def test_a_background_call_gives_way_to_a_request_in_flight(aws, monkeypatch):
    """GIVEN a request being answered WHEN a background thread calls moto THEN its call waits for
    the request to end (up to BACKGROUND_WAIT_SECONDS), while the request's own calls do not."""
    import threading

    from chalicelib.local import moto_lock

    monkeypatch.setattr(moto_lock, "BACKGROUND_WAIT_SECONDS", 30)
    client = boto3.client("dynamodb", region_name="us-east-1")
    order, entered, release = [], threading.Event(), threading.Event()

    def request():
        with moto_lock.foreground():
            entered.set()
            client.list_tables()  # not held back
            order.append("request call")
            release.wait(5)
            order.append("request done")

    def background():
        entered.wait(5)
        client.list_tables()
        order.append("background call")

    threads = [threading.Thread(target=request), threading.Thread(target=background)]
    for t in threads:
        t.start()
    entered.wait(5)
    threads[1].join(0.5)  # time enough for the background call, were it not held back
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["request call", "request done", "background call"]


def test_a_background_runner_takes_its_turn_after_the_requests_in_flight():
    """GIVEN a request being answered WHEN a background runner asks for its turn THEN it gets it
    when the request ends, not before; with no request, or past its bound, at once."""
    import threading
    import time

    from chalicelib.local import moto_lock

    order, entered, release = [], threading.Event(), threading.Event()

    def request():
        with moto_lock.foreground():
            entered.set()
            release.wait(5)
            order.append("request done")

    def runner():
        entered.wait(5)
        moto_lock.give_way(30)
        order.append("runner's turn")

    threads = [threading.Thread(target=request), threading.Thread(target=runner)]
    for t in threads:
        t.start()
    entered.wait(5)
    threads[1].join(0.5)  # time enough for the runner, were it not waiting
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["request done", "runner's turn"]
    started = time.monotonic()
    moto_lock.give_way(30)  # nothing in flight
    with moto_lock.foreground():
        moto_lock.give_way(0.2)  # its own request: waits out the bound, then moves on
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "projection", ["r", "r, #n, h", "h, r, absent", "r, #n", "m.x", "l[0]", "num, r"]
)
def test_a_projection_answers_what_moto_answers(ranged, projection, monkeypatch):
    """GIVEN items with text, number, map and list attributes WHEN a query projects top-level
    text attributes (copied) or anything else (moto's own) THEN the answer is moto's own."""
    from moto.dynamodb.models.dynamo_type import Item

    ranged.put_item(
        TableName="r",
        Item={
            "h": {"S": "p"},
            "r": {"S": "0001"},
            "m": {"M": {"x": {"N": "1.50"}, "y": {"S": "z"}}},
            "l": {"L": [{"S": "a"}, {"N": "2"}]},
            "num": {"N": "7.0"},
            "n": {"S": "named"},
        },
    )
    query = dict(
        TableName="r",
        KeyConditionExpression="h = :h AND r <= :e",
        ExpressionAttributeValues={":h": {"S": "p"}, ":e": {"S": "0003"}},
        ProjectionExpression=projection,
        **({"ExpressionAttributeNames": {"#n": "n"}} if "#n" in projection else {}),
    )
    fast = ranged.query(**query)["Items"]
    assert getattr(Item.project, "_plain", False)
    monkeypatch.setattr(Item, "project", Item.project.__wrapped__)
    assert ranged.query(**query)["Items"] == fast and fast


def test_cached_conditions_still_refuse_what_moto_refuses_each_time(table, monkeypatch):
    """GIVEN transactions whose conditions hold, declare a name or a value they do not use, or
    do not parse, and one that holds WHEN each is sent twice (the second from
    the cache) THEN each answer is moto's own, parsed anew: the same error, or the same write."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.comparisons import create_condition_expression_parser as own

    conditions = [
        ("#x = :v", {"#x": "x"}, {":v": {"N": "1"}}),
        ("#x = :v", {"#x": "x", "#unused": "y"}, {":v": {"N": "1"}}),
        ("#x = :v", {"#x": "x"}, {":v": {"N": "1"}, ":unused": {"N": "2"}}),
        ("#x = = :v", {"#x": "x"}, {":v": {"N": "1"}}),
    ]

    def send(expr, names, values):
        update = {
            "TableName": "t",
            "Key": {"k": {"S": "a"}},
            "UpdateExpression": "SET #x = :v",
            "ConditionExpression": expr,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        try:
            table.transact_write_items(TransactItems=[{"Update": update}])
            return "written"
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["Error"]["Message"]
        except ValueError as error:  # moto's parser fails outright on some bad expressions
            return type(error).__name__, str(error)

    cached = [[send(*c) for c in conditions] for _ in range(2)]
    monkeypatch.setattr(responses, "create_condition_expression_parser", own)
    plain = [send(*c) for c in conditions]
    assert cached[0] == cached[1] == plain
    assert plain[0] == plain[2] == "written"  # moto lets an unused value through
    assert plain[1][0] == "ValidationException" and plain[3][0] == "ValueError"
