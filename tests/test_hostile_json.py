"""Numbers that overflow to infinity, at any depth of any JSON body, and nesting beyond the
limit: a 400 naming the JSON pointer, and nothing stored."""

import pytest

from app import app
from chalicelib.infra.errors import ValidationError
from chalicelib.validation import MAX_DEPTH, parse_json_body

BODY_ROUTES = sorted(
    (path, method)
    for path, methods in app.routes.items()
    for method in methods
    if method in ("PUT", "POST")
)
SEGMENT = {
    "name": "big spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}


@pytest.mark.parametrize(
    "raw, pointer",
    [
        (b'{"x": {"y": 1e400}}', "/x/y"),
        (b'{"x": [1, {"y": -1e400}]}', "/x/1/y"),
        (b'{"a/b": {"c~d": 1e999}}', "/a~1b/c~0d"),
        (b'{"x": ' + b"1" * 320 + b"}", "/x"),  # an integer no float can hold
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "/0" * MAX_DEPTH),
    ],
)
def test_the_parser_names_the_pointer_of_the_bad_number_or_level(raw, pointer):
    with pytest.raises(ValidationError) as error:
        parse_json_body(raw)
    assert error.value.path == pointer


def test_finite_numbers_and_allowed_nesting_parse():
    nested = b"[" * MAX_DEPTH + b"1.5e308" + b"]" * MAX_DEPTH
    assert parse_json_body(nested) is not None
    assert parse_json_body(b'{"n": ' + b"9" * 300 + b"}")["n"] == int("9" * 300)


def test_a_nested_infinite_event_property_is_refused_not_stored(api):
    """GIVEN an event whose property nests 1e400 WHEN it is posted THEN 400 at its pointer, and
    the profile has no event (it was stored with Infinity)."""
    raw = (
        '{"events": [{"event_id": "e1", "profile_id": "p1", "type": "page_view", '
        '"timestamp": "2026-11-01T10:00:00Z", "properties": {"x": {"y": 1e400}}}]}'
    )
    status, body = api.post("/events", raw=raw)
    assert status == 400, body
    assert body["error"]["path"] == "/events/0/properties/x/y"
    assert api.get("/profiles/p1")[0] == 404


@pytest.mark.parametrize("path, method", BODY_ROUTES)
def test_every_json_route_refuses_a_nested_infinity_naming_it(api, path, method):
    """GIVEN any route that takes a JSON body WHEN the body nests 1e400 THEN 400 at its path."""
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    url = (
        path.replace("{project_id}", "acme")
        .replace("{profile_id}", "u1")
        .replace("{segment_id}", sid)
    )
    status, body = api.call(method, url, raw='{"deep": {"er": [0, -1e400]}}')
    assert (status, body["error"]["path"]) == (400, "/deep/er/1"), body
