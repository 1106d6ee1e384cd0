"""End to end on the real local stack (as `make run` starts it): a segment with a Meta Custom
Audience destination, profiles entering it, one erased and one changing its email; the offline
platform records each request the stack would send (services/ad_audiences/offline.py), and the
recorded requests hold exactly the members' hashed rows."""

import json
import time

import pytest
from running_stack import LocalStack

from chalicelib.services.ad_audiences import identifiers, offline, transport

META = {
    "type": "meta_custom_audience",
    "audience_id": "23851234567890123",
    "credentials": {"access_token": "EAAB-e2e-token-0123456789", "app_secret": "e2e-app-secret"},
}
SEGMENT = {
    "name": "spring campaign",
    "match": "all",
    "rules": [{"field": "attributes.campaign", "operator": "eq", "value": "spring"}],
}
PEOPLE = {
    "ann": {"email": "Ann@Example.org", "phone": "+31 6 1234 5678", "campaign": "spring"},
    "bob": {"email": "bob@example.org", "campaign": "spring"},
    "cat": {"email": "cat@example.org", "campaign": "autumn"},  # not a member
}


@pytest.fixture
def stack(tmp_path, monkeypatch):
    record = tmp_path / "platform-requests.jsonl"
    s = LocalStack(tmp_path / "data", demo_profiles=0)
    s.env.update({transport.OFFLINE_VARIABLE: "1", offline.RECORD_VARIABLE: str(record)})
    s.record = record
    s.start()
    yield s
    if s.proc.poll() is None:
        s.stop()


def rows(person: dict) -> tuple[str, ...]:
    return tuple(identifiers.meta_keys({"attributes": person}))


def recorded(stack) -> list[dict]:
    if not stack.record.exists():
        return []
    return [json.loads(line) for line in stack.record.read_text().splitlines()]


def sent_rows(stack, method) -> set:
    return {
        tuple(row)
        for r in recorded(stack)
        if r["method"] == method
        for row in json.loads(r["form"]["payload"])["data"]
    }


def wait_for(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return condition()


def test_meta_audience_follows_the_segment_on_the_local_stack(stack):
    p = "/projects/demo"
    # GIVEN cat, a non-member (its write makes attributes.campaign a known field)
    assert stack.call("PUT", f"{p}/profiles/cat", {"attributes": PEOPLE["cat"]})[0] == 201
    status, segment = stack.call("POST", f"{p}/segments", SEGMENT)
    assert status == 201, segment
    sid = segment["segment_id"]
    status, created = stack.call("POST", f"{p}/segments/{sid}/destinations", META)
    assert status == 201, created
    # WHEN two profiles that match the rule are written
    for pid, attributes in PEOPLE.items():
        if pid != "cat":
            assert stack.call("PUT", f"{p}/profiles/{pid}", {"attributes": attributes})[0] == 201
    # THEN the two members' rows are added to the audience, and only theirs
    # (as a set: a member entering while the destination's backfill runs is sent by both, and
    # the platform takes a repeated row as one)
    expected = {rows(PEOPLE["ann"]), rows(PEOPLE["bob"])}
    assert wait_for(lambda: sent_rows(stack, "POST") == expected), recorded(stack)
    first = recorded(stack)[0]
    assert first["url"] == "https://graph.facebook.com/v26.0/23851234567890123/users"
    assert first["headers"]["Authorization"] == "<redacted>"
    assert len(first["form"]["appsecret_proof"]) == 64
    # WHEN ann is erased and bob's email changes
    assert stack.call("DELETE", f"{p}/profiles/ann")[0] == 200
    bob = {**PEOPLE["bob"], "email": "robert@example.org"}
    assert stack.call("PUT", f"{p}/profiles/bob", {"attributes": {"email": bob["email"]}})[0] == 200
    # THEN ann's row and bob's old row are removed, bob's new row added
    removed = {rows(PEOPLE["ann"]), rows(PEOPLE["bob"])}
    assert wait_for(lambda: sent_rows(stack, "DELETE") == removed), recorded(stack)
    assert wait_for(lambda: rows(bob) in sent_rows(stack, "POST")), recorded(stack)
    # and nothing of cat, the non-member, was ever sent
    everything = json.dumps(recorded(stack))
    assert identifiers.meta_keys({"attributes": PEOPLE["cat"]})[0] not in everything
    assert "EAAB-e2e-token" not in everything and "e2e-app-secret" not in everything
