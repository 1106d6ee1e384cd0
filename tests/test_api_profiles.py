"""Profiles over HTTP: upsert, batch, read, page, erase."""

import json

import pytest
from conftest import set_predictive


def test_put_creates_then_merges_and_null_removes(api):
    status, created = api.put("/profiles/u1", {"attributes": {"country": "NL", "age": 31}})
    assert status == 201 and created["attributes"] == {"country": "NL", "age": 31}
    status, updated = api.put("/profiles/u1", {"attributes": {"age": None, "tags": ["vip"]}})
    assert status == 200
    assert updated["attributes"] == {"country": "NL", "tags": ["vip"]}
    assert api.get("/profiles/u1")[1]["attributes"] == {"country": "NL", "tags": ["vip"]}
    assert set(updated) == {
        "profile_id",
        "attributes",
        "behaviour",
        "predictive",
        "created_at",
        "updated_at",
    }


def test_clients_cannot_set_predictive_fields(api):
    status, body = api.put("/profiles/u1", {"attributes": {}, "predictive": {"clv": 10**6}})
    assert status == 400 and body["error"]["path"] == "/predictive"
    assert api.get("/profiles/u1")[0] == 404


def test_an_update_keeps_predictive_fields_written_by_scoring(api, project):
    api.put("/profiles/u1", {"attributes": {"a": 1}})
    set_predictive(project["id"], "u1", {"clv": 12.5})
    api.put("/profiles/u1", {"attributes": {"a": 2}})
    assert api.get("/profiles/u1")[1]["predictive"] == {"clv": 12.5}


def test_bad_attributes_get_a_400_naming_the_field_and_nothing_is_stored(api):
    api.put("/profiles/u1", {"attributes": {"keep": "me"}})
    for attributes, path in [
        ({"nested": {"a": 1}}, "/attributes/nested"),
        ({"big": 1e300}, "/attributes/big"),
        ({"ok": 1, "bad name": 1}, "/attributes/bad name"),
        ({"list": [1, 2]}, "/attributes/list/0"),
        ({"ctl": "a\x00b"}, "/attributes/ctl"),
        ({"long": "x" * 1001}, "/attributes/long"),
    ]:
        status, body = api.put("/profiles/u1", {"attributes": attributes})
        assert status == 400, attributes
        assert body["error"]["path"] == path
    assert api.get("/profiles/u1")[1]["attributes"] == {"keep": "me"}


def test_batch_upsert_reports_each_item(api):
    status, body = api.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": "a", "attributes": {"x": 1}},
                {"profile_id": "b c", "attributes": {}},
                {"profile_id": "d", "attributes": {"x": {"no": 1}}},
                {"profile_id": "a", "attributes": {"y": 2}},
            ]
        },
    )
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "updated"]
    assert body["results"][1]["error"]["path"] == "/profiles/1/profile_id"
    assert body["results"][2]["error"]["path"] == "/profiles/2/attributes/x"
    assert api.get("/profiles/a")[1]["attributes"] == {"x": 1, "y": 2}


def test_batch_limit(api):
    status, body = api.post(
        "/profiles", {"profiles": [{"profile_id": f"p{i}", "attributes": {}} for i in range(501)]}
    )
    assert status == 400 and body["error"]["path"] == "/profiles"


def test_paging_returns_every_profile_exactly_once(api):
    ids = {f"p{i:03d}" for i in range(37)}
    api.post("/profiles", {"profiles": [{"profile_id": i, "attributes": {}} for i in ids]})
    seen, cursor, pages = [], None, 0
    while True:
        status, page = api.get("/profiles?limit=10" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(page["profiles"]) <= 10
        seen += [p["profile_id"] for p in page["profiles"]]
        pages += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and pages == 4


def test_a_tampered_cursor_is_refused(api):
    api.post(
        "/profiles", {"profiles": [{"profile_id": f"p{i}", "attributes": {}} for i in range(3)]}
    )
    cursor = api.get("/profiles?limit=1")[1]["next_cursor"]
    body, mac = cursor.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    for bad in [forged, "garbage", cursor + "x"]:
        status, response = api.get(f"/profiles?limit=1&cursor={bad}")
        assert status == 400 and response["error"]["path"] == "/cursor"


def test_delete_erases_the_profile_and_its_events(api):
    event = {
        "event_id": "e1",
        "profile_id": "u1",
        "type": "purchase",
        "timestamp": "2026-01-05T10:00:00Z",
        "value": 10,
    }
    api.post("/events", {"events": [event]})
    assert api.delete("/profiles/u1")[0] == 200
    assert api.get("/profiles/u1")[0] == 404
    assert api.delete("/profiles/u1")[0] == 404
    # the event is gone too: sending it again counts it as new, on a new profile
    assert api.post("/events", {"events": [event]})[1]["accepted"] == 1
    assert api.get("/profiles/u1")[1]["behaviour"]["orders"] == 1


def test_limits_on_query_parameters(api):
    for query in ["limit=0", "limit=501", "limit=abc", "limit=-1"]:
        status, body = api.get(f"/profiles?{query}")
        assert status == 400 and body["error"]["path"] == "/limit"


def test_profile_ids_are_validated(api):
    status, body = api.put("/profiles/" + "x" * 129, {"attributes": {}})
    assert status == 400 and body["error"]["path"] == "/profile_id"


def test_profile_document_is_json(api):
    api.put("/profiles/u1", {"attributes": {"n": 1.5, "b": True, "l": ["a"]}})
    status, body = api.get("/profiles/u1")
    assert json.loads(json.dumps(body))["attributes"] == {"n": 1.5, "b": True, "l": ["a"]}


@pytest.mark.parametrize("name", ["N", "S", "M", "L", "BOOL", "NULL", "SS"])
def test_attributes_named_like_a_dynamodb_type_are_updated_and_read_back(api, name):
    """Found by the fuzzer: PynamoDB took {"N": 5} for a value already serialised as a number,
    so updating a profile whose attributes were one such name stored them as that type, and
    every later read of the profile was a 500. GIVEN a profile whose one attribute has such a
    name WHEN it is updated, singly and in a batch THEN it reads back as sent."""
    assert api.put("/profiles/p1", {"attributes": {name: 1}})[0] == 201
    assert api.put("/profiles/p1", {"attributes": {name: -837918418151080.1}})[0] == 200
    assert api.get("/profiles/p1")[1]["attributes"] == {name: -837918418151080.1}
    status, body = api.post(
        "/profiles", {"profiles": [{"profile_id": "p1", "attributes": {name: "x"}}]}
    )
    assert status == 200 and body["succeeded"] == 1
    assert api.get("/profiles/p1")[1]["attributes"] == {name: "x"}
    assert api.post("/profiles", {"profiles": [{"profile_id": "p1", "attributes": {}}]})[0] == 200
