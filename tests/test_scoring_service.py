"""Rescoring jobs, the stream trigger and the schedule, on moto."""
from datetime import date

import pytest
from chalice.test import Client

from chalicelib.api import triggers
from chalicelib.predict import artifact
from chalicelib.services import scoring
from chalicelib.storage import model_store
from chalicelib.storage import profiles as store


def events_for(profile, n, day="2026-11-01"):
    return [{"event_id": f"{profile}-{i}", "profile_id": profile,
             "type": "purchase" if i % 3 == 0 else "page_view",
             "timestamp": f"{day}T1{i % 10}:00:00Z", **({"value": 20.0} if i % 3 == 0 else {})}
            for i in range(n)]


@pytest.fixture
def shop(api):
    for p in range(40):
        api.post("/events", {"events": events_for(f"p{p:02d}", 1 + p % 5)})
    return api


def test_a_rescore_writes_only_what_changed(shop, project):
    first = scoring.rescore_project(project["id"], date(2026, 11, 20))
    assert (first["profiles_read"], first["written"]) == (40, 40)
    again = scoring.rescore_project(project["id"], date(2026, 11, 20))
    assert (again["profiles_read"], again["changed"], again["written"]) == (40, 0, 0)
    # 2 of 40 profiles (5 %) get new orders: only they are written
    shop.post("/events", {"events": events_for("p01", 9, "2026-11-15")[3:]})
    shop.post("/events", {"events": events_for("p02", 9, "2026-11-15")[3:]})
    third = scoring.rescore_project(project["id"], date(2026, 11, 20))
    assert third["written"] == 2
    status, body = shop.get("/jobs")
    assert [j["written"] for j in body["jobs"]] == [2, 0, 40]
    assert body["jobs"][0]["model_version"] == "default-1"


def test_scores_are_written_without_touching_client_data(shop, project):
    before = shop.get("/profiles/p03")[1]
    scoring.rescore_project(project["id"], date(2026, 11, 20))
    after = shop.get("/profiles/p03")[1]
    assert after["attributes"] == before["attributes"]
    assert after["behaviour"] == before["behaviour"]
    assert 0 <= after["predictive"]["conversion_potential"] <= 100
    # a client write right after keeps the score (score writes never bump the version)
    shop.put("/profiles/p03", {"attributes": {"vip": True}})
    assert shop.get("/profiles/p03")[1]["predictive"] == after["predictive"]


def test_a_stale_score_is_not_written_over_newer_data(shop, project):
    profile = store.get(project["id"], "p04")
    shop.put("/profiles/p04", {"attributes": {"changed": 1}})  # version moves on
    assert store.write_predictive(profile, {"clv": 1}) is False
    assert store.get(project["id"], "p04").predictive == {}


class Record:
    def __init__(self, seq, name, keys, new=None, old=None):
        self.sequence_number, self.event_name, self.keys = seq, name, keys
        self.new_image, self.old_image = new, old


def image(project, profile, **attrs):
    out = {"pk": {"S": f"{project}#000"}, "profile_id": {"S": profile}}
    out.update({k: {"S": v} for k, v in attrs.items()})
    return out


def test_the_trigger_ignores_score_only_changes_and_removals():
    keys = {"pk": {"S": "acme#001"}, "profile_id": {"S": "p1"}}
    score_only = Record("1", "MODIFY", keys, new=image("acme", "p1", predictive="{\"a\": 2}"),
                        old=image("acme", "p1", predictive="{\"a\": 1}"))
    removal = Record("2", "REMOVE", keys, old=image("acme", "p1"))
    content = Record("3", "MODIFY", keys, new=image("acme", "p1", attributes="{\"x\": 2}"),
                     old=image("acme", "p1", attributes="{\"x\": 1}"))
    assert not triggers.parse_record(score_only).needs_scoring
    assert not triggers.parse_record(removal).needs_scoring
    change = triggers.parse_record(content)
    assert change.needs_scoring and (change.project_id, change.profile_id) == ("acme", "p1")


def test_the_trigger_scores_and_reports_failures_per_record(shop, project, monkeypatch):
    keys = lambda p, pid: {"pk": {"S": f"{p}#000"}, "profile_id": {"S": pid}}  # noqa: E731
    records = [Record("10", "INSERT", keys(project["id"], "p05"),
                      new=image(project["id"], "p05", attributes="{}")),
               Record("11", "INSERT", keys("broken", "x"), new=image("broken", "x"))]
    real = scoring.score_profiles

    def flaky(project_id, ids):
        if project_id == "broken":
            raise RuntimeError("injected")
        return real(project_id, ids)
    monkeypatch.setattr(scoring, "score_profiles", flaky)
    result = triggers.handle_profile_changes(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert shop.get("/profiles/p05")[1]["predictive"]["model_version"] == "default-1"
    # delivered again: the same stored result
    first = shop.get("/profiles/p05")[1]["predictive"]
    triggers.handle_profile_changes(records[:1])
    again = shop.get("/profiles/p05")[1]["predictive"]
    assert {k: v for k, v in again.items() if k != "scored_at"} == \
        {k: v for k, v in first.items() if k != "scored_at"}


def test_the_scheduled_handler_rescores_every_project(shop, project, other_project):
    from app import app
    with Client(app) as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                resources=[], detail={})
        assert client.lambda_.invoke("rescore_all_projects", event).payload == {"projects": 2}
    assert shop.get("/profiles/p00")[1]["predictive"]["conversion_potential"] >= 0


def test_a_broken_project_model_falls_back_to_the_default(shop, project):
    model_store.ensure_bucket()
    blob, metadata = artifact.to_bytes(artifact.default_model())
    metadata = {**metadata, "version": "bad-1"}
    model_store.put(project["id"], b"corrupt" + blob, metadata)
    model_store.promote(project["id"], "bad-1")
    assert scoring.current_model(project["id"]) is artifact.default_model()
    assert scoring.rescore_project(project["id"], date(2026, 11, 20))["written"] == 40
