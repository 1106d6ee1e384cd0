"""Control groups over HTTP: control_percent on a segment (validated on create, replace and patch),
the members held out recorded on their memberships and marked in members and changes, left out
of exports and webhook deliveries, moved the fewest when the percentage changes, and the
project-wide control group."""

import json

import pytest
from conftest import purchase_event
from test_destinations import Receiver

from chalicelib.audience.uplift_groups import is_control
from chalicelib.storage import membership_table

SPENDERS = {
    "name": "spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}
N = 60


@pytest.fixture
def shop(api):
    """GIVEN N profiles that spent 60 (all match SPENDERS)."""
    ids = [f"p{i:03d}" for i in range(N)]
    assert (
        api.post("/events", {"events": [purchase_event(pid, value=60.0) for pid in ids]})[0] == 200
    )
    return ids


@pytest.fixture
def hook():
    made = Receiver()
    yield made
    made.close()


def patch(api, path, body):
    return api.call("PATCH", api.p(path), body)


def expected_control(project, sid, ids, percent, everywhere=0):
    return {pid for pid in ids if is_control(project["id"], sid, pid, percent, everywhere)}


def test_a_segment_keeps_its_control_percent_and_defaults_to_none(api):
    status, saved = api.post("/segments", {**SPENDERS, "control_percent": 20})
    assert status == 201 and saved["control_percent"] == 20
    assert api.get(f"/segments/{saved['segment_id']}")[1]["control_percent"] == 20
    status, plain = api.post("/segments", SPENDERS)
    assert status == 201 and plain["control_percent"] == 0


@pytest.mark.parametrize("bad", [-1, 51, 50.01, "20", True, None, [10], {"v": 1}])
def test_a_bad_control_percent_is_refused_and_nothing_is_saved(api, bad):
    # WHEN a segment is created, replaced or patched with a bad control_percent
    status, error = api.post("/segments", {**SPENDERS, "control_percent": bad})
    # THEN a 400 names the field, and nothing is stored or changed
    assert status == 400 and error["error"]["path"] == "/control_percent"
    assert api.get("/segments")[1]["segments"] == []
    sid = api.post("/segments", {**SPENDERS, "control_percent": 5})[1]["segment_id"]
    before = api.get(f"/segments/{sid}")[1]
    status, error = api.put(f"/segments/{sid}", {**SPENDERS, "name": "x", "control_percent": bad})
    assert status == 400 and error["error"]["path"] == "/control_percent"
    status, error = patch(api, f"/segments/{sid}", {"name": "y", "control_percent": bad})
    assert status == 400 and error["error"]["path"] == "/control_percent"
    assert api.get(f"/segments/{sid}")[1] == before


def test_replacing_the_rules_keeps_the_control_group_unless_the_body_names_it(api):
    # GIVEN a segment holding out 20 %
    sid = api.post("/segments", {**SPENDERS, "control_percent": 20})[1]["segment_id"]
    # WHEN its rules are replaced by a body without control_percent (as the builder sends)
    status, saved = api.put(f"/segments/{sid}", {**SPENDERS, "name": "edited"})
    # THEN the control group stays; a body that names it sets it
    assert (status, saved["control_percent"]) == (200, 20)
    assert (
        api.put(f"/segments/{sid}", {**SPENDERS, "control_percent": 0})[1]["control_percent"] == 0
    )


def test_a_patch_changes_only_what_it_names(api):
    sid = api.post("/segments", {**SPENDERS, "control_percent": 5})[1]["segment_id"]
    status, saved = patch(api, f"/segments/{sid}", {"control_percent": 15})
    assert status == 200 and saved["control_percent"] == 15 and saved["rules"] == SPENDERS["rules"]
    status, saved = patch(api, f"/segments/{sid}", {"name": "renamed"})
    assert (status, saved["name"], saved["control_percent"]) == (200, "renamed", 15)
    status, error = patch(api, f"/segments/{sid}", {"rules": []})
    assert status == 400 and error["error"]["path"] == "/rules"


def test_control_members_are_recorded_marked_and_held_out_of_activation(
    api, project, shop, drain, hook
):
    # GIVEN a segment holding out 30 % of its members, with a webhook destination
    sid = api.post("/segments", {**SPENDERS, "control_percent": 30})[1]["segment_id"]
    assert api.post(f"/segments/{sid}/destinations", {"url": hook.url})[0] == 201
    # WHEN its membership is evaluated
    drain()
    control = expected_control(project, sid, shop, 30)
    assert 0 < len(control) < N
    # THEN each membership records its group, as the stable hash assigns it
    groups = membership_table.member_groups(project["id"], sid)
    assert {pid for pid, c in groups.items() if c} == control and set(groups) == set(shop)
    # and members and changes mark the control members, hiding nobody
    page = api.get(f"/segments/{sid}/members?limit=500")[1]
    assert {p["profile_id"] for p in page["profiles"] if p.get("control")} == control
    assert page["count"] == N
    changes = api.get(f"/segments/{sid}/changes?since=2000-01-01T00:00:00Z&limit=500")[1]
    assert {c["profile_id"] for c in changes["changes"] if c.get("control")} == control
    assert len(changes["changes"]) == N
    # and the webhook deliveries and the export hold out the control members
    delivered = [c for _, body in hook.deliveries for c in json.loads(body)["changes"]]
    assert {c["profile_id"] for c in delivered} == set(shop) - control
    assert all(set(c) == {"profile_id", "change", "at"} for c in delivered)
    export = api.client.http.get(
        api.p(f"/segments/{sid}/export?format=jsonl"), headers={"x-api-key": project["key"]}
    )
    exported = {json.loads(line)["profile_id"] for line in export.body.decode().splitlines()}
    assert exported == set(shop) - control


def test_raising_the_percentage_only_moves_members_into_control(api, project, shop, drain):
    sid = api.post("/segments", {**SPENDERS, "control_percent": 10})[1]["segment_id"]
    drain()
    before = membership_table.member_groups(project["id"], sid)
    # WHEN the percentage goes from 10 to 40
    assert patch(api, f"/segments/{sid}", {"control_percent": 40})[0] == 200
    drain()
    after = membership_table.member_groups(project["id"], sid)
    # THEN whoever was control stays control, and the new control group is the hash's
    assert {p for p, c in before.items() if c} <= {p for p, c in after.items() if c}
    assert {p for p, c in after.items() if c} == expected_control(project, sid, shop, 40)
    # and lowering it back moves exactly the added ones out again
    assert patch(api, f"/segments/{sid}", {"control_percent": 10})[0] == 200
    drain()
    assert membership_table.member_groups(project["id"], sid) == before


def test_the_project_wide_control_is_held_out_of_every_segment(api, project, shop, drain):
    # GIVEN a project-wide control group of 25 %
    assert api.get("/settings")[1]["control_percent"] == 0
    status, settings = api.put("/settings", {"control_percent": 25})
    assert status == 200 and settings["control_percent"] == 25
    assert api.get("/settings")[1]["control_percent"] == 25
    # WHEN two segments without their own control group are evaluated
    first = api.post("/segments", SPENDERS)[1]["segment_id"]
    second = api.post("/segments", {**SPENDERS, "name": "again"})[1]["segment_id"]
    drain()
    # THEN the same profiles are held out of both
    held = {}
    for sid in (first, second):
        groups = membership_table.member_groups(project["id"], sid)
        held[sid] = {p for p, c in groups.items() if c}
    assert held[first] == held[second] == expected_control(project, first, shop, 0, 25)
    assert 0 < len(held[first]) < N


@pytest.mark.parametrize(
    "body, path",
    [
        ({"control_percent": 60}, "/control_percent"),
        ({"control_percent": "5"}, "/control_percent"),
        ({"control_percent": 5, "other": 1}, "/other"),
        ({"control_percent": 5, "time_zone": "Mars/Base"}, "/time_zone"),
    ],
)
def test_a_bad_project_control_is_refused(api, body, path):
    status, error = api.put("/settings", body)
    assert status == 400 and error["error"]["path"] == path
    assert api.get("/settings")[1]["control_percent"] == 0  # nothing stored


@pytest.mark.parametrize(
    "sent, kept", [(2.6082058930392296e-162, 0), (12.345678, 12.3457), (49.99999, 50)]
)
def test_a_percentage_is_kept_to_four_decimals_in_settings_and_segments(api, sent, kept):
    # GIVEN a percentage DynamoDB cannot store as sent (found by the fuzzer: a 500 before)
    # WHEN it is the project's control or a segment's THEN it is stored to 4 decimal places
    status, settings = api.put("/settings", {"control_percent": sent})
    assert status == 200 and settings["control_percent"] == kept
    assert api.get("/settings")[1]["control_percent"] == kept
    body = {"name": "tiny", "match": "all", "rules": [], "control_percent": sent}
    status, segment = api.post("/segments", body)
    assert status == 201 and segment["control_percent"] == kept


def test_an_integer_too_large_for_a_float_is_a_400(api):
    status, error = api.put("/settings", {"control_percent": 10**400})
    assert status == 400 and error["error"]["path"] == "/control_percent"


def test_the_trigger_path_records_and_holds_out_control_members(api, project, drain, hook):
    # GIVEN a segment holding out half of its members, with a webhook destination, and no member
    from chalicelib.services import scoring_jobs

    sid = api.post("/segments", {**SPENDERS, "control_percent": 50})[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", {"url": hook.url})
    drain()
    # WHEN profiles enter one by one through the trigger (not a full evaluation)
    ids = [f"t{i:02d}" for i in range(20)]
    api.post("/events", {"events": [purchase_event(pid, value=70.0) for pid in ids]})
    scoring_jobs.score_profiles(project["id"], ids)  # what the stream trigger runs
    drain()
    # THEN their groups are recorded as the hash assigns them, and only treated ones are sent
    control = expected_control(project, sid, ids, 50)
    groups = membership_table.member_groups(project["id"], sid)
    assert {p for p, c in groups.items() if c} == control and 0 < len(control) < len(ids)
    delivered = {c["profile_id"] for _, b in hook.deliveries for c in json.loads(b)["changes"]}
    assert delivered == set(ids) - control
