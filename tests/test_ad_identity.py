"""Ad audiences when who a member is changes: an erased profile's hashes are removed from the ad
platforms, and a member whose email or phone changes, through any writer (the API, the
Segment-compatible source, an import), has its old hashes swapped for the new: the profiles
stream's trigger sees the change. The queued messages carry the hashes, so the worker needs
neither the erased profile nor the attributes it had before (services/ad_audiences/identity.py)."""

import json

import ad_audience_support as shared
import pytest
from ad_audience_support import GOOGLE, META, SEGMENT, add_people, document

from chalicelib.services.ad_audiences import identifiers, identity
from chalicelib.storage import audience_members, profile_table, work_queue
from chalicelib.storage.work_messages import SyncAudience


@pytest.fixture
def platform(monkeypatch):
    return shared.platform.__wrapped__(monkeypatch)


@pytest.fixture
def kms_key(aws, monkeypatch):
    return shared.kms_key.__wrapped__(aws, monkeypatch)


@pytest.fixture
def drain(drain):
    """The profiles stream as Lambda reads it (from the next record written), then the queue."""
    from app import app
    from chalicelib.local.runners import StreamReader
    from chalicelib.storage.tables import ProfileModel

    config = next(s for s in app.event_sources if s.name == "score_changed_profiles")
    reader = StreamReader(app, config, ProfileModel.Meta.table_name, latest=True)

    def both():
        return reader.flush() + drain()

    return both


def with_destination(api, drain, destination, people):
    """GIVEN a segment with an ad destination and these people as members, already sent."""
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    assert api.post(f"/segments/{sid}/destinations", destination)[0] == 201
    add_people(api, people)
    drain()
    return sid


