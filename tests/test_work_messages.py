"""Work-queue messages are typed: built in one module, read back the same, and a body that is not
one of them fails its own record, not the batch."""

import json
from datetime import date

import pytest

from chalicelib.api import triggers
from chalicelib.storage import work_messages as messages

EXAMPLES = [
    messages.RescoreShard("acme", "job-1", 3, date(2026, 11, 20), 30, None),
    messages.RescoreShard("acme", "job-1", 0),
    messages.RescoreShard("acme", "job-1", 2, None, None, None, 3, "p#0042"),
    messages.Compact("acme"),
    messages.EvaluateSegment("acme", "seg_1", "rescore"),
    messages.EraseFromSnapshot("acme", "p1"),
    messages.Deliver(
        "acme",
        "seg_1",
        "dst_1",
        "dlv_1",
        [{"profile_id": "p1", "change": "entered", "at": "2026-11-28T10:00:00.000Z"}],
    ),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.kind)
def test_a_message_reads_back_as_what_was_sent(message):
    # GIVEN a typed message  WHEN it is written as the queue holds it and parsed
    body = json.dumps(message.to_message())
    # THEN it is the same message, and its body names its kind
    assert messages.parse(body) == message
    assert json.loads(body)["kind"] == message.kind


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"kind": "noop"}),
        json.dumps({"kind": ["rescore_shard"]}),
        json.dumps({"kind": "rescore_shard", "project_id": "acme"}),
        json.dumps({"kind": "rescore_shard", "project_id": "a", "job_id": "j", "shard": "x"}),
        json.dumps(
            {
                "kind": "deliver",
                "project_id": "a",
                "segment_id": "s",
                "destination_id": "d",
                "delivery_id": "x",
                "changes": "not a list",
            }
        ),
    ],
)
def test_a_malformed_body_is_refused_by_name(body):
    with pytest.raises(messages.MalformedMessage):
        messages.parse(body)


class SqsRecord:
    def __init__(self, message_id, body):
        self.body, self.receipt_handle = body, f"handle-{message_id}"
        self._raw = {"messageId": message_id, "attributes": {"ApproximateReceiveCount": "1"}}

    def to_dict(self):
        return self._raw


def test_a_malformed_message_fails_its_record_and_the_others_run(aws, monkeypatch):
    # GIVEN a batch with an unknown kind, a body that is not JSON, and a good message
    done = []
    monkeypatch.setattr(triggers.work, "process", lambda item: done.append(item) or {})
    good = messages.EraseFromSnapshot("acme", "p1")
    records = [
        SqsRecord("m1", json.dumps({"kind": "noop", "project_id": "acme"})),
        SqsRecord("m2", "{oops"),
        SqsRecord("m3", json.dumps(good.to_message())),
    ]
    # WHEN the worker handles it  THEN only the two bad records are reported failed
    assert triggers.handle_work(records) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    }
    assert done == [good]
