"""The OpenAPI document (chalicelib/api/openapi.json): it names exactly the app's routes, it is a
valid OpenAPI document, and GET /openapi.json serves it without a key."""

import inspect
import json
import re

import pytest
from chalice.test import Client

from app import app
from chalicelib.api import docs_routes

SPEC = json.loads(docs_routes.SPEC_PATH.read_text(encoding="utf-8"))
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# outside /projects/: this document and the segment builder's static page, no key, no data
PUBLIC = {("GET", "/openapi.json"), ("GET", "/"), ("GET", "/ui/{asset}")}
UPSERTS = {("PUT", "/projects/{project_id}/profiles/{profile_id}")}  # an unknown id is created


def spec_operations():
    return {
        (method.upper(), path): op
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def app_routes():
    return {
        (method, path): entry
        for path, by_method in app.routes.items()
        for method, entry in by_method.items()
    }


def test_the_spec_names_exactly_the_routes_of_the_app():
    in_spec, in_app = set(spec_operations()), set(app_routes())
    assert in_spec - in_app == set(), "in the spec but not routed"
    assert in_app - in_spec == set(), "routed but not in the spec"


def test_path_parameters_match_the_views():
    for (method, path), op in spec_operations().items():
        declared = {p["name"] for p in _parameters(path, op) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        assert declared == set(app_routes()[method, path].view_args), (method, path)


def test_the_spec_is_valid_openapi():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(SPEC)


def test_every_ref_resolves_and_every_operation_is_documented():
    assert SPEC["openapi"].startswith("3.")
    for pointer in re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(SPEC)):
        node = SPEC
        for part in pointer.split("/"):
            assert part in node, pointer
            node = node[part]
    ids = [op["operationId"] for op in spec_operations().values()]
    assert len(ids) == len(set(ids))
    for (method, path), op in spec_operations().items():
        codes = set(op["responses"])
        assert codes & {"200", "201"}, (method, path)
        assert ((method, path) in PUBLIC) == (not path.startswith("/projects/{project_id}/"))
        if (method, path) in PUBLIC:
            assert op["security"] == []
            continue
        # every project route: a bad input, no key, another project's key
        assert {"400", "401", "403"} <= codes, (method, path)
        if "{" in path.removeprefix("/projects/{project_id}") and (method, path) not in UPSERTS:
            assert "404" in codes, (method, path)
        if "requestBody" in op:
            assert "413" in codes, (method, path)
            assert op["requestBody"]["required"] is True


def test_error_responses_have_the_error_shape():
    error = SPEC["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message"} and "path" in error["properties"]
    for name, response in SPEC["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }, name


def test_api_key_security_scheme_applies_to_every_project_route():
    scheme = SPEC["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    assert SPEC["security"] == [{"apiKey": []}]


def test_limits_in_the_spec_match_the_routes():
    """The limits the spec states are those the code enforces."""
    from chalicelib.rules import tree
    from chalicelib.services import events, profiles
    from chalicelib.validation import ID_RE, MAX_ATTRIBUTES, PROJECT_RE

    schemas = SPEC["components"]["schemas"]
    assert schemas["Id"]["pattern"] == "^" + ID_RE.pattern.removesuffix(r"\Z") + "$"
    project = SPEC["components"]["parameters"]["ProjectId"]["schema"]["pattern"]
    assert project == "^" + PROJECT_RE.pattern.removesuffix(r"\Z") + "$"
    assert schemas["ProfileBatch"]["properties"]["profiles"]["maxItems"] == profiles.MAX_BATCH
    assert schemas["EventBatch"]["properties"]["events"]["maxItems"] == events.MAX_BATCH
    assert schemas["AttributesUpdate"]["maxProperties"] == MAX_ATTRIBUTES
    assert schemas["SegmentDefinition"]["properties"]["name"]["maxLength"] == tree.MAX_NAME
    assert f"Group{tree.MAX_DEPTH}" in schemas and f"Group{tree.MAX_DEPTH + 1}" not in schemas
    # each paged route's check_limit(..., default=D, maximum=M), read from the view's source
    for (method, path), op in spec_operations().items():
        query = {p["name"]: p["schema"] for p in _parameters(path, op) if p["in"] == "query"}
        source = inspect.getsource(app_routes()[method, path].view_function)
        found = re.search(r"check_limit\(.*default=(\d+), maximum=(\d+)\)", source)
        assert ("limit" in query) == bool(found), (method, path)
        if found:
            limit = query["limit"]
            assert (limit["default"], limit["maximum"], limit["minimum"]) == (
                int(found[1]),
                int(found[2]),
                1,
            ), (method, path)
        assert ("cursor" in query) == ('"cursor"' in source), (method, path)


def test_get_openapi_json_serves_the_spec_without_a_key():
    with Client(app) as client:
        response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == SPEC


def _parameters(path, op):
    out = []
    for p in SPEC["paths"][path].get("parameters", []) + op.get("parameters", []):
        if "$ref" in p:
            p = SPEC["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        out.append(p)
    return out


def _enums(node, where="#"):
    """Every enum in the document, with where it is."""
    if isinstance(node, dict):
        if "enum" in node:
            yield where, node["enum"]
        for key, child in node.items():
            yield from _enums(child, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _enums(child, f"{where}/{i}")


def test_operator_enums_and_rule_limits_come_from_the_registry():
    """Every enum that names operators is the registry's list, in its order; the field types,
    matches, value shapes and rule limits the spec states are the code's."""
    from chalicelib.rules import tree
    from chalicelib.rules.operators import OPERATORS, VALUE_CHECKS
    from chalicelib.rules.stored import FIELD_TYPES

    schemas = SPEC["components"]["schemas"]
    naming_operators = [where for where, enum in _enums(SPEC) if set(enum) & set(OPERATORS)]
    assert naming_operators == ["#/components/schemas/OperatorName"]
    assert schemas["OperatorName"]["enum"] == list(OPERATORS)
    assert schemas["FieldType"]["enum"] == list(FIELD_TYPES)
    assert schemas["Match"]["enum"] == list(tree.MATCHES)
    assert schemas["Operator"]["properties"]["value"]["enum"] == list(VALUE_CHECKS)
    limits = schemas["RuleLimits"]
    assert limits["required"] == list(tree.LIMITS)
    assert {k: p["const"] for k, p in limits["properties"].items()} == tree.LIMITS
    definition = schemas["SegmentDefinition"]
    assert definition["properties"]["description"]["maxLength"] == tree.MAX_DESCRIPTION
    for number in (tree.MAX_CONDITIONS, tree.MAX_NODES, tree.MAX_DEPTH, tree.MAX_DEFINITION_BYTES):
        assert f" {number} " in definition["description"], number
    value = schemas["ConditionValue"]["anyOf"]
    assert {"type": "string", "maxLength": tree.MAX_TEXT} in value
    many = next(v for v in value if v.get("type") == "array")
    assert many["maxItems"] == tree.MAX_IN_VALUES


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        " x ",
        "  ",
        "a\x00b",
        "tab\there",
        "line\nbreak",
        "del\x7f",
        "c1\x85",
        "two\r\nlines",
        "bell\x07",
    ],
)
def test_name_and_description_patterns_agree_with_the_parser(text):
    """What the spec's patterns allow in a segment's name and description, the parser takes."""
    from chalicelib.infra.errors import ValidationError
    from chalicelib.rules import Catalogue, parse_segment

    props = SPEC["components"]["schemas"]["SegmentDefinition"]["properties"]
    for key, body in [
        ("name", {"name": text}),
        ("description", {"name": "n", "description": text}),
    ]:
        try:
            parse_segment({**body, "rules": []}, Catalogue())
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(re.search(props[key]["pattern"], text)) == accepted, (key, text)
