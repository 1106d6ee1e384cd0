"""Segments over HTTP: catalogue, CRUD, validation errors, members and preview on current data."""

import pytest
from conftest import set_predictive

BRIEF = [
    ("predictive.conversion_potential", "gte", 50),
    ("predictive.clv", "gte", 1000),
    ("predictive.customer_type", "eq", "Economical"),
    ("predictive.persuasion_type", "eq", "Scarcity"),
]


def segment(name, *rules, match="all"):
    return {
        "name": name,
        "match": match,
        "rules": [{"field": f, "operator": o, "value": v} for f, o, v in rules],
    }


@pytest.fixture
def population(api, project):
    """40 profiles with known attributes and predictive fields."""
    types = ["Explorer", "Economical", "Believer", "Passionate"]
    api.post(
        "/profiles",
        {
            "profiles": [
                {
                    "profile_id": f"p{i:02d}",
                    "attributes": {"country": ["NL", "BE", "DE"][i % 3], "age": 20 + i},
                }
                for i in range(40)
            ]
        },
    )
    expected = {}
    for i in range(40):
        predictive = {
            "conversion_potential": (i * 7) % 100,
            "clv": i * 40.0,
            "customer_type": types[i % 4],
            "persuasion_type": "Scarcity" if i % 5 == 0 else "Liking",
        }
        set_predictive(project["id"], f"p{i:02d}", predictive)
        expected[f"p{i:02d}"] = {"country": ["NL", "BE", "DE"][i % 3], "age": 20 + i, **predictive}
    return expected


def test_field_catalogue(api, population):
    status, body = api.get("/fields")
    fields = {f["path"]: f for f in body["fields"]}
    assert fields["predictive.customer_type"]["values"] == [
        "Explorer",
        "Single-minded",
        "Passionate",
        "Economical",
        "Believer",
    ]
    assert fields["predictive.persuasion_type"]["type"] == "enum"
    assert fields["predictive.conversion_potential"]["type"] == "number"
    assert "gte" in fields["predictive.conversion_potential"]["operators"]
    assert fields["attributes.country"]["type"] == "text"
    assert fields["attributes.age"]["type"] == "number"
    assert fields["attributes.age"]["group"] == "profile"
    assert {f["group"] for f in body["fields"]} == {"profile", "behaviour", "predictive"}


def test_attribute_type_follows_the_majority_of_stored_values(api):
    api.post(
        "/profiles",
        {"profiles": [{"profile_id": f"p{i}", "attributes": {"zip": 1000 + i}} for i in range(3)]},
    )
    api.put("/profiles/p9", {"attributes": {"zip": "1000AB"}})
    fields = {f["path"]: f for f in api.get("/fields")[1]["fields"]}
    assert fields["attributes.zip"]["type"] == "number"
    for i in range(3):  # now the text values are the majority
        api.put(f"/profiles/p{i}", {"attributes": {"zip": f"{i}000AB"}})
    fields = {f["path"]: f for f in api.get("/fields")[1]["fields"]}
    assert fields["attributes.zip"]["type"] == "text"
    api.delete("/profiles/p9")
    for i in range(3):
        api.put(f"/profiles/p{i}", {"attributes": {"zip": None}})
    assert "attributes.zip" not in {f["path"] for f in api.get("/fields")[1]["fields"]}


@pytest.mark.parametrize("rule", BRIEF)
def test_the_four_segments_of_the_brief(api, population, rule):
    status, saved = api.post("/segments", segment(rule[0], rule))
    assert status == 201 and saved["segment_id"]
    field, op, value = rule
    key = field.split(".")[1]
    expected = sorted(
        p for p, v in population.items() if (v[key] >= value if op == "gte" else v[key] == value)
    )
    status, members = api.get(f"/segments/{saved['segment_id']}/members?limit=500")
    assert members["count"] == len(expected) > 0
    assert sorted(p["profile_id"] for p in members["profiles"]) == expected


