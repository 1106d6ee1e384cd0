"""Hostile segment bodies get a 400 naming the place, on preview, create and replace, and a refused
replace leaves the stored segment as it was."""

import json

import pytest

from chalicelib.rules.tree import MAX_DEFINITION_BYTES, MAX_NODES

ORDERS = '{"field": "behaviour.orders", "operator": "%s", "value": %s}'
BIG = "1" + "0" * 309  # an integer JSON allows and no float holds
VALID = {"name": "buyers", "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 1}]}


def send(api, how, raw):
    """The raw JSON body sent as a preview, a new segment or a replacement of a stored one."""
    if how == "preview":
        return api.post("/segments/preview", raw=raw)
    if how == "create":
        return api.post("/segments", raw=raw)
    status, stored = api.post("/segments", VALID)
    assert status == 201
    path = f"/segments/{stored['segment_id']}"
    result = api.put(path, raw=raw)
    assert api.get(path)[1]["rules"] == VALID["rules"]  # nothing stored is lost
    return result


def segment(rules: str, name: str = '"s"', extra: str = "") -> str:
    return '{"name": %s, %s"match": "all", "rules": [%s]}' % (name, extra, rules)


HOW = ["preview", "create", "replace"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "operator, value, path",
    [
        ("gte", BIG, "/rules/0/value"),
        ("eq", "-" + BIG, "/rules/0/value"),
        ("between", f"[1, {BIG}]", "/rules/0/value/1"),
        ("in", f"[1, 2, {BIG}]", "/rules/0/value/2"),
    ],
)
def test_an_integer_too_large_for_a_float_is_refused(api, how, operator, value, path):
    # GIVEN a rule value of 1 followed by 309 zeros (today: OverflowError, a 500)
    # WHEN it is previewed, saved or saved over a segment
    status, body = send(api, how, segment(ORDERS % (operator, value)))
    # THEN a 400 names the value (the JSON body parser refuses it before the rule parser does:
    # tests/test_segments_rules.py checks the rule parser's own refusal)
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["path"]) == ("invalid_number", path)


def _empty_groups(n: int) -> str:
    return ",".join(['{"rules":[]}'] * n)


@pytest.mark.parametrize("how", HOW)
def test_the_whole_tree_is_bounded(api, how):
    # GIVEN the segment and MAX_NODES - 1 empty groups: at the limit
    status, _ = send(api, "preview", segment(_empty_groups(MAX_NODES - 1)))
    assert status == 200
    # WHEN 76,000 empty groups come (988 KB; today 40 s of work)
    status, body = send(api, how, segment(_empty_groups(76_000)))
    # THEN a 400 names the first node past the limit
    assert status == 400, body
    assert body["error"]["code"] == "too_many_nodes"
    assert body["error"]["path"] == f"/rules/{MAX_NODES - 1}"


def test_nested_nodes_are_counted_too(api):
    # GIVEN the segment, a group holding 49 groups of one condition (100 nodes so far), and
    # a 50th group holding 150 empty groups
    inner = '{"match": "all", "rules": [%s]}' % (ORDERS % ("gte", 1))
    last = '{"match": "any", "rules": [%s]}' % _empty_groups(150)
    tree = '{"match": "all", "rules": [%s]}' % ", ".join([inner] * 49 + [last])
    # WHEN it is saved
    status, body = send(api, "create", segment(tree))
    # THEN the 201st node is named
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["path"]) == (
        "too_many_nodes",
        "/rules/0/rules/49/rules/99",
    )


@pytest.mark.parametrize("how", HOW)
def test_a_segment_too_large_to_store_is_refused(api, how):
    # GIVEN `in` with 500 values of 1,000 characters (500 KB: above DynamoDB's 400 KB item)
    api.put("/profiles/p1", {"attributes": {"city": "Utrecht"}})
    values = json.dumps([f"{i:04d}" + "x" * 996 for i in range(500)])
    rule = '{"field": "attributes.city", "operator": "in", "value": %s}' % values
    # WHEN it is previewed or saved
    status, body = send(api, how, segment(rule))
    # THEN a 400 says it is too large (today: a 500 from DynamoDB)
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["path"]) == ("definition_too_large", "/rules")
    assert str(MAX_DEFINITION_BYTES) in body["error"]["message"]


def test_a_segment_just_within_the_size_limit_is_saved(api):
    api.put("/profiles/p1", {"attributes": {"city": "Utrecht"}})
    values = [f"{i:04d}" + "x" * 96 for i in range(500)]  # about 51 KB
    status, body = api.post(
        "/segments",
        {"name": "s", "rules": [{"field": "attributes.city", "operator": "in", "value": values}]},
    )
    assert status == 201, body
    assert api.get(f"/segments/{body['segment_id']}")[1]["rules"][0]["value"] == values


@pytest.mark.parametrize("how", ["create", "replace"])
@pytest.mark.parametrize(
    "name, description, path",
    [
        ('"a\\u0000b"', None, "/name"),
        ('"tab\\there"', None, "/name"),
        ('"line\\nbreak"', None, "/name"),
        ('"del\\u007f"', None, "/name"),
        ('"c1\\u0085"', None, "/name"),
        ('"ok"', '"a\\u0000b"', "/description"),
        ('"ok"', '"bell\\u0007"', "/description"),
    ],
)
def test_control_characters_in_name_or_description_are_refused(api, how, name, description, path):
    # GIVEN a NUL or another control character in the name or the description
    extra = f'"description": {description}, ' if description else ""
    status, body = send(api, how, segment(ORDERS % ("gte", 1), name=name, extra=extra))
    # THEN a 400 names the field
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["path"]) == ("invalid_value", path)


def test_a_description_keeps_its_newlines_and_tabs(api):
    body = {**VALID, "description": "first line\n\tsecond line\r\nthird"}
    status, saved = api.post("/segments", body)
    assert status == 201, saved
    assert saved["description"] == body["description"]
