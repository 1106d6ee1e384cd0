"""The work queue (SQS): rescoring shards and segment evaluations, one message each, consumed
by the `@app.on_sqs_message` worker. A message that keeps failing goes to the dead-letter queue
after MAX_RECEIVES deliveries."""

from __future__ import annotations

import json
import random
import threading
import time

from .connection import aws_client, bind
from .work_messages import WorkMessage

MAX_RECEIVES = 5
SEND_ATTEMPTS = 6
_clients: dict = {}
_urls: dict = {}
_lock = threading.Lock()


def sqs_client():
    return aws_client("sqs", bind().sqs_endpoint)


def queue_url() -> str:
    s = bind()
    key = (s.region, s.sqs_endpoint, s.work_queue)
    if key not in _urls:
        _urls[key] = sqs_client().get_queue_url(QueueName=s.work_queue)["QueueUrl"]
    return _urls[key]


def ensure_queue(visibility_timeout: int = 900) -> str:
    """Create the queue and its dead-letter queue if absent (local runs and tests; on AWS the
    deployment template creates them)."""
    s, sqs = bind(), sqs_client()
    dead = sqs.create_queue(QueueName=s.work_queue + "-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=s.work_queue,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(MAX_RECEIVES)}
            ),
        },
    )["QueueUrl"]
    _urls.clear()
    return url


def send(messages: list[WorkMessage]) -> None:
    """Send every message; entries SQS refuses (throttling, transient) are retried with backoff."""
    url = queue_url()
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(m.to_message(), separators=(",", ":"))}
            for i, m in enumerate(messages[start : start + 10])
        ]
        for attempt in range(SEND_ATTEMPTS):
            failed = (
                sqs_client().send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            )
            if not failed:
                break
            ids = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in ids]
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.random())
        else:
            raise RuntimeError(f"SQS refused {len(entries)} messages {SEND_ATTEMPTS} times")


def retry_later(receipt_handle: str, receive_count: int) -> int:
    """Exponential backoff for a failed message: hide it for base x 2^(deliveries - 1) seconds
    (at most 15 minutes) instead of the queue's fixed visibility timeout."""
    delay = min(900, bind().work_retry_base_seconds * 2 ** max(receive_count - 1, 0))
    sqs_client().change_message_visibility(
        QueueUrl=queue_url(), ReceiptHandle=receipt_handle, VisibilityTimeout=delay
    )
    return delay
