"""GET /fields describes the rule language from the operator registry and rules.py: operators
with labels and value shapes, the matches, and the limits the parser enforces."""
from chalicelib.segments.operators import OPERATORS
from chalicelib.segments.rules import LIMITS, MATCHES


def test_fields_lists_operators_matches_and_limits(api):
    # GIVEN a project; WHEN its catalogue is read
    status, body = api.get("/fields")
    # THEN the fields are there as before, and the rule language beside them
    assert status == 200
    assert any(f["path"] == "behaviour.orders" for f in body["fields"])
    assert [op["name"] for op in body["operators"]] == list(OPERATORS)
    assert body["operators"][0] == {"name": "eq", "label": "is", "value": "scalar",
                                    "types": ["number", "text", "enum", "boolean"]}
    shapes = {op["name"]: op["value"] for op in body["operators"]}
    assert (shapes["between"], shapes["in"], shapes["within_last_days"], shapes["exists"]) == (
        "pair", "list", "days", "none")
    assert body["matches"] == [{"name": "all", "label": "all the rules"},
                               {"name": "any", "label": "one or more rules"},
                               {"name": "none", "label": "none of the rules"}]
    assert list(MATCHES) == ["all", "any", "none"]
    assert body["limits"] == LIMITS
    assert body["limits"]["max_depth"] == 5 and body["limits"]["max_in_values"] == 500
