"""Faults injected at the wire (botocore's before-send, ahead of moto): throttling and transient
errors from DynamoDB, S3 and SQS are retried with backoff, unprocessed batch items are sent
again, and what cannot be done after the retries is a clear 503, not a 500 or a half-write."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.local import moto_direct
from chalicelib.storage import batch, model_store, work_queue
from chalicelib.storage.connection import transaction_connection
from chalicelib.storage.tables import EventModel, ProfileModel
from chalicelib.storage.work_messages import EvaluateSegment


class RawBody:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body

    def read(self, *_):
        return self.body


class Injector:
    """Answers the first `times` calls of an operation (event "service.Operation") with
    `make(request)` instead of moto, then lets them through to moto; counts every call. It sits
    in moto's own botocore hook, so an injected call never reaches moto's backend (botocore calls
    every before-send handler, whatever an earlier one answered)."""

    def __init__(self, event: str, times: int, make):
        self.event, self.calls, self.times, self.make = event, 0, times, make

    def answer(self, event_name: str, request):
        if not event_name.endswith(self.event):
            return None
        self.calls += 1
        if self.calls <= self.times:
            status, headers, body = self.make(request)
            return AWSResponse(request.url, status, headers, RawBody(body))
        return None


def dynamodb_error(code: str):
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}
    ).encode()
    return lambda request: (400, {"x-amzn-ErrorType": code}, body)


@pytest.fixture
def injected(monkeypatch):
    from moto.core.botocore_stubber import BotocoreStubber

    made = []
    real = BotocoreStubber.__call__

    def stubber(self, event_name, request, **kwargs):
        for injector in made:
            response = injector.answer(event_name, request)
            if response is not None:
                return response
        return real(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", stubber)
    # the local stack's DynamoDB shortcut skips botocore's wire; AWS's calls all take it
    monkeypatch.setattr(moto_direct, "ENABLED", False)

    def inject(client, event, times, make):  # client: which one is retried is up to botocore
        injector = Injector(event, times, make)
        made.append(injector)
        return injector

    inject.stop = made.clear
    return inject


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch):
    """Backoff is real but short in tests: botocore's and ours."""
    monkeypatch.setattr(batch, "backoff", lambda round_: None)
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def test_a_throttled_profile_write_is_retried_and_succeeds(api, injected):
    client = transaction_connection().client
    throttle = injected(
        client,
        "dynamodb.TransactWriteItems",
        2,
        dynamodb_error("ProvisionedThroughputExceededException"),
    )
    status, body = api.put("/profiles/u1", {"attributes": {"plan": "gold"}})
    assert status == 201 and throttle.calls == 3
    assert api.get("/profiles/u1")[1]["attributes"] == {"plan": "gold"}


def test_throttling_that_outlasts_the_retries_is_a_503_and_writes_nothing(api, injected):
    client = transaction_connection().client
    injected(
        client,
        "dynamodb.TransactWriteItems",
        100,
        dynamodb_error("ProvisionedThroughputExceededException"),
    )
    status, body = api.put("/profiles/u2", {"attributes": {"plan": "gold"}})
    assert status == 503 and body["error"]["code"] == "unavailable"


def test_a_503_leaves_nothing_half_written(api, injected):
    client = transaction_connection().client
    injected(client, "dynamodb.TransactWriteItems", 100, dynamodb_error("ThrottlingException"))
    assert (
        api.post(
            "/events",
            {
                "events": [
                    {
                        "event_id": "e1",
                        "profile_id": "u3",
                        "type": "page_view",
                        "timestamp": "2026-11-01T10:00:00Z",
                    }
                ]
            },
        )[0]
        == 503
    )
    injected.stop()
    assert api.get("/profiles/u3")[0] == 404  # the transaction never ran: no profile, no event
    assert list(EventModel.query("acme#u3")) == []


def test_unprocessed_batch_items_are_sent_again_until_all_are_written(aws, injected):
    client = batch._client(EventModel)
    sent, processed = [], []

    def leave_half(request):
        items = json.loads(request.body)["RequestItems"]
        table, requests = next(iter(items.items()))
        sent.append(len(requests))
        half = len(requests) // 2
        processed.extend(r["PutRequest"]["Item"]["event_id"]["S"] for r in requests[:half])
        return 200, {}, json.dumps({"UnprocessedItems": {table: requests[half:]}}).encode()

    injector = injected(client, "dynamodb.BatchWriteItem", 3, leave_half)
    events = [EventModel("acme#u9", f"e{i:02d}", data={"type": "page_view"}) for i in range(20)]
    batch.write(EventModel, events)
    # three rounds leave half of what was sent unprocessed: 20 -> 10 -> 5 -> 3 (the 4th: moto)
    assert sent == [20, 10, 5] and injector.calls == 4
    # what the injected rounds "processed" (written here, as DynamoDB would have) and what moto
    # wrote in the last round are every event, each once
    injected.stop()
    for event_id in processed:
        EventModel("acme#u9", event_id, data={"type": "page_view"}).save()
    stored = sorted(e.event_id for e in EventModel.query("acme#u9"))
    assert stored == [f"e{i:02d}" for i in range(20)] and len(processed) == 17


