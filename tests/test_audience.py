"""The audience interface: both backends (table walk, snapshot + change log) answer alike, and a
members cursor is valid whichever backend issued it."""

import pytest
from conftest import set_predictive

from chalicelib.audience import SnapshotAudience, TableWalkAudience, audience_of
from chalicelib.audience.builder import snapshot_project
from chalicelib.rules import Catalogue, parse_rules
from chalicelib.storage import profile_table

RULES = {
    "match": "any",
    "rules": [
        {"field": "attributes.country", "operator": "eq", "value": "NL"},
        {"field": "predictive.conversion_potential", "operator": "gte", "value": 80},
    ],
}


@pytest.fixture
def shop(api, project):
    api.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": f"p{i:02d}", "attributes": {"country": ["NL", "BE", "DE"][i % 3]}}
                for i in range(30)
            ]
        },
    )
    for i in range(0, 30, 2):
        set_predictive(
            project["id"],
            f"p{i:02d}",
            {"conversion_potential": (i * 9) % 100, "clv": i * 50.0, "clv_predicted": i * 5.0},
        )
    return project["id"]


def root(project_id):
    return parse_rules(RULES, Catalogue(profile_table.attribute_kinds(project_id)))


def answers(audience):
    pages, after = [], None
    while True:
        ids, more = audience.page(after, 4)
        pages.append(ids)
        if not more:
            break
        after = ids[-1]
    return {
        "count": audience.count(),
        "ids": audience.ids(),
        "pages": pages,
        "worth": audience.worth().to_dict(),
        "documents": [d["profile_id"] for d in audience.iter_documents(batch=5)],
    }


def test_both_backends_give_the_same_answers(api, shop):
    # GIVEN a project with no snapshot: only the table walk can answer
    assert SnapshotAudience.open(shop, root(shop)) is None
    walked = answers(TableWalkAudience(shop, root(shop)))
    # WHEN a snapshot is taken, and some profiles change after it (the change-log overlay)
    snapshot_project(shop)
    api.put("/profiles/p01", {"attributes": {"country": "NL"}})  # enters
    api.put("/profiles/p03", {"attributes": {"country": "BE"}})  # leaves
    api.delete("/profiles/p06")  # erased: leaves
    api.post("/profiles", {"profiles": [{"profile_id": "p99", "attributes": {"country": "NL"}}]})
    snap = SnapshotAudience.open(shop, root(shop))
    walk = TableWalkAudience(shop, root(shop))
    # THEN both backends agree on every answer, and the factory picks the snapshot
    assert snap is not None and isinstance(audience_of(shop, root(shop)), SnapshotAudience)
    assert answers(snap) == answers(walk)
    assert walked != answers(walk)  # the changes did move the audience
    assert "p01" in walk.ids() and "p99" in walk.ids()
    assert "p03" not in walk.ids() and "p06" not in walk.ids()
    assert walk.ids() == sorted(walk.ids())


def test_a_members_cursor_from_before_the_first_snapshot_is_valid_after_it(api, shop):
    # GIVEN a saved segment and a first page of members read before any snapshot
    segment_id = api.post("/segments", {"name": "nl or likely", **RULES})[1]["segment_id"]
    status, first = api.get(f"/segments/{segment_id}/members?limit=3")
    assert status == 200 and "next_cursor" in first
    # WHEN the first snapshot is taken and the next page is asked with that cursor
    snapshot_project(shop)
    status, second = api.get(
        f"/segments/{segment_id}/members?limit=3&cursor={first['next_cursor']}"
    )
    # THEN it is accepted and continues where the first page stopped
    assert status == 200
    everyone = [
        p["profile_id"] for p in api.get(f"/segments/{segment_id}/members?limit=100")[1]["profiles"]
    ]
    got = [p["profile_id"] for p in first["profiles"] + second["profiles"]]
    assert got == everyone[:6]
