"""GET /fields describes the rule language from the operator registry and rules.py: operators
with labels and value shapes, the matches, and the limits the parser enforces."""

from chalicelib.rules.operators import OPERATORS
from chalicelib.rules.tree import LIMITS, MATCHES


def test_fields_lists_operators_matches_and_limits(api):
    # GIVEN a project; WHEN its catalogue is read
    status, body = api.get("/fields")
    # THEN the fields are there as before, and the rule language beside them
    assert status == 200
    assert any(f["path"] == "behaviour.orders" for f in body["fields"])
    assert [op["name"] for op in body["operators"]] == list(OPERATORS)
    assert body["operators"][0] == {
        "name": "eq",
        "label": "is",
        "value": "scalar",
        "types": ["number", "text", "enum", "boolean"],
    }
    shapes = {op["name"]: op["value"] for op in body["operators"]}
    assert (shapes["between"], shapes["in"], shapes["within_last_days"], shapes["exists"]) == (
        "pair",
        "list",
        "days",
        "none",
    )
    assert body["matches"] == [
        {"name": "all", "label": "all the rules"},
        {"name": "any", "label": "one or more rules"},
        {"name": "none", "label": "none of the rules"},
    ]
    assert list(MATCHES) == ["all", "any", "none"]
    assert body["limits"] == LIMITS
    assert body["limits"]["max_depth"] == 5 and body["limits"]["max_in_values"] == 500


def test_the_readme_operator_table_is_the_registry():
    """The README's table of operators by field type says what the registry says."""
    import re
    from pathlib import Path

    from chalicelib.rules.operators import OPERATORS_BY_TYPE

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Segment rules", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\s*\| (\w+) \| (.+) \|$", section, re.M))
    rows.pop("type")
    everywhere = {"exists", "not_exists"}  # stated once under the table
    assert all(everywhere <= set(ops) for ops in OPERATORS_BY_TYPE.values())
    assert "and `exists`, `not_exists` (no value) on every type" in section
    assert {t: re.findall(r"`(\w+)`", ops) for t, ops in rows.items()} == {
        t: [op for op in ops if op not in everywhere] for t, ops in OPERATORS_BY_TYPE.items()
    }
