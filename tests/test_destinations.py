"""Webhook destinations: entries and exits POSTed signed to a receiver, retried with backoff when
it fails, dead-lettered after five deliveries; URLs checked against SSRF."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import dead_lettered

from chalicelib.infra.errors import ValidationError
from chalicelib.services import scoring_jobs, webhooks
from chalicelib.storage import work_queue
from chalicelib.storage.work_messages import EvaluateSegment

SEGMENT = {
    "name": "big spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}


class Receiver:
    """An HTTP server on 127.0.0.1 that records deliveries; answers `statuses` in turn, then
    200."""

    def __init__(self, statuses=()):
        self.deliveries, self.statuses = [], list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def purchase(pid, i, value):
    return {
        "event_id": f"{pid}-{i}",
        "profile_id": pid,
        "type": "purchase",
        "timestamp": "2026-11-01T10:00:00Z",
        "value": value,
    }


def test_entries_and_exits_are_posted_signed(api, project, drain, receiver):
    hook = receiver()
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, destination = api.post(f"/segments/{sid}/destinations", {"url": hook.url})
    assert status == 201 and destination["secret"].startswith("whsec_")
    assert "secret" not in api.get(f"/segments/{sid}/destinations")[1]["destinations"][0]
    # when: two profiles enter (the backfill), then one leaves when its data changes
    api.post(
        "/events", {"events": [purchase("a", 0, 60), purchase("b", 0, 70), purchase("c", 0, 10)]}
    )
    drain()
    api.put("/profiles/a", {"attributes": {"vip": True}})
    # (a refund is not an event type: move "a" out by editing the rule instead)
    api.put(
        f"/segments/{sid}",
        {**SEGMENT, "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 65}]},
    )
    drain()
    # then: every delivery is signed with the destination's secret and names its changes
    changes = []
    for headers, body in hook.deliveries:
        assert webhooks.verify(destination["secret"], body, headers["X-Segments-Signature"])
        assert not webhooks.verify("whsec_wrong", body, headers["X-Segments-Signature"])
        document = json.loads(body)
        assert (
            document["segment_id"] == sid
            and document["delivery_id"] == headers["X-Segments-Delivery"]
        )
        changes += [(c["profile_id"], c["change"]) for c in document["changes"]]
    assert sorted(changes) == [("a", "entered"), ("a", "exited"), ("b", "entered")]


def test_a_failing_receiver_gets_the_same_delivery_again(api, project, drain, receiver):
    hook = receiver(statuses=[500, 503])
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", {"url": hook.url})
    api.post("/events", {"events": [purchase("a", 0, 60)]})
    drain()
    # two failures, then the third delivery of the same message is taken
    assert len(hook.deliveries) == 3
    ids = {headers["X-Segments-Delivery"] for headers, _ in hook.deliveries}
    assert len(ids) == 1  # one delivery id: the receiver can deduplicate retries


def test_a_receiver_that_keeps_failing_is_dead_lettered(api, project, drain, receiver):
    hook = receiver(statuses=[500] * 20)
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", {"url": hook.url})
    api.post("/events", {"events": [purchase("a", 0, 60)]})
    drain()
    assert len(hook.deliveries) == work_queue.MAX_RECEIVES
    bodies = dead_lettered()
    assert [b["kind"] for b in bodies] == ["deliver"]


def test_a_failed_message_is_hidden_for_longer_each_time(aws, monkeypatch):
    monkeypatch.setenv("WORK_RETRY_BASE_SECONDS", "10")
    from chalicelib.infra import config

    config.reset()  # settings are read once; read them again
    work_queue.send([EvaluateSegment("acme", "seg_none")])
    sqs, url = work_queue.sqs_client(), work_queue.queue_url()
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    assert [work_queue.retry_later(handle, n) for n in (1, 2, 3, 8)] == [10, 20, 40, 900]


@pytest.mark.parametrize(
    "url, allow_private",
    [
        ("http://example.com/hook", False),  # not https
        ("https://127.0.0.1/hook", False),  # loopback
        ("https://169.254.169.254/latest", False),  # the instance metadata service
        ("https://10.0.0.5/hook", False),  # private network
        ("https://user:pw@example.com/hook", False),  # credentials in the URL
        ("ftp://example.com/x", True),
        ("https://" + "a" * 3000, True),
    ],
)
def test_webhook_urls_that_could_reach_inside_are_refused(url, allow_private):
    def resolve(host, port):
        return [(None, None, None, None, (host if host[0].isdigit() else "93.184.215.14", port))]

    with pytest.raises(ValidationError) as error:
        webhooks.check_url(url, allow_private, resolve=resolve)
    assert error.value.path == "/url"


def test_a_public_https_url_is_accepted():
    resolve = lambda host, port: [(None, None, None, None, ("93.184.215.14", port))]  # noqa: E731
    assert webhooks.check_url("https://hooks.example.com/x", resolve=resolve)


def test_destinations_are_validated_and_deleted(api, project):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, body = api.post(f"/segments/{sid}/destinations", {"url": 42})
    assert (status, body["error"]["path"]) == (400, "/url")
    status, body = api.post(f"/segments/{sid}/destinations", {"url": "http://x", "extra": 1})
    assert status == 400
    created = api.post(f"/segments/{sid}/destinations", {"url": "http://127.0.0.1:9/h"})[1]
    assert api.delete(f"/segments/{sid}/destinations/{created['destination_id']}")[0] == 200
    assert api.get(f"/segments/{sid}/destinations")[1] == {"destinations": []}
    assert api.delete(f"/segments/{sid}/destinations/{created['destination_id']}")[0] == 404
    assert api.post("/segments/seg_nope/destinations", {"url": "http://127.0.0.1/h"})[0] == 404


def test_the_trigger_path_delivers_too(api, project, drain, receiver):
    hook = receiver()
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", {"url": hook.url})
    drain()
    api.post("/events", {"events": [purchase("z", 0, 99)]})
    scoring_jobs.score_profiles(project["id"], ["z"])  # what the stream trigger runs
    drain()
    assert [json.loads(b)["changes"][0]["profile_id"] for _, b in hook.deliveries] == ["z"]


def test_webhooks_are_typed_and_skip_the_control_group(api, project, drain, receiver):
    """GIVEN a webhook (added with or without `type`) WHEN a control-group member's change is
    handed over with the others THEN it is not delivered, and the webhook is listed as such."""
    from chalicelib.services import destinations
    from chalicelib.storage import segment_table

    hook = receiver()
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    drain()
    status, created = api.post(
        f"/segments/{sid}/destinations", {"type": "webhook", "url": hook.url}
    )
    assert status == 201 and created["type"] == "webhook"
    assert api.get(f"/segments/{sid}/destinations")[1]["destinations"][0]["type"] == "webhook"
    changes = [
        {"profile_id": "treated", "change": "entered", "at": "2026-12-01T00:00:00.000Z"},
        {
            "profile_id": "held-out",
            "change": "entered",
            "at": "2026-12-01T00:00:00.000Z",
            "control": True,
        },
    ]
    destinations.notify("acme", segment_table.get("acme", sid), changes)
    drain()
    delivered = [c["profile_id"] for _, b in hook.deliveries for c in json.loads(b)["changes"]]
    assert delivered == ["treated"]
