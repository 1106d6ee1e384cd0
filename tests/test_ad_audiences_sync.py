"""Ad audiences synced through the API and the work queue: members' entries and exits are sent
(never a control group's, never a token), a failing platform is retried then dead-lettered, a new
destination is backfilled, members are refreshed before their lifetime on the platform ends; the
sync work message reads back as sent, and a sweep leaves control-group members out. No network:
a recorder stands in for `transport.send` (tests/ad_audience_support.py)."""

import json

import ad_audience_support as support
import pytest
from ad_audience_support import GOOGLE, META, SEGMENT, Platform, add_people, document
from conftest import dead_lettered

from chalicelib.services import destinations, scoring_jobs
from chalicelib.services.ad_audiences import identifiers, transport, worker
from chalicelib.storage import segment_table, work_messages, work_queue
from chalicelib.storage.work_messages import SyncAudience

# the ad-audience fixtures, shared: the platform recorder, a KMS key that seals credentials
platform, kms_key = support.platform, support.kms_key

# --- Through the API and the work queue ------------------------------------------------------


def test_a_meta_audience_gets_entries_and_exits_and_never_shows_its_token(
    api, project, drain, platform, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, created = api.post(f"/segments/{sid}/destinations", META)
    # THEN the response shows the settings and that a token is set, never the token
    assert status == 201, created
    assert created["credentials"]["set"] == ["access_token"]
    assert created["credentials"]["fingerprint"].startswith("sha256:")
    assert META["credentials"]["access_token"] not in json.dumps(created)
    listed = api.get(f"/segments/{sid}/destinations")[1]["destinations"]
    assert listed == [created]
    stored = segment_table.get("acme", sid).destinations
    assert META["credentials"]["access_token"] not in json.dumps(stored)  # sealed with KMS
    for path in (f"/segments/{sid}", "/segments"):  # nor shown with the segment
        assert META["credentials"]["access_token"] not in json.dumps(api.get(path)[1])
    drain()  # the backfill of an empty segment sends nothing
    assert platform.requests == []
    # WHEN members enter (a, b, c matchable; d has no usable identifier)
    add_people(api, ["a", "b", "c", "d"])
    drain()
    added = platform.meta_rows("POST")
    assert sorted(added) == sorted(identifiers.meta_keys(document(p)) for p in "abc")
    assert platform.requests[0].headers["Authorization"].endswith("meta-token-0123456789")
    # WHEN the rule changes so that only b stays... b has revenue 60 as the others: raise it
    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": "b-2",
                    "profile_id": "b",
                    "type": "purchase",
                    "timestamp": "2026-11-02T10:00:00Z",
                    "value": 50,
                }
            ]
        },
    )
    scoring_jobs.score_profiles("acme", ["b"])
    drain()
    api.put(
        f"/segments/{sid}",
        {**SEGMENT, "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 100}]},
    )
    drain()
    # THEN a and c are removed with DELETE
    assert sorted(platform.meta_rows("DELETE")) == sorted(
        identifiers.meta_keys(document(p)) for p in "ac"
    )


def test_control_group_changes_are_never_sent(api, project, drain, platform, kms_key):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    add_people(api, ["a"])
    drain()
    platform.requests.clear()
    # GIVEN a hand-built change of a control-group member (as memberships hand them over)
    segment = segment_table.get("acme", sid)
    queued = destinations.notify(
        "acme", segment, [{"profile_id": "a", "change": "exited", "at": "x", "control": True}]
    )
    drain()
    # THEN nothing is queued or sent
    assert queued == 0 and platform.requests == []
    # and a sweep leaves control-group members out too
    assert (
        worker.queue_changes(
            "acme", sid, "dst_x", [{"profile_id": "a", "change": "entered", "control": True}]
        )
        == []
    )


def test_a_failing_platform_is_retried_then_dead_lettered(
    api, project, drain, monkeypatch, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    drain()
    failing = Platform(statuses=[500] * 20)
    monkeypatch.setattr(transport, "send", failing)
    add_people(api, ["a"])
    drain()
    assert len(failing.requests) == work_queue.MAX_RECEIVES
    bodies = dead_lettered()
    assert [(b["kind"], b["mode"]) for b in bodies] == [("sync_audience", "changes")]


def test_a_new_destination_is_backfilled_with_current_members(
    api, project, drain, platform, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    add_people(api, ["a", "b"])
    drain()
    api.post(f"/segments/{sid}/destinations", GOOGLE)
    drain()
    job = platform.requests[1].json["job"]["customerMatchUserListMetadata"]
    assert job["consent"] == {"adUserData": "GRANTED", "adPersonalization": "DENIED"}
    added = [
        op["create"]
        for r in platform.requests
        if r.url.endswith(":addOperations")
        for op in r.json["operations"]
    ]
    assert len(added) == 2


def test_members_are_refreshed_before_their_lifetime_ends(api, project, drain, platform, kms_key):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    add_people(api, ["a", "b"])
    drain()
    # GIVEN a destination (and its members' sends) 340 days old: Meta's assumed 365-day lifetime
    # less the 30-day margin is 335 days
    segment = segment_table.get("acme", sid)
    [destination] = segment.destinations
    old = {**destination, "created_at": "2025-12-29T00:00:00Z"}
    segment = segment_table.set_destinations(segment, [old])
    backdate_memberships(sid, "2025-12-29T00:00:00.000000Z")
    platform.requests.clear()
    # WHEN the daily sweep runs twice
    assert worker.queue_refreshes() == 1
    drain()
    first = sorted(platform.meta_rows("POST"))
    platform.requests.clear()
    worker.queue_refreshes()
    drain()
    # THEN the members are sent again once, not on the second sweep
    assert first == sorted(identifiers.meta_keys(document(p)) for p in "ab")
    assert platform.requests == []


def backdate_memberships(segment_id, at):
    from chalicelib.storage import table_keys
    from chalicelib.storage.tables import MembershipModel

    for item in MembershipModel.query(table_keys.segment_ref("acme", segment_id)):
        item.update(actions=[MembershipModel.entered_at.set(at)])


def test_refresh_is_due_once_per_period():
    from datetime import datetime, timezone

    from chalicelib.services.ad_audiences import due

    d = {
        "created_at": "2026-01-01T00:00:00Z",
        "settings": {"membership_lifetime_days": 540},  # Google: refresh every 510 days
    }

    def at(day):
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + __import__("datetime").timedelta(day)

    entered = "2026-01-11T00:00:00.000000Z"
    assert not due(d, entered, at(519))
    assert due(d, entered, at(520))
    assert not due({**d, "refreshed_at": at(520).isoformat()}, entered, at(521))
    # a member who entered before the destination existed was first sent at its creation
    assert due(d, "2020-01-01T00:00:00.000000Z", at(510))


# --- The work message --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        SyncAudience(
            "acme", "seg_1", "dst_1", "changes", ({"profile_id": "p", "change": "exited"},)
        ),
        SyncAudience("acme", "seg_1", "dst_1", "backfill"),
        SyncAudience("acme", "seg_1", "dst_1", "refresh"),
    ],
    ids=lambda m: m.mode,
)
def test_a_sync_message_reads_back_as_what_was_sent(message):
    body = json.dumps(message.to_message())
    assert work_messages.parse(body) == message and json.loads(body)["kind"] == "sync_audience"


