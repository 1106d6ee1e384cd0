"""The Segment-compatible source in-process (chalice's test client): Segment's HTTP tracking API
shapes in, our profiles and events out, read back through our own API."""

import base64
import gzip
import json

import pytest

from chalicelib.storage import source_keys

BASE = "/projects/acme/sources/segment/v1"
TS = "2026-11-02T10:00:00.000+00:00"


@pytest.fixture
def write_key(project):
    key, _ = source_keys.create_write_key("acme")
    return key


def basic(key):
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def send(api, path, body, key, raw=None, headers=None):
    h = {"authorization": basic(key), **(headers or {})}
    return api.call("POST", BASE + path, body, key="", raw=raw, headers=h)


def track(message_id, user="u1", event="Product Viewed", **extra):
    return {
        "type": "track",
        "messageId": message_id,
        "userId": user,
        "event": event,
        "timestamp": TS,
        **extra,
    }


def test_a_batch_becomes_attributes_and_events(api, write_key):
    # GIVEN a batch shaped like the official clients': an identify and E-commerce spec events
    batch = [
        {
            "type": "identify",
            "messageId": "m0",
            "userId": "u1",
            "timestamp": TS,
            "traits": {
                "email": "jo@example.com",
                "phone": "+31612345678",
                "plan": "gold",
                "address": {"city": "Utrecht"},
                "first name": "Jo",
            },
        },
        track("m1", properties={"product_id": "p1", "price": 9.5}),
        track("m2", event="Product Added"),
        track("m3", event="Checkout Started"),
        track("m4", event="Order Completed", properties={"revenue": 25.0, "total": 30.0}),
        track("m5", event="Products Searched", properties={"query": "shoes"}),
        track("m6", event="Wishlist Shared"),
        {"type": "page", "messageId": "m7", "userId": "u1", "name": "Home", "timestamp": TS},
    ]
    # WHEN it is posted with the write key as the Basic user name
    status, result = send(api, "/batch", {"batch": batch}, write_key)
    # THEN every message is accepted, and the traits that are not attributes are reported
    assert status == 200, result
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (8, 0, 0)
    assert result["warnings"] == [
        {
            "index": 0,
            "messageId": "m0",
            "dropped": {
                "traits/address": "attribute values are strings, numbers, booleans, lists of "
                "strings or null",
                "traits/first name": "attribute names are 1-64 letters, digits and _, "
                "starting with a letter",
            },
        }
    ]
    # AND the profile read back through our API holds the attributes and the behaviour
    status, profile = api.get("/profiles/u1")
    assert status == 200
    assert profile["attributes"] == {
        "email": "jo@example.com",
        "phone": "+31612345678",
        "plan": "gold",
    }
    b = profile["behaviour"]
    assert (b["product_views"], b["add_to_cart"], b["checkouts"], b["searches"]) == (1, 1, 1, 1)
    assert (b["orders"], b["revenue"], b["page_views"]) == (1, 25.0, 1)


def test_order_completed_uses_total_without_revenue_and_needs_one_of_them(api, write_key):
    batch = [
        track("t1", event="Order Completed", properties={"total": 12.5}),
        track("t2", event="Order Completed", properties={"order_id": "o2"}),
    ]
    status, result = send(api, "/batch", {"batch": batch}, write_key)
    assert status == 200
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["index"] == 1
    assert result["errors"][0]["error"]["path"] == "/batch/1/properties/revenue"
    assert api.get("/profiles/u1")[1]["behaviour"]["revenue"] == 12.5


def test_redelivery_counts_each_message_once(api, write_key):
    # GIVEN a batch delivered once
    batch = [track(f"r{i}", event="Product Viewed") for i in range(5)]
    send(api, "/batch", {"batch": batch}, write_key)
    # WHEN it is delivered again, and one message twice within a batch
    status, result = send(api, "/batch", {"batch": batch + [batch[0]]}, write_key)
    # THEN nothing is counted twice
    assert status == 200
    assert (result["accepted"], result["duplicates"]) == (0, 6)
    assert api.get("/profiles/u1")[1]["behaviour"]["product_views"] == 5


def test_a_message_without_message_id_is_still_idempotent(api, write_key):
    message = track(None)
    del message["messageId"]
    for _ in range(2):
        status, _result = send(api, "/track", message, write_key)
        assert status == 200
    assert api.get("/profiles/u1")[1]["behaviour"]["product_views"] == 1