def test_unprocessed_batch_keys_are_read_again(aws, injected):
    for i in range(5):
        ProfileModel(
            f"acme#00{i}", f"u{i}", project_id="acme", created_at="x", updated_at="x"
        ).save()
    client = batch._client(ProfileModel)

    def process_none(request):
        items = json.loads(request.body)["RequestItems"]
        table, request_items = next(iter(items.items()))
        return (
            200,
            {},
            json.dumps(
                {"Responses": {table: []}, "UnprocessedKeys": {table: request_items}}
            ).encode(),
        )

    injected(client, "dynamodb.BatchGetItem", 2, process_none)
    found = batch.get(ProfileModel, [(f"acme#00{i}", f"u{i}") for i in range(5)])
    assert sorted(m.profile_id for m in found) == [f"u{i}" for i in range(5)]


def test_batches_that_stay_unprocessed_raise_instead_of_dropping_items(aws, injected):
    client = batch._client(EventModel)

    def leave_all(request):
        items = json.loads(request.body)["RequestItems"]
        return 200, {}, json.dumps({"UnprocessedItems": items}).encode()

    injected(client, "dynamodb.BatchWriteItem", 1000, leave_all)
    with pytest.raises(batch.Unprocessed):
        batch.write(EventModel, [EventModel("acme#u8", "e1", data={})])


def test_s3_slow_downs_are_retried(aws, injected):
    model_store.ensure_bucket()
    s3 = model_store.s3_client()
    slow = injected(
        s3,
        "s3.PutObject",
        3,
        lambda request: (
            503,
            {},
            b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>",
        ),
    )
    from chalicelib.rules.columnar import Snapshot
    from chalicelib.storage import project_table, snapshot_store

    project_table.create_project("acme")
    snapshot = Snapshot.build(
        [{"profile_id": "u1", "attributes": {}, "behaviour": {}, "predictive": {}}],
        __import__("chalicelib.rules", fromlist=["Catalogue"]).Catalogue({}),
    )
    assert snapshot_store.save("acme", snapshot, "2026-11-28T10:00:00.000000Z")
    assert slow.calls == 4
    assert list(snapshot_store.latest("acme")[0].profile_ids) == ["u1"]


def test_sqs_entries_refused_in_a_batch_are_sent_again(aws, injected):
    sqs = work_queue.sqs_client()
    attempts = []

    def refuse_first_two(request):
        attempts.append(request.body)
        entries = json.loads(request.body)["Entries"]
        ok = [
            {"Id": e["Id"], "MessageId": f"m{e['Id']}", "MD5OfMessageBody": "x"}
            for e in entries[2:]
        ]
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
            for e in entries[:2]
        ]
        return 200, {}, json.dumps({"Successful": ok, "Failed": failed}).encode()

    injected(sqs, "sqs.SendMessageBatch", 1, refuse_first_two)
    work_queue.send([EvaluateSegment("acme", f"s{i}") for i in range(5)])
    # the first call "sent" entries 2-4 (answered by the injector, not moto): only the two
    # refused ones go out again, and they reach the queue
    url = work_queue.queue_url()
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["segment_id"] for m in got) == ["s0", "s1"]


def test_a_throttled_sqs_call_is_retried(aws, injected):
    sqs = work_queue.sqs_client()
    throttled = injected(
        sqs,
        "sqs.SendMessageBatch",
        2,
        lambda request: (
            400,
            {"x-amzn-query-error": "ThrottlingException;Sender"},
            json.dumps(
                {"__type": "com.amazonaws.sqs#ThrottlingException", "message": "injected"}
            ).encode(),
        ),
    )
    work_queue.send([EvaluateSegment("acme", "s1")])
    assert throttled.calls == 3
    got = sqs.receive_message(QueueUrl=work_queue.queue_url())["Messages"]
    assert json.loads(got[0]["Body"])["segment_id"] == "s1"