@pytest.mark.parametrize(
    "changes, mode", [("not a list", "changes"), ([], "everything"), ([], None)]
)
def test_a_malformed_sync_message_is_refused(changes, mode):
    body = {"kind": "sync_audience", "project_id": "a", "segment_id": "s", "destination_id": "d"}
    with pytest.raises(work_messages.MalformedMessage):
        work_messages.parse(json.dumps({**body, "mode": mode, "changes": changes}))


def test_a_sync_of_a_deleted_destination_is_skipped(api, project, drain, platform, kms_key):
    # GIVEN queued changes for a destination, which is then removed
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    created = api.post(f"/segments/{sid}/destinations", META)[1]
    drain()
    add_people(api, ["a"])
    api.delete(f"/segments/{sid}/destinations/{created['destination_id']}")
    # WHEN the queue is worked off THEN nothing is sent
    drain()
    assert platform.requests == []


def test_sweeps_leave_control_group_members_out(monkeypatch):
    """GIVEN stored members, one of them in the control group WHEN a backfill sweeps them THEN
    only the other is queued for upload."""
    from types import SimpleNamespace

    from chalicelib.storage import audience_members

    members = [
        {"profile_id": "a", "entered_at": "2026-01-01T00:00:00.000000Z", "control": False},
        {"profile_id": "z", "entered_at": "2026-01-01T00:00:00.000000Z", "control": True},
    ]
    monkeypatch.setattr(audience_members, "walk", lambda project_id, segment_id: iter(members))
    sent = []
    monkeypatch.setattr(work_queue, "send", sent.extend)
    segment = SimpleNamespace(segment_id="seg_1")
    destination = {"destination_id": "dst_1", "created_at": "2026-01-01T00:00:00Z"}
    assert worker.sweep("acme", segment, destination, everyone=True)["queued"] == 1
    assert [c["profile_id"] for m in sent for c in m.changes] == ["a"]