def test_single_message_routes(api, write_key):
    assert send(api, "/track", track("s1"), write_key)[0] == 200
    body = {"userId": "u1", "messageId": "s2", "name": "Cart", "timestamp": TS}
    assert send(api, "/page", body, write_key)[0] == 200
    body = {"userId": "u1", "messageId": "s3", "traits": {"email": "a@b.nl"}}
    assert send(api, "/identify", body, write_key)[0] == 200
    profile = api.get("/profiles/u1")[1]
    assert profile["attributes"]["email"] == "a@b.nl"
    assert (profile["behaviour"]["product_views"], profile["behaviour"]["page_views"]) == (1, 1)


def test_malformed_messages_are_reported_and_the_good_ones_kept(api, write_key):
    batch = [
        track("g1"),
        {"type": "track", "messageId": "b1", "event": "Product Viewed"},  # no user
        {"type": "group", "messageId": "b2", "userId": "u1", "groupId": "g"},
        "not a message",
        track("b3", timestamp="yesterday"),
        track("b4", user="has space"),
        track("b5", event=""),
        track("g2", event="Product Added"),
    ]
    status, result = send(api, "/batch", {"batch": batch}, write_key)
    assert status == 200
    assert (result["accepted"], result["rejected"]) == (2, 6)
    paths = {e["index"]: e["error"]["path"] for e in result["errors"]}
    assert paths == {
        1: "/batch/1/userId",
        2: "/batch/2/type",
        3: "/batch/3",
        4: "/batch/4/timestamp",
        5: "/batch/5/userId",
        6: "/batch/6/event",
    }
    b = api.get("/profiles/u1")[1]["behaviour"]
    assert (b["product_views"], b["add_to_cart"]) == (1, 1)


def test_a_message_id_that_is_not_text_is_answered_as_null(api, write_key):
    # GIVEN a message with `"messageId": true` and no user (found by the fuzzer: the answer
    # echoed `true` where its schema says text or null)
    message = {"type": "track", "messageId": True, "event": "Product Viewed"}
    status, result = send(api, "/track", message, write_key)
    # THEN it is rejected, and its error names no message id
    assert status == 200 and result["rejected"] == 1
    assert result["errors"][0]["messageId"] is None


def test_wrong_or_missing_write_key_is_401_and_stores_nothing(api, write_key):
    batch = {"batch": [track("w1")]}
    assert send(api, "/batch", batch, "wk_not-a-key")[0] == 401
    assert api.call("POST", BASE + "/batch", batch, key="")[0] == 401  # no credentials at all
    # the project's API key is not a write key
    assert send(api, "/batch", batch, api.project["key"])[0] == 401
    assert api.get("/profiles/u1")[0] == 404


def test_the_write_key_may_come_in_the_body(api, write_key):
    status, _ = api.call("POST", BASE + "/batch", {"batch": [track("k1")], "writeKey": write_key})
    assert status == 200
    assert api.get("/profiles/u1")[0] == 200


def test_a_write_key_of_another_project_is_403(api, write_key, other_project):
    other_key, _ = source_keys.create_write_key("globex")
    assert send(api, "/batch", {"batch": [track("o1")]}, other_key)[0] == 403
    assert api.get("/profiles/u1")[0] == 404


def test_a_rotated_write_key_stops_working(api, write_key):
    (record,) = source_keys.list_write_keys("acme")
    new_key, _ = source_keys.rotate_write_key("acme", record.key_id)
    assert send(api, "/batch", {"batch": [track("x1")]}, write_key)[0] == 401
    assert send(api, "/batch", {"batch": [track("x1")]}, new_key)[0] == 200


def test_payloads_over_segments_limits_are_413_and_store_nothing(api, write_key):
    big = "x" * 3000
    batch = [track(f"big{i}", properties={"note": big}) for i in range(200)]  # ~620 KB
    assert send(api, "/batch", {"batch": batch}, write_key)[0] == 413
    huge = track("huge", properties={"note": "y" * 40_000})
    assert send(api, "/track", huge, write_key)[0] == 413
    # a message over 32 KB inside a batch under 500 KB is refused alone
    status, result = send(api, "/batch", {"batch": [huge, track("ok")]}, write_key)
    assert status == 200 and result["errors"][0]["error"]["code"] == "payload_too_large"
    assert api.get("/profiles/u1")[1]["behaviour"]["product_views"] == 1