def queued_bodies():
    """The work messages waiting in the queue (read, then left to become visible again)."""
    sqs = work_queue.sqs_client()
    url = sqs.get_queue_url(QueueName=work_queue.bind().work_queue)["QueueUrl"]
    return [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def google_ops(platform, verb):
    return [
        op[verb]["userIdentifiers"]
        for r in platform.requests
        if r.url.endswith(":addOperations")
        for op in r.json["operations"]
        if verb in op
    ]


def test_an_erased_member_is_removed_from_meta_by_hashes_queued_before(
    api, project, drain, platform, kms_key
):
    with_destination(api, drain, META, ["a", "b"])
    platform.requests.clear()
    # WHEN a is erased
    assert api.delete("/profiles/a")[0] == 200
    # THEN the queued removal holds a's hashes, and the profile it came from is gone
    bodies = [b for b in queued_bodies() if b["kind"] == "sync_audience"]
    assert [(b["mode"], b["changes"]) for b in bodies] == [
        (
            "keys",
            [{"profile_id": "a", "change": "exited", "keys": identifiers.meta_keys(document("a"))}],
        )
    ]
    assert profile_table.get("acme", "a") is None
    drain()
    # THEN Meta gets a DELETE of a's row only, and nothing is added
    assert platform.meta_rows("DELETE") == [identifiers.meta_keys(document("a"))]
    assert platform.meta_rows("POST") == []


def test_an_erased_member_is_removed_from_google_customer_match(
    api, project, drain, platform, kms_key
):
    with_destination(api, drain, GOOGLE, ["a", "c"])
    platform.requests.clear()
    api.delete("/profiles/c")
    drain()
    keys = identifiers.google_keys(document("c"))
    assert google_ops(platform, "remove") == [[{k: v} for k, v in keys.items()]]
    assert google_ops(platform, "create") == []


def test_erasing_a_non_member_or_a_profile_without_identifiers_sends_nothing(
    api, project, drain, platform, kms_key
):
    with_destination(api, drain, META, ["a"])
    api.put("/profiles/outsider", {"attributes": {"email": "out@example.org"}})
    platform.requests.clear()
    api.delete("/profiles/outsider")
    api.delete("/profiles/nobody")  # unknown: 404, nothing queued
    drain()
    assert platform.requests == []


def test_a_changed_email_swaps_the_old_hash_for_the_new(api, project, drain, platform, kms_key):
    with_destination(api, drain, META, ["a", "b"])
    platform.requests.clear()
    # WHEN b's email changes
    api.put("/profiles/b", {"attributes": {"email": "Robert@Example.org"}})
    drain()
    # THEN the old row is removed first, then the new one added
    old = identifiers.meta_keys(document("b"))
    new = identifiers.meta_keys({"attributes": {"email": "Robert@Example.org"}})
    assert [r.method for r in platform.requests] == ["DELETE", "POST"]
    assert platform.meta_rows("DELETE") == [old] and platform.meta_rows("POST") == [new]


def test_a_changed_phone_through_the_batch_route_is_swapped_on_google(
    api, project, drain, platform, kms_key
):
    with_destination(api, drain, GOOGLE, ["c"])
    platform.requests.clear()
    api.post("/profiles", {"profiles": [{"profile_id": "c", "attributes": {"phone": None}}]})
    drain()
    # THEN c's only identifier is removed and nothing is added (it has none left)
    keys = identifiers.google_keys(document("c"))
    assert google_ops(platform, "remove") == [[{k: v} for k, v in keys.items()]]
    assert google_ops(platform, "create") == []


def test_an_email_changed_through_the_segment_source_is_swapped(
    api, project, drain, platform, kms_key
):
    # GIVEN b, a member sent to Meta
    from test_segment_source import send

    from chalicelib.storage import source_keys

    with_destination(api, drain, META, ["a", "b"])
    platform.requests.clear()
    key, _ = source_keys.create_write_key("acme")
    # WHEN the Segment-compatible source receives an identify with b's new email
    body = {"userId": "b", "messageId": "m1", "traits": {"email": "Robert@Example.org"}}
    assert send(api, "/identify", body, key)[0] == 200
    drain()
    # THEN the old row is removed, the new one added
    new = identifiers.meta_keys({"attributes": {"email": "Robert@Example.org"}})
    assert platform.meta_rows("DELETE") == [identifiers.meta_keys(document("b"))]
    assert platform.meta_rows("POST") == [new]


def test_an_email_changed_by_an_import_is_swapped(api, project, drain, platform, kms_key):
    # GIVEN b, a member sent to Meta
    from chalicelib.behaviour import apply_events
    from chalicelib.profile_documents import merge_attributes
    from chalicelib.storage import bulk_import

    with_destination(api, drain, META, ["a", "b"])
    platform.requests.clear()
    # WHEN an import (the CLI's, writing to the table directly) changes b's email
    items = [("b", {"email": "bob@example.net"}, [])]
    bulk_import.import_profiles("acme", items, merge_attributes, apply_events)
    drain()
    # THEN the old row is removed, the new one added
    new = identifiers.meta_keys({"attributes": {"email": "bob@example.net"}})
    assert platform.meta_rows("DELETE") == [identifiers.meta_keys(document("b"))]
    assert platform.meta_rows("POST") == [new]


def test_a_member_that_gains_an_email_is_added(api, project, drain, platform, kms_key):
    # GIVEN d, whose phone lacks its country code: a member, never sent
    with_destination(api, drain, META, ["d"])
    assert platform.meta_rows("POST") == []
    api.put("/profiles/d", {"attributes": {"email": "dee@example.org"}})
    drain()
    assert platform.meta_rows("POST") == [
        identifiers.meta_keys({"attributes": {"email": "dee@example.org"}})
    ]
    assert platform.meta_rows("DELETE") == []


def test_other_attribute_changes_and_non_members_send_nothing(
    api, project, drain, platform, kms_key
):
    with_destination(api, drain, META, ["a"])
    platform.requests.clear()
    api.put("/profiles/a", {"attributes": {"city": "Utrecht"}})
    api.put("/profiles/outsider", {"attributes": {"email": "out@example.org"}})
    api.put("/profiles/outsider", {"attributes": {"email": "new@example.org"}})
    drain()
    assert platform.requests == []


def test_control_group_members_are_not_swapped_or_removed(
    api, project, drain, platform, kms_key, monkeypatch
):
    sid = with_destination(api, drain, META, ["a"])
    platform.requests.clear()
    # GIVEN a is in the segment's control group (as uplift stores it)
    monkeypatch.setattr(audience_members, "of_profile", lambda p, pid, sids: {sid: True})
    api.put("/profiles/a", {"attributes": {"email": "ann@example.org"}})
    api.delete("/profiles/a")
    drain()
    assert platform.requests == []


def test_a_late_swap_does_not_re_add_someone_who_has_left(api, project, drain, platform, kms_key):
    # GIVEN a swap queued for a profile that is no longer a member
    sid = with_destination(api, drain, META, ["a"])
    destination_id = api.get(f"/segments/{sid}/destinations")[1]["destinations"][0][
        "destination_id"
    ]
    platform.requests.clear()
    new = identity.keys_for(META["type"], {"email": "x@example.org"})
    changes = ({"profile_id": "gone", "change": "entered", "keys": new},)
    work_queue.send([SyncAudience("acme", sid, destination_id, "keys", changes)])
    drain()
    assert platform.requests == []


def test_an_erased_profile_whose_exit_was_not_sent_is_removed_too(
    api, project, drain, platform, kms_key, monkeypatch
):
    # GIVEN a member whose exit could not be sent (the platform failed until it was
    # dead-lettered, or it is still queued)
    sid = with_destination(api, drain, META, ["a", "b"])
    failing = shared.Platform(statuses=[500] * 20)
    monkeypatch.setattr(shared.transport, "send", failing)
    api.put(
        f"/segments/{sid}",
        {**SEGMENT, "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 1000}]},
    )
    drain()
    assert failing.requests  # the exits were tried, and failed
    monkeypatch.setattr(shared.transport, "send", platform)
    platform.requests.clear()
    # WHEN a is erased
    api.delete("/profiles/a")
    drain()
    # THEN its row is removed all the same (b, not erased, waits for its exit's redelivery)
    assert platform.meta_rows("DELETE") == [identifiers.meta_keys(document("a"))]
