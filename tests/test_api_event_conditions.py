"""Event conditions over HTTP: project settings (time zone, declared event properties) with
their validation, /fields describing event conditions, segments saved and answered on the table
walk and on the snapshot (with the change log on top), bad rules refused with nothing saved."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib.audience import SnapshotAudience, TableWalkAudience
from chalicelib.audience.builder import snapshot_project
from chalicelib.rules import parse_rules
from chalicelib.services.segments import catalogue

VINYL_TWICE = {
    "event": "purchase",
    "where": {"property": "category", "operator": "eq", "value": "vinyl"},
    "count": {"operator": "gte", "value": 2},
    "window": {"within_last_days": 30},
}


def purchase(i, profile, days_ago, category, value=10.0):
    when = datetime.now(timezone.utc) - timedelta(days=days_ago, hours=1)
    return {
        "event_id": f"o{i}",
        "profile_id": profile,
        "type": "purchase",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "value": value,
        "properties": {"category": category},
    }


def test_settings_start_empty_and_are_validated_before_anything_is_stored(api):
    """GIVEN a new project WHEN its settings are read, set wrongly, then set
    THEN they start as UTC with no properties, each mistake is a 400 naming it (nothing stored),
    and a good update is returned and kept; a setting left out keeps its value."""
    status, body = api.get("/settings")
    assert status == 200
    assert body["time_zone"] == "UTC" and body["event_properties"] == []
    limit = body["limits"]["max_event_properties"]
    for bad, path in [
        ({"time_zone": "Mars/Olympus"}, "/time_zone"),
        ({"time_zone": "../../etc/passwd"}, "/time_zone"),
        ({"time_zone": 3}, "/time_zone"),
        ({"event_properties": [f"p{i}" for i in range(limit + 1)]}, "/event_properties"),
        ({"event_properties": ["a", "a"]}, "/event_properties/1"),
        ({"event_properties": ["ok", "bad\x01"]}, "/event_properties/1"),
        ({"time_zone": "Europe/Amsterdam", "event_properties": "category"}, "/event_properties"),
        ({"colour": "red"}, "/colour"),
    ]:
        status, error = api.put("/settings", bad)
        assert status == 400 and error["error"]["path"] == path, (bad, error)
    assert api.get("/settings")[1]["time_zone"] == "UTC"
    status, body = api.put(
        "/settings", {"time_zone": "Europe/Amsterdam", "event_properties": ["category"]}
    )
    assert status == 200 and body["time_zone"] == "Europe/Amsterdam"
    status, body = api.put("/settings", {"event_properties": ["category", "brand"]})
    assert body == {
        **body,
        "time_zone": "Europe/Amsterdam",
        "event_properties": ["category", "brand"],
    }
    assert api.get("/settings")[1] == body


def test_fields_describe_event_conditions_in_the_project_s_zone(api):
    api.put("/settings", {"time_zone": "America/New_York", "event_properties": ["category"]})
    status, body = api.get("/fields")
    assert status == 200
    events = body["events"]
    names = [e["name"] for e in events["events"]]
    assert "purchase" in names and "any" in names
    assert events["time_zone"] == "America/New_York" and events["properties"] == ["category"]
    assert [w["name"] for w in events["windows"]] == [
        "within_last_days",
        "between",
        "before",
        "after",
    ]


def test_a_rule_on_an_undeclared_property_is_refused_and_nothing_saved(api):
    status, error = api.post("/segments", {"name": "vinyl", "rules": [VINYL_TWICE]})
    assert status == 400 and error["error"]["path"] == "/rules/0/where/property"
    assert error["error"]["code"] == "undeclared_property"
    assert "category" in error["error"]["message"]
    assert api.get("/segments")[1]["segments"] == []


def test_an_event_segment_answers_alike_on_the_table_walk_and_the_snapshot(api, project):
    """GIVEN a project that declares `category`, and profiles that bought vinyl twice in the last
    30 days (a), once (b), twice but 40 days ago (c), twice but CDs (d)
    WHEN 'vinyl at least twice in the last 30 days' is saved and asked, before and after a
    snapshot, and after one more purchase of b
    THEN a alone is a member, then a and b: on both backends."""
    api.put("/settings", {"event_properties": ["category"]})
    events = [
        purchase(1, "a", 2, "vinyl"),
        purchase(2, "a", 20, "vinyl"),
        purchase(3, "b", 3, "vinyl"),
        purchase(4, "c", 40, "vinyl"),
        purchase(5, "c", 41, "vinyl"),
        purchase(6, "d", 1, "cd"),
        purchase(7, "d", 2, "cd"),
    ]
    status, body = api.post("/events", {"events": events})
    assert status == 200 and body["accepted"] == 7, body
    status, saved = api.post("/segments", {"name": "vinyl", "rules": [VINYL_TWICE]})
    assert status == 201, saved
    members = lambda: [  # noqa: E731
        p["profile_id"] for p in api.get(f"/segments/{saved['segment_id']}/members")[1]["profiles"]
    ]
    assert members() == ["a"]
    snapshot_project(project["id"])
    root = parse_rules({"rules": [VINYL_TWICE]}, catalogue(project["id"]))
    assert SnapshotAudience.open(project["id"], root).ids() == ["a"]
    api.post("/events", {"events": [purchase(8, "b", 0, "vinyl")]})  # b now bought twice
    assert members() == ["a", "b"]
    snap = SnapshotAudience.open(project["id"], root)
    assert snap.ids() == TableWalkAudience(project["id"], root).ids() == ["a", "b"]
    status, preview = api.post("/segments/preview", {"rules": [VINYL_TWICE]})
    assert status == 200 and preview["count"] == 2


def test_events_count_on_the_project_s_days_and_properties_from_their_declaration(api):
    """GIVEN a project on Auckland time that declares `category` after a first vinyl purchase
    WHEN a second vinyl purchase arrives at 20:00 UTC yesterday (already today in Auckland)
    THEN the profile's day counts hold both purchases, on Auckland days, and only the second
    under its category: 'vinyl at least once' matches, 'vinyl at least twice' does not."""
    api.put("/settings", {"time_zone": "Pacific/Auckland"})
    api.post("/events", {"events": [purchase(1, "a", 3, "vinyl")]})
    api.put("/settings", {"event_properties": ["category"]})
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    late = {
        **purchase(2, "a", 0, "vinyl"),
        "timestamp": f"{yesterday.isoformat()}T20:00:00Z",
    }
    assert api.post("/events", {"events": [late]})[1]["accepted"] == 1
    stored = api.get("/profiles/a")[1]["behaviour"]["events"]
    assert stored["purchase"][1] == [1, 1]
    assert list(stored) == ["purchase", '["purchase","category","vinyl"]']
    auckland_day = (
        datetime.fromisoformat(f"{yesterday.isoformat()}T20:00:00+00:00")
        .astimezone(ZoneInfo("Pacific/Auckland"))
        .date()
    )
    assert stored['["purchase","category","vinyl"]'][0] == [(auckland_day - date(1970, 1, 1)).days]
    vinyl = {"property": "category", "operator": "eq", "value": "vinyl"}
    for count, matches in ((1, 1), (2, 0)):
        rule = {"event": "purchase", "where": vinyl, "count": {"operator": "gte", "value": count}}
        assert api.post("/segments/preview", {"rules": [rule]})[1]["count"] == matches