def test_a_gzipped_batch_is_read(api, write_key):
    raw = gzip.compress(json.dumps({"batch": [track("z1")]}).encode())
    status, result = send(
        api, "/batch", None, write_key, raw=raw, headers={"content-encoding": "gzip"}
    )
    assert status == 200, result
    assert result["accepted"] == 1


def test_an_anonymous_visitor_is_merged_into_the_user_who_identifies(api, write_key):
    # GIVEN an anonymous visitor's events
    anon = {"anonymousId": "a-1"}
    batch = [
        {**track("a1", **anon), "userId": None},
        {**track("a2", event="Product Added", **anon), "userId": None},
    ]
    send(api, "/batch", {"batch": batch}, write_key)
    assert api.get("/profiles/anon:a-1")[1]["behaviour"]["add_to_cart"] == 1
    # WHEN an identify carries both the anonymousId and the userId
    identify = {
        "type": "identify",
        "messageId": "i1",
        "userId": "u9",
        "anonymousId": "a-1",
        "traits": {"email": "u9@example.com"},
    }
    status, _ = send(api, "/batch", {"batch": [identify]}, write_key)
    assert status == 200
    # THEN the anonymous profile's behaviour is the user's, and the anonymous profile is gone
    assert api.get("/profiles/anon:a-1")[0] == 404
    user = api.get("/profiles/u9")[1]
    assert (user["behaviour"]["product_views"], user["behaviour"]["add_to_cart"]) == (1, 1)
    assert user["attributes"]["email"] == "u9@example.com"
    # AND later messages with only the anonymousId go to the user, redeliveries counted once
    later = [{**track("a3", **anon), "userId": None}, {**track("a1", **anon), "userId": None}]
    status, result = send(api, "/batch", {"batch": later}, write_key)
    assert (result["accepted"], result["duplicates"]) == (1, 1)
    assert api.get("/profiles/u9")[1]["behaviour"]["product_views"] == 2
    assert api.get("/profiles/anon:a-1")[0] == 404


def test_identify_traits_in_the_context_are_read_too(api, write_key):
    # GIVEN an identify as RudderStack's client sends it: traits under context.traits
    body = {
        "userId": "u1",
        "messageId": "c1",
        "context": {"traits": {"email": "ctx@example.com", "plan": "basic"}},
        "traits": {"plan": "gold"},
    }
    # WHEN it is received
    assert send(api, "/identify", body, write_key)[0] == 200
    # THEN both are attributes, the top-level traits winning
    attributes = api.get("/profiles/u1")[1]["attributes"]
    assert attributes == {"email": "ctx@example.com", "plan": "gold"}


def test_a_redelivered_identify_is_a_duplicate_and_too_many_traits_are_refused(api, write_key):
    identify = {"type": "identify", "userId": "u1", "messageId": "d1", "traits": {"a": 1}}
    crowded = {
        "type": "identify",
        "userId": "u2",
        "messageId": "d2",
        "traits": {f"t{n}": n for n in range(70)},  # a profile holds at most 64 attributes
    }
    status, first = send(api, "/batch", {"batch": [identify, crowded]}, write_key)
    assert (first["accepted"], first["rejected"]) == (1, 1)
    assert first["errors"][0]["index"] == 1
    assert first["errors"][0]["error"]["path"].startswith("/batch/1/traits")
    assert api.get("/profiles/u2")[0] == 404
    status, again = send(api, "/batch", {"batch": [identify]}, write_key)
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_erasing_a_user_forgets_the_anonymous_ids_linked_to_it(api, write_key):
    from chalicelib.storage.tables import IdentityLinkModel

    # GIVEN an anonymous id linked to a user
    message = {**track("e1", user="eraseme"), "anonymousId": "anon-e"}
    send(api, "/batch", {"batch": [message]}, write_key)
    assert [link.user_id for link in IdentityLinkModel.scan()] == ["eraseme"]
    # WHEN the user is erased
    assert api.delete("/profiles/eraseme")[0] == 200
    # THEN no link names it any more
    assert list(IdentityLinkModel.scan()) == []


def test_a_negative_revenue_is_refused_naming_the_message_field(api, write_key):
    batch = [track("n1", event="Order Completed", properties={"revenue": -5})]
    status, result = send(api, "/batch", {"batch": batch}, write_key)
    assert status == 200 and result["rejected"] == 1
    assert result["errors"][0]["error"]["path"] == "/batch/0/properties/revenue"
    assert api.get("/profiles/u1")[0] == 404
