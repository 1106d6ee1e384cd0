"""Authentication, tenant isolation and hostile input on every route of the app's route table."""

import json

import pytest

from app import app
from chalicelib.storage import project_table

# Public routes hold no project data (the API description); every other route is a project's.
PUBLIC = {("/openapi.json", "GET"), ("/", "GET"), ("/ui/{asset}", "GET")}
ALL_ROUTES = sorted((path, method) for path, methods in app.routes.items() for method in methods)
ROUTES = [route for route in ALL_ROUTES if route not in PUBLIC]
# The sources authenticate as their senders do (a write key, a Shopify signature), not with
# x-api-key: test_segment_source.py and test_shopify_orders.py check them with those.
KEYED_ROUTES = [route for route in ROUTES if "/sources/" not in route[0]]
SAMPLE_BODY = {"attributes": {}}


def fill(path, project_id):
    return (
        path.replace("{project_id}", project_id)
        .replace("{profile_id}", "u1")
        .replace("{segment_id}", "seg_0000000000000000")
        .replace("{job_id}", "j1")
    )


def test_every_route_but_the_public_ones_lives_under_a_project():
    assert ROUTES and all(path.startswith("/projects/{project_id}/") for path, _ in ROUTES)
    assert all(not path.startswith("/projects/") for path, _ in PUBLIC)


@pytest.mark.parametrize("path, method", ROUTES)
def test_no_key_or_an_unknown_key_gets_401(api, path, method):
    for key in ["", "sk_not_a_real_key", "x" * 500]:
        status, body = api.call(method, fill(path, "acme"), SAMPLE_BODY, key=key)
        assert status == 401, (path, method, key)
        assert body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path, method", KEYED_ROUTES)
def test_a_key_of_another_project_gets_403(api, other_project, path, method):
    status, body = api.call(method, fill(path, "acme"), SAMPLE_BODY, key=other_project["key"])
    assert status == 403, (path, method)
    status, body = api.call(
        method, fill(path, "no-such-project"), SAMPLE_BODY, key=other_project["key"]
    )
    assert status == 403


def test_another_tenants_data_is_not_visible(api, other_project, client):
    from conftest import Api

    other = Api(client, other_project)
    api.put("/profiles/shared-id", {"attributes": {"owner": "acme"}})
    other.put("/profiles/shared-id", {"attributes": {"owner": "globex"}})
    assert api.get("/profiles/shared-id")[1]["attributes"] == {"owner": "acme"}
    assert [p["attributes"] for p in other.get("/profiles")[1]["profiles"]] == [{"owner": "globex"}]
    cursor_holder = [api.put(f"/profiles/p{i}", {"attributes": {}}) for i in range(3)]
    assert cursor_holder
    cursor = api.get("/profiles?limit=1")[1]["next_cursor"]
    status, body = other.get(f"/profiles?limit=1&cursor={cursor}")
    assert status == 400 and body["error"]["code"] == "invalid_cursor"


def test_a_revoked_key_stops_working_at_once(api, project):
    assert api.get("/segments")[0] == 200
    key_id = project_table.list_keys(project["id"])[0].key_id
    project_table.revoke_key(key_id)
    assert api.get("/segments")[0] == 401


def test_keys_are_stored_hashed(project):
    from chalicelib.storage.tables import ApiKeyModel

    stored = [item.attribute_values for item in ApiKeyModel.scan()]  # the table, as stored
    assert stored and project["key"] not in json.dumps(stored)
    assert project_table.list_keys(project["id"])[0].key_hash == project_table.hash_key(
        project["key"]
    )


HOSTILE_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"123",
    b'{"attributes": NaN}',
    b'{"attributes": {"a": Infinity}}',
    b'{"attributes": {"a": 1e400}}',
    b'{"attributes": {"a": -1e400}}',
    b"\xff\xfe",
    b'{"attributes": {"a": "\\ud800"}}',
    b'{"attributes": {"__proto__": 1}}',
    b'{"attributes": {"a\'; DROP TABLE x;--": 1}}',
    b'{"attributes": {"a": {"$gt": ""}}}',
    b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    b'{"name": "x", "rules": ' + b'{"rules": [' * 200 + b"]}" * 200 + b"}",
    b'{"profiles": [{"profile_id": 1, "attributes": []}]}',
    b'{"events": [{"event_id": "e", "profile_id": "p", "type": "purchase", '
    b'"timestamp": "2026-01-01T00:00:00Z", "value": 1e300}]}',
    b'{"events": [{"event_id": "e", "profile_id": "p", "type": "page_view", '
    b'"timestamp": "0000-01-01T00:00:00Z"}]}',
]


@pytest.mark.parametrize("path, method", [r for r in ROUTES if r[1] in ("PUT", "POST")])
def test_hostile_bodies_get_a_4xx_never_a_500(api, path, method):
    for raw in HOSTILE_BODIES:
        status, body = api.call(method, fill(path, "acme"), raw=raw)
        if status == 200:  # batch routes report bad items one by one and store none of them
            per_item = body.get("errors") or body.get("results")
            assert body.get("accepted", body.get("succeeded")) == 0 and per_item, raw[:60]
            continue
        assert 400 <= status < 500, (path, method, raw[:60], status, body)
        assert "error" in body


def test_bodies_over_one_megabyte_get_413(api):
    big = json.dumps({"attributes": {"a": "x" * 1_000_001}})
    status, body = api.call("PUT", api.p("/profiles/u1"), raw=big)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_nothing_is_half_written_by_a_rejected_request(api):
    api.put("/profiles/u1", {"attributes": {"a": 1}})
    before = api.get("/profiles/u1")[1]
    for raw in HOSTILE_BODIES:
        api.call("PUT", api.p("/profiles/u1"), raw=raw)
    assert api.get("/profiles/u1")[1] == before
