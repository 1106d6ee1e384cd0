"""Shared fixtures. The environment is set before the app is imported: PynamoDB and the
chalice test client read it then (shared/notes/stack-facts.md)."""

import json
import os
from datetime import date

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "TABLE_PREFIX": "test-",
        "CURSOR_SECRET": "test-cursor-secret-0123456789",
        "PROFILE_SHARDS": "4",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        # failed work messages come back at once; webhooks may go to a test server on 127.0.0.1
        "WORK_RETRY_BASE_SECONDS": "0",
        "ALLOW_PRIVATE_WEBHOOKS": "1",
        # ad-audience syncs never leave the machine (tests replace transport.send)
        "AD_PLATFORMS_OFFLINE": "1",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.infra import config  # noqa: E402
from chalicelib.local.moto_lock import serialize_moto_calls  # noqa: E402
from chalicelib.storage import change_log, project_table  # noqa: E402
from chalicelib.storage.connection import create_tables  # noqa: E402
from chalicelib.storage.work_queue import ensure_queue  # noqa: E402


@pytest.fixture
def aws():
    """A fresh, empty in-memory AWS with the service's tables."""
    config.reset()
    change_log.forget_tails()  # read from the previous test's store
    serialize_moto_calls()  # moto is not thread-safe; DynamoDB calls are atomic
    with mock_aws():
        create_tables(wait=False)  # moto's tables are active at once
        ensure_queue(visibility_timeout=0)  # a failed message is at once ready again
        yield


def drain_work_queue(limit: int = 1000) -> int:
    """Run the work queue's handler (as Lambda would) until the queue is empty."""
    from app import app
    from chalicelib.local.runners import deliver_queue_once

    handled = 0
    while handled < limit:
        n = deliver_queue_once(app, "run_work", 1)
        if not n:
            return handled
        handled += n
    raise AssertionError(f"the work queue still has messages after {limit}")


def dead_lettered() -> list[dict]:
    """The bodies of the messages in the work queue's dead-letter queue (up to 10)."""
    from chalicelib.storage import work_queue

    sqs = work_queue.sqs_client()
    dead = sqs.get_queue_url(QueueName=work_queue.bind().work_queue + "-dead")["QueueUrl"]
    received = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in received.get("Messages", [])]


CDNOW_CAL_END = date(1997, 10, 1)  # the CDNOW sample's calibration period ends here


@pytest.fixture(scope="session")
def cdnow():
    """The CDNOW sample's customers before CDNOW_CAL_END: ids, behaviours, histories."""
    from chalicelib.predict import transactions
    from chalicelib.predict.features import History

    path = ROOT / "data" / "cdnow" / "CDNOW_sample.txt"
    ids, behaviours = transactions.behaviours(transactions.read_cdnow(path, before=CDNOW_CAL_END))
    return ids, behaviours, History.from_behaviours(behaviours)


@pytest.fixture
def drain():
    return drain_work_queue


@pytest.fixture
def project(aws):
    project_table.create_project("acme")
    api_key, _ = project_table.create_key("acme")
    return {"id": "acme", "key": api_key}


@pytest.fixture
def other_project(aws):
    project_table.create_project("globex")
    api_key, _ = project_table.create_key("globex")
    return {"id": "globex", "key": api_key}


class Api:
    """The chalice test client with a project's key and JSON in and out."""

    def __init__(self, client, project):
        self.client, self.project = client, project

    def call(self, method, path, body=None, key=None, raw=None, headers=None):
        h = {
            "x-api-key": key if key is not None else self.project["key"],
            "content-type": "application/json",
            **(headers or {}),
        }
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=h, body=payload)
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = response.body
        return response.status_code, data

    def p(self, path):
        return f"/projects/{self.project['id']}{path}"

    def get(self, path, **kw):
        return self.call("GET", self.p(path), **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", self.p(path), body, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", self.p(path), body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", self.p(path), **kw)


@pytest.fixture
def client(aws):
    from app import app

    with Client(app) as c:
        yield c


@pytest.fixture
def api(client, project):
    return Api(client, project)


def set_predictive(project_id, profile_id, predictive):
    """What the scoring code does: write a profile's predictive fields (clients cannot)."""
    from chalicelib.storage import profile_table
    from chalicelib.storage.tables import ProfileModel

    model = ProfileModel.get(profile_table.profile_key(project_id, profile_id), profile_id)
    model.update(actions=[ProfileModel.predictive.set(predictive)])


# The slow tiers (markers declared in pyproject.toml): `make check` leaves them out for a fast
# inner loop, `make test` runs everything. Given by module, or by a fixture that makes a test slow;
# a test with neither is a unit or functional test (in-process moto).
TIERS = {
    "test_e2e_local_stack.py": "e2e",
    "test_e2e_ad_audiences.py": "e2e",  # the local stack, an ad destination recording requests
    "test_cli.py": "e2e",  # each command is a subprocess on a local store
    "test_source_clients.py": "e2e",  # Segment's and RudderStack's clients against the stack
    "test_ui_browser.py": "browser",
    "test_ui_browser_events.py": "browser",
    "test_ui_files.py": "browser",  # test_ui_browser.py's tier, kept (no browser needed)
    "test_fuzz_api.py": "fuzz",
    "test_deploy_template.py": "package",
    "test_promotion.py": "training",  # trains candidates on three rolling windows (minutes)
}
FIXTURE_TIERS = {
    "stack": "e2e",  # a running local stack (tests/running_stack.py or the dev server)
    "trained": "training",  # a model trained on CDNOW (about 40 s)
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tiers = {TIERS.get(item.path.name)} | {FIXTURE_TIERS.get(f) for f in item.fixturenames}
        for tier in tiers - {None}:
            item.add_marker(getattr(pytest.mark, tier))


def events_for(profile, n, day="2026-11-01"):
    """n events of one profile on one day, every third a purchase of 20."""
    return [
        {
            "event_id": f"{profile}-{i}",
            "profile_id": profile,
            "type": "purchase" if i % 3 == 0 else "page_view",
            "timestamp": f"{day}T1{i % 10}:00:00Z",
            **({"value": 20.0} if i % 3 == 0 else {}),
        }
        for i in range(n)
    ]


@pytest.fixture
def scored_shop(api):
    """40 profiles with 1 to 5 events each, through the API (the rescoring tests' shop)."""
    for p in range(40):
        api.post("/events", {"events": events_for(f"p{p:02d}", 1 + p % 5)})
    return api


def purchase_event(pid, i=0, value=10.0, at="2026-11-01T10:00:00Z"):
    """Purchase number i of a profile (its event id), of `value`."""
    return {
        "event_id": f"{pid}-{i}",
        "profile_id": pid,
        "type": "purchase",
        "timestamp": at,
        "value": value,
    }