def test_members_page_through_with_a_total_count(api, population):
    body = segment("NL or BE", ("attributes.country", "in", ["NL", "BE"]))
    seg = api.post("/segments", body)[1]
    expected = sorted(p for p, v in population.items() if v["country"] in ("NL", "BE"))
    seen, cursor = [], None
    while True:
        url = f"/segments/{seg['segment_id']}/members?limit=7" + (
            f"&cursor={cursor}" if cursor else ""
        )
        status, page = api.get(url)
        assert page["count"] == len(expected)
        seen += [p["profile_id"] for p in page["profiles"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert sorted(seen) == expected


def test_a_cursor_of_another_segment_is_refused(api, population):
    a = api.post("/segments", segment("a", ("attributes.age", "gte", 0)))[1]["segment_id"]
    b = api.post("/segments", segment("b", ("attributes.age", "gte", 0)))[1]["segment_id"]
    cursor = api.get(f"/segments/{a}/members?limit=1")[1]["next_cursor"]
    status, body = api.get(f"/segments/{b}/members?limit=1&cursor={cursor}")
    assert status == 400 and body["error"]["code"] == "invalid_cursor"


def test_nested_groups_and_none(api, population):
    body = {
        "name": "n",
        "match": "all",
        "rules": [
            {"field": "predictive.conversion_potential", "operator": "gte", "value": 50},
            {
                "match": "any",
                "rules": [
                    {"field": "predictive.customer_type", "operator": "eq", "value": "Economical"},
                    {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
                ],
            },
            {
                "match": "none",
                "rules": [{"field": "attributes.age", "operator": "lt", "value": 30}],
            },
        ],
    }
    expected = {
        p
        for p, v in population.items()
        if v["conversion_potential"] >= 50
        and (v["customer_type"] == "Economical" or v["country"] in ("NL", "BE"))
        and not v["age"] < 30
    }
    status, preview = api.post("/segments/preview", body)
    assert status == 200 and preview["count"] == len(expected)
    assert {p["profile_id"] for p in preview["sample"]} <= expected
    assert len(preview["sample"]) == min(10, len(expected))


def test_members_are_evaluated_on_current_data(api, population, project):
    seg = api.post("/segments", segment("Scarcity", BRIEF[3]))[1]["segment_id"]
    before = api.get(f"/segments/{seg}/members")[1]["count"]
    set_predictive(project["id"], "p01", {"persuasion_type": "Scarcity"})
    assert api.get(f"/segments/{seg}/members")[1]["count"] == before + 1


def test_crud(api, population):
    status, saved = api.post("/segments", segment("Old", BRIEF[0]))
    sid = saved["segment_id"]
    assert api.get(f"/segments/{sid}")[1]["name"] == "Old"
    status, replaced = api.put(f"/segments/{sid}", segment("New", BRIEF[1]))
    assert status == 200 and replaced["name"] == "New" and replaced["segment_id"] == sid
    assert [s["name"] for s in api.get("/segments")[1]["segments"]] == ["New"]
    assert api.delete(f"/segments/{sid}")[0] == 200
    assert api.get(f"/segments/{sid}")[0] == 404
    assert api.get(f"/segments/{sid}/members")[0] == 404
    assert api.put(f"/segments/{sid}", segment("x", BRIEF[0]))[0] == 404


def test_validation_error_shape(api, population):
    body = {
        "name": "bad",
        "match": "all",
        "rules": [
            {"field": "predictive.clv", "operator": "gte", "value": 1},
            {
                "match": "any",
                "rules": [
                    {"field": "predictive.customer_type", "operator": "gte", "value": "Economical"}
                ],
            },
        ],
    }
    status, error = api.post("/segments", body)
    assert status == 400
    assert error == {
        "error": {
            "code": "operator_not_allowed",
            "path": "/rules/1/rules/0/operator",
            "message": error["error"]["message"],
        }
    }
    assert api.get("/segments")[1]["segments"] == []
    status, error = api.post(
        "/segments/preview", {"rules": [{"field": "attributes.nope", "operator": "exists"}]}
    )
    assert status == 400 and error["error"]["path"] == "/rules/0/field"


def test_preview_reports_expected_conversions_value_and_histograms(api, population, project):
    for pid in population:  # predicted spend, as scoring writes it
        set_predictive(
            project["id"],
            pid,
            {
                **{
                    k: population[pid][k]
                    for k in ("conversion_potential", "clv", "customer_type", "persuasion_type")
                },
                "clv_predicted": population[pid]["clv"] / 2,
            },
        )
    body = segment("NL", ("attributes.country", "eq", "NL"))
    members = [v for v in population.values() if v["country"] == "NL"]
    status, preview = api.post("/segments/preview", body)
    assert status == 200 and preview["count"] == preview["scored"] == len(members)
    assert preview["expected_conversions"] == pytest.approx(
        sum(m["conversion_potential"] for m in members) / 100, abs=0.01
    )
    assert preview["expected_value"] == pytest.approx(sum(m["clv"] / 2 for m in members), abs=0.01)
    conversion = preview["histograms"]["conversion_potential"]
    assert [b["from"] for b in conversion] == list(range(0, 100, 10))
    assert sum(b["count"] for b in conversion) == len(members)
    assert sum(b["count"] for b in preview["histograms"]["clv"]) == len(members)
    assert conversion[0]["count"] == sum(m["conversion_potential"] < 10 for m in members)
