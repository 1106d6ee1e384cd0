"""The model card: GET /projects/{p}/model, and the pure pieces it is made of."""

from datetime import date

import pytest

from chalicelib.predict import artifact, promotion
from chalicelib.predict import fields as predictive_fields
from chalicelib.services import model_card, scoring_jobs


def test_the_quality_band_follows_the_lift_and_its_interval():
    # GIVEN differences model - classic with 95 % intervals
    better = {"brier": [-0.002, -0.003, -0.001], "auc": [0.01, -0.005, 0.02]}
    on_par = {"brier": [-0.001, -0.003, 0.001], "auc": [0.0, -0.01, 0.01]}
    behind_brier = {"brier": [0.002, 0.001, 0.003], "auc": [0.01, 0.0, 0.02]}
    behind_auc = {"brier": [-0.002, -0.003, -0.001], "auc": [-0.03, -0.05, -0.01]}
    # THEN the band says better only when the Brier interval is below 0 and the ranking holds
    assert model_card.quality_band(better)["band"] == "better"
    assert model_card.quality_band(on_par)["band"] == "on_par"
    assert model_card.quality_band(behind_brier)["band"] == "behind"
    assert model_card.quality_band(behind_auc)["band"] == "behind"
    assert model_card.quality_band(None)["band"] == "unknown"
    assert model_card.quality_band({"brier": [None, None, None], "auc": [0, 0, 0]})["band"] == (
        "unknown"
    )


def test_requirements_name_what_is_missing():
    # GIVEN a project with enough profiles but few repeat customers and a short history
    stats = {"profiles": 500, "customers": 80, "repeat_customers": 12, "history_days": 40}
    reqs = model_card.requirements(stats, 30)
    by_name = {i["name"]: i for i in reqs["items"]}
    # THEN it does not meet them, and says which and by how much
    assert reqs["meets"] is False
    assert by_name["profiles"]["met"] is True
    assert by_name["repeat_customers"] == {
        "name": "repeat_customers",
        "label": "customers with 2 or more orders",
        "needed": promotion.MIN_REPEAT_CUSTOMERS,
        "actual": 12,
        "met": False,
    }
    assert by_name["history_days"]["needed"] == promotion.history_days_needed(30) == 146
    text = model_card._message("default", reqs, "2026-11-20T00:00:00Z")
    assert "12 customers with 2 or more orders (needs 50)" in text
    assert "40 days of history" in text and "default model" in text
    # AND a project with enough data is told it can train its own
    enough = {"profiles": 5000, "customers": 900, "repeat_customers": 300, "history_days": 400}
    reqs = model_card.requirements(enough, 30)
    assert reqs["meets"] is True
    assert "train" in model_card._message("default", reqs, "x")


def test_the_packaged_default_model_carries_its_served_backtest():
    """The card's figures are computed when the model is packaged, never at request time."""
    md = artifact.default_model().metadata
    backtest = md["served_backtest"]
    assert backtest["days"] == 30 and backtest["served"]["conversion_days"] == 30
    assert len(backtest["folds"]) == promotion.FOLDS
    for name in ("auc", "brier", "log_loss", "ece", "gini", "spend_ratio"):
        assert name in backtest["model"]
    for name in ("auc", "brier", "log_loss", "gini"):
        point, lo, hi = backtest["lift_over_classic"][name]
        assert lo <= point <= hi
    assert len(backtest["gains"]) == promotion.GAINS_POINTS
    assert backtest["gains"][-1]["buyers"] == pytest.approx(1.0)
    assert sum(b["profiles"] for b in backtest["reliability"]) == backtest["model"]["profiles"]


def events_for(profile, orders, first_day):
    return [
        {
            "event_id": f"{profile}-{i}",
            "profile_id": profile,
            "type": "purchase",
            "timestamp": f"2026-{first_day.month:02d}-{first_day.day:02d}T1{i}:00:00Z",
            "value": 20.0,
        }
        for i in range(orders)
    ] + [
        {
            "event_id": f"{profile}-view",
            "profile_id": profile,
            "type": "page_view",
            "timestamp": "2026-11-01T09:00:00Z",
        }
    ]


def test_the_card_of_a_small_project_says_it_is_served_by_the_default(api, project):
    # GIVEN a project with 30 profiles, 10 of them with 2 orders, from September to November
    for p in range(30):
        api.post(
            "/events", {"events": events_for(f"p{p:02d}", 2 if p < 10 else 1, date(2026, 9, 1))}
        )
    # WHEN the card is read before any rescore
    status, body = api.get("/model")
    # THEN the default model is named, the fields are the declared ones, the data unmeasured
    assert status == 200
    assert body["model"]["version"] == "default-2" and body["model"]["source"] == "default"
    assert [f["name"] for f in body["fields"]] == list(predictive_fields.NAMES)
    assert body["data_requirements"]["meets"] is None
    assert "not been measured" in body["data_requirements"]["message"]
    assert body["backtest"]["lift_over_classic"] and body["quality"]["band"] in model_card.BANDS
    # WHEN a rescore has taken the project's snapshot
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    status, body = api.get("/model")
    reqs = body["data_requirements"]
    # THEN the project's data is measured and found short, with a clear message
    assert reqs["meets"] is False
    assert reqs["measured"] == {
        "profiles": 30,
        "customers": 30,
        "repeat_customers": 10,
        "history_days": 62,
    }
    assert "does not have the data for a model of its own" in reqs["message"]
    assert "10 customers with 2 or more orders (needs 50)" in reqs["message"]


def test_the_card_needs_the_project_key(api, other_project):
    status, body = api.get("/model", key="sk_wrong")
    assert status == 401
    status, body = api.call("GET", f"/projects/{other_project['id']}/model")
    assert status == 403
