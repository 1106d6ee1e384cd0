"""GET /segments/{id}/uplift over HTTP: treated against control members who entered in a period,
purchases attributed by the events' own timestamps (late ones count), and its bad input."""

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.storage import membership_table

N = 300
NOW = datetime.now(timezone.utc)
ENTRY = NOW - timedelta(days=20)
GOLD = {
    "name": "gold",
    "match": "all",
    "rules": [{"field": "attributes.plan", "operator": "eq", "value": "gold"}],
}
ANYONE = {
    "name": "anyone",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 0}],
}


def at(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def purchase(pid, n, when, value=40.0):
    return {
        "event_id": f"{pid}-{n}",
        "profile_id": pid,
        "type": "purchase",
        "timestamp": at(when),
        "value": value,
    }


def post_events(api, events):
    for start in range(0, len(events), 500):
        assert api.post("/events", {"events": events[start : start + 500]})[0] == 200


@pytest.fixture
def measured(api, project, drain, monkeypatch):
    """GIVEN N gold profiles that entered a segment holding out half of them, 20 days ago;
    60 % of the treated and 20 % of the control members bought 3 days after entering, and every
    member bought 5 days before (not an outcome)."""
    ids = [f"p{i:03d}" for i in range(N)]
    profiles = [{"profile_id": pid, "attributes": {"plan": "gold"}} for pid in ids]
    assert api.post("/profiles", {"profiles": profiles})[0] == 200
    monkeypatch.setattr(membership_table, "stamp", lambda: ENTRY.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    sid = api.post("/segments", {**GOLD, "control_percent": 50})[1]["segment_id"]
    drain()
    groups = membership_table.member_groups(project["id"], sid)
    treated = sorted(p for p, c in groups.items() if not c)
    control = sorted(p for p, c in groups.items() if c)
    buyers = treated[: len(treated) * 6 // 10] + control[: len(control) * 2 // 10]
    post_events(
        api,
        [purchase(pid, 0, ENTRY - timedelta(days=5)) for pid in ids]
        + [purchase(pid, 1, ENTRY + timedelta(days=3)) for pid in buyers],
    )
    return sid, treated, control


def test_uplift_compares_the_groups_and_says_it_works(api, measured):
    sid, treated, control = measured
    # WHEN the uplift of the last 30 days is asked, 7 days after entry
    status, report = api.get(f"/segments/{sid}/uplift?window_days=7")
    # THEN both groups, their conversion and the verdict are as planted
    assert status == 200, report
    assert report["groups"] == {
        "treated": {"members": len(treated), "converted": len(treated) * 6 // 10},
        "control": {"members": len(control), "converted": len(control) * 2 // 10},
    }
    conversion = report["conversion"]
    assert conversion["treated"] == round((len(treated) * 6 // 10) / len(treated), 4)
    low, high = conversion["difference_interval"]
    assert 0 < low < conversion["difference"] < high
    assert report["revenue_per_member"]["difference"] > 0
    assert report["enough_data"] is True and report["verdict"].startswith("It works")
    assert report["control_percent"] == 50 and report["window_days"] == 7
    assert "Newcombe" in report["methods"]["conversion"]


def test_a_late_event_counts_on_its_own_day(api, measured):
    sid, _, control = measured
    before = api.get(f"/segments/{sid}/uplift?window_days=7")[1]["groups"]["control"]
    # WHEN a purchase made 2 days after entry arrives only now
    post_events(api, [purchase(control[-1], 9, ENTRY + timedelta(days=2))])
    after = api.get(f"/segments/{sid}/uplift?window_days=7")[1]["groups"]["control"]
    # THEN it is counted within the member's window
    assert after["converted"] == before["converted"] + 1
    # and a window that ends before it leaves it out
    short = api.get(f"/segments/{sid}/uplift?window_days=1")[1]["groups"]["control"]
    assert short["converted"] == 0


def test_only_members_who_entered_in_the_period_count(api, measured):
    sid, _, _ = measured
    later = at(ENTRY + timedelta(days=1))
    status, report = api.get(f"/segments/{sid}/uplift?since={later}")
    assert status == 200
    assert report["groups"]["treated"]["members"] == report["groups"]["control"]["members"] == 0
    assert report["verdict"].startswith("Not enough data yet") and not report["enough_data"]


def test_a_segment_without_a_control_group_gets_a_409(api):
    sid = api.post("/segments", ANYONE)[1]["segment_id"]
    status, error = api.get(f"/segments/{sid}/uplift")
    assert status == 409 and error["error"]["code"] == "no_control_group"
    assert "control group" in error["error"]["message"]


@pytest.mark.parametrize(
    "query, path",
    [
        ("since=2026-11-10&until=2026-11-01", "/since"),
        ("since=yesterday", "/since"),
        ("until=2026-13-01", "/until"),
        ("window_days=0", "/window_days"),
        ("window_days=366", "/window_days"),
        ("window_days=7.5", "/window_days"),
        ("window_days=-3", "/window_days"),
    ],
)
def test_bad_query_gets_a_400_naming_the_parameter(api, query, path):
    sid = api.post("/segments", {**ANYONE, "control_percent": 10})[1]["segment_id"]
    status, error = api.get(f"/segments/{sid}/uplift?{query}")
    assert status == 400 and error["error"]["path"] == path


def test_an_unknown_segment_gets_a_404(api):
    status, _ = api.get("/segments/seg_0000000000000000/uplift")
    assert status == 404


def test_erasing_a_profile_removes_it_from_the_stored_cohorts(api, project, measured):
    sid, treated, control = measured
    assert api.get(f"/segments/{sid}/uplift")[0] == 200  # the cohort is stored
    # WHEN a treated member is erased
    assert api.delete(f"/profiles/{treated[0]}")[0] == 200
    # THEN no stored cohort holds it, and the next report counts one treated member less
    from chalicelib.storage import uplift_cohorts

    assert uplift_cohorts.load(project["id"], sid) is None
    groups = api.get(f"/segments/{sid}/uplift")[1]["groups"]
    assert groups["treated"]["members"] == len(treated) - 1
    assert groups["control"]["members"] == len(control)
