"""Stand-ins for Lambda's event sources in the local stack: they build the same events AWS would
send and call the app's own handlers (`app.handler_map`), so the local stack runs the handler
code that Lambda runs.

- schedule: every ScheduledEventConfig of the app, once shortly after start, then at its rate;
- streams: every DynamoDBEventConfig, fed from the local table's stream (polled twice a second);
- queues: every SQSEventConfig, fed from the local SQS queue (moto): a message the handler reports
  as failed comes back after the queue's visibility timeout, and after five deliveries it goes to
  the dead-letter queue, as on AWS.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import datetime, timezone

import boto3
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from . import moto_lock

log = logging.getLogger("local.runners")
FIRST_SCHEDULE_AFTER = float(os.environ.get("LOCAL_FIRST_SCHEDULE_SECONDS", "5"))
POLL_SECONDS = 0.5


def _context(name: str) -> LambdaContext:
    return LambdaContext(name, 1024, max_runtime_ms=900_000)


def _rate_seconds(config: ScheduledEventConfig) -> float:
    from chalice import Rate

    expr = config.schedule_expression
    if isinstance(expr, Rate):
        unit = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}[expr.unit.upper()]
        return expr.value * unit
    return 86400.0  # cron expressions: once a day locally


def cloudwatch_event() -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def schedule_runner(app, config: ScheduledEventConfig, stop: threading.Event):
    def run():
        wait = FIRST_SCHEDULE_AFTER
        while not stop.wait(wait):
            try:
                result = app.handler_map[config.name](cloudwatch_event(), _context(config.name))
                log.info("schedule %s: %s", config.name, result)
            except Exception:
                log.exception("scheduled handler %s failed", config.name)
            wait = _rate_seconds(config)

    return run


def stream_event(records: list[dict], stream_arn: str) -> dict:
    """Records from GetRecords as Lambda delivers them."""
    out = []
    for record in records:
        record = dict(record)
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        record["dynamodb"] = dynamodb
        record["eventSourceARN"] = stream_arn
        out.append(record)
    return {"Records": out}


class StreamReader:
    """A table's stream read on from where it was left (at first: its oldest record, or with
    `latest` the next one written), each batch delivered to the stream handler as Lambda
    delivers it. Tests flush the stream with it."""

    def __init__(self, app, config: DynamoDBEventConfig, table_name: str, latest: bool = False):
        self.app, self.config = app, config
        self.streams = boto3.client("dynamodbstreams")
        self.arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"][
            "LatestStreamArn"
        ]
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = [
            self.streams.get_shard_iterator(
                StreamArn=self.arn,
                ShardId=s["ShardId"],
                ShardIteratorType="LATEST" if latest else "TRIM_HORIZON",
            )["ShardIterator"]
            for s in shards
        ]

    def deliver_once(self) -> int:
        """One batch of each shard to the handler; returns how many records were delivered."""
        delivered = 0
        for i, iterator in enumerate(self.iterators):
            response = self.streams.get_records(
                ShardIterator=iterator, Limit=self.config.batch_size
            )
            self.iterators[i] = response.get("NextShardIterator", iterator)
            if response["Records"]:
                delivered += len(response["Records"])
                _deliver(self.app, self.config, stream_event(response["Records"], self.arn))
        return delivered

    def flush(self) -> int:
        """Deliver until the stream has nothing new."""
        total = 0
        while n := self.deliver_once():
            total += n
        return total


def stream_runner(app, config: DynamoDBEventConfig, table_name: str, stop: threading.Event):
    def run():
        reader = StreamReader(app, config, table_name)
        while not stop.is_set():
            busy = False
            moto_lock.give_way()
            try:
                busy = reader.deliver_once() > 0
            except Exception:  # the poller must outlive any one failure, as Lambda's does
                log.exception("polling the profiles stream failed; polling on")
                stop.wait(1)
            if not busy:
                stop.wait(POLL_SECONDS)

    return run


def _deliver(app, config, event) -> None:
    for _attempt in range(2):  # Lambda retries the failed records; so do we, once
        try:
            result = app.handler_map[config.name](event, _context(config.name)) or {}
        except Exception:
            log.exception("stream handler %s failed", config.name)
            result = {
                "batchItemFailures": [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
                ]
            }
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        if not failed:
            return
        event = {
            "Records": [r for r in event["Records"] if r["dynamodb"]["SequenceNumber"] in failed]
        }
        time.sleep(0.5)
    log.error("%d stream records failed twice; dropped locally", len(event["Records"]))


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """Messages from ReceiveMessage as Lambda delivers them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver_queue_once(app, name: str, batch_size: int) -> int:
    """Receive one batch from the work queue, run the handler on it, delete what succeeded.
    Returns how many messages were received (tests drain the queue with it)."""
    from ..storage import work_queue

    sqs, url = work_queue.sqs_client(), work_queue.queue_url()
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=min(batch_size, 10), AttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return 0
    arn = "arn:aws:sqs:us-east-1:123456789012:" + url.rsplit("/", 1)[-1]
    try:
        result = app.handler_map[name](sqs_event(messages, arn), _context(name)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:
        log.exception("queue handler %s failed", name)
        failed = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ],
        )
    return len(messages)


def queue_runner(app, config: SQSEventConfig, stop: threading.Event):
    def run():
        while not stop.is_set():
            moto_lock.give_way()
            try:
                if not deliver_queue_once(app, config.name, config.batch_size):
                    stop.wait(POLL_SECONDS)
            except Exception:
                log.exception("polling the work queue failed")
                stop.wait(5)

    return run


def runners(stop: threading.Event) -> list:
    """(name, target) pairs the stack runs as threads until `stop` is set."""
    from app import app

    from ..storage.tables import ProfileModel

    out = []
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            out.append((f"schedule:{source.name}", schedule_runner(app, source, stop)))
        elif isinstance(source, DynamoDBEventConfig):
            out.append(
                (
                    f"stream:{source.name}",
                    stream_runner(app, source, ProfileModel.Meta.table_name, stop),
                )
            )
        elif isinstance(source, SQSEventConfig):
            out.append((f"queue:{source.name}", queue_runner(app, source, stop)))
    return out
