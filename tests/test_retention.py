"""Retention fields (predict/retention.py): lifecycle stages by their stated rules, churn risk for
customers only and consistent across horizons, the next order for repeat customers after the
as-of date, the project's purchase cycle, fitting on a validation split in time, and rules that
name the new fields."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import CDNOW_CAL_END

from chalicelib.predict import artifact, retention, retention_fit
from chalicelib.predict.features import History, matrix
from chalicelib.predict.scoring import cut_of, score
from chalicelib.rules import Catalogue, compile_rules, parse_rules, ranks

AS_OF = date(2026, 6, 1)


def purchases(*days_ago, amount=20.0):
    """A behaviour document with one order on each day so many days before AS_OF."""
    return {
        "purchases": {
            date.fromordinal(AS_OF.toordinal() - d).isoformat(): [1, amount] for d in days_ago
        }
    }


@pytest.mark.parametrize(
    "purchase_days, recency, expected",
    [
        (1, 10, "New"),
        (1, 60, "New"),  # exactly 2 cycles of 30 days: still active
        (1, 61, "One-time"),
        (2, 30, "Promising"),
        (3, 60, "Promising"),
        (4, 5, "Loyal"),
        (9, 60, "Loyal"),
        (2, 61, "At risk"),
        (9, 120, "At risk"),  # exactly 4 cycles
        (1, 121, "Sleeping"),
        (9, 240, "Sleeping"),  # exactly 8 cycles
        (9, 241, "Lost"),
        (1, 1000, "Lost"),
    ],
)
def test_each_stage_follows_its_rule(purchase_days, recency, expected):
    # GIVEN a project whose purchase cycle is 30 days and a customer with these purchase days
    # WHEN the stage is decided THEN it is the one the stage rules (STAGE_RULES) give
    index = retention.stages(np.array([purchase_days]), np.array([float(recency)]), 30.0)
    assert retention.STAGES[int(index[0])] == expected


def test_every_stage_has_a_stated_rule():
    # GIVEN the declared stages WHEN compared with the documented rules THEN each has one
    assert sorted(name for name, _ in retention.STAGE_RULES) == sorted(retention.STAGES)


def test_only_customers_get_churn_risk_and_stage_and_only_repeat_customers_a_next_order():
    # GIVEN a visitor, a one-time customer and a repeat customer
    behaviours = [
        {"activity": {"2026-05-01": [1, 3, 1, 0, 0]}},
        purchases(20),
        purchases(200, 140, 80, 20),
    ]
    # WHEN they are scored
    visitor, once, repeat = score(behaviours, artifact.default_model(), AS_OF)
    # THEN the visitor has none of the retention fields, the one-time customer a churn risk and
    # a stage, and the repeat customer also a next order after the as-of date
    fields = ("churn_risk", "lifecycle_stage", "next_order_at", "next_order_gap_days")
    assert not any(f in visitor for f in fields)
    assert 0 <= once["churn_risk"] <= 100 and once["lifecycle_stage"] == "New"
    assert "next_order_at" not in once and "next_order_gap_days" not in once
    assert date.fromisoformat(repeat["next_order_at"]) > AS_OF
    last_order = date.fromordinal(AS_OF.toordinal() - 20)
    gap = (date.fromisoformat(repeat["next_order_at"]) - last_order).days
    assert repeat["next_order_gap_days"] == gap
    assert repeat["explanations"]["next_order_at"] == [
        "orders every 60 days on average (4 purchase days)"
    ]
    assert once["explanations"]["churn_risk"] and visitor["explanations"]["churn_risk"] == []


def test_churn_risk_rises_with_the_time_since_the_last_order():
    # GIVEN the same repeat customer as of later and later dates (no new order)
    behaviours = [purchases(d + 100, d + 50, d) for d in (5, 30, 60, 120, 240)]
    # WHEN scored THEN the longer since the last order, the higher the churn risk
    risks = [row["churn_risk"] for row in score(behaviours, artifact.default_model(), AS_OF)]
    assert risks == sorted(risks) and risks[0] < risks[-1]


def test_a_longer_horizon_never_gives_a_higher_churn_risk():
    # GIVEN customers of every kind
    behaviours = [purchases(10), purchases(90, 40), purchases(400, 300, 200, 100, 50)]
    # WHEN scored with 30, 90 and 365-day churn horizons
    model = artifact.default_model()
    by_horizon = [
        [r["churn_risk"] for r in score(behaviours, model, AS_OF, churn_horizon=h)]
        for h in (30, 90, 365)
    ]
    # THEN P(no purchase in N days) does not grow with N, and the horizon is stated
    for short, middle, long in zip(*by_horizon):
        assert short >= middle >= long
    row = score(behaviours, model, AS_OF, churn_horizon=30)[0]
    assert row["churn_horizon_days"] == 30


def test_the_project_cycle_is_the_median_gap_between_a_customers_purchase_days():
    # GIVEN gaps of 10 and 30 days for one customer and 20 for another (one-timers add none)
    behaviours = [purchases(60, 50, 20), purchases(40, 20), purchases(5)]
    history = History.from_behaviours(behaviours)
    # WHEN the cycle is measured THEN it is the median of 10, 30 and 20
    assert retention_fit.project_cycle(history, cut_of(AS_OF)) == 20.0
    # and a project with no repeat purchase gets the stated default
    lone = History.from_behaviours([purchases(5)])
    assert retention_fit.project_cycle(lone, cut_of(AS_OF)) == retention_fit.DEFAULT_CYCLE_DAYS


def test_fitting_chooses_on_the_calibration_period_only(cdnow):
    # GIVEN the CDNOW customers' purchases before the calibration end (the first 800)
    _, behaviours, _ = cdnow
    history = History.from_behaviours(behaviours[:800])
    # WHEN the retention parameters are fitted as of the last calibration day
    params = retention_fit.fit(history, CDNOW_CAL_END.toordinal())
    # THEN they state their label window, cycle and choices made on the validation split, and
    # a churn model and a next-order model of the declared shapes
    assert params["label_days"] == 90 and params["cycle_days"] > 0
    assert params["choices"]["churn"]["C"] in retention_fit.CHURN_C
    assert params["choices"]["next_order"]["alpha"] in retention_fit.NEXT_ALPHA
    assert len(params["churn"]["coef"]) == len(retention.CHURN_FEATURES)
    assert len(params["next_order"]["coef"]) == len(retention.NEXT_FEATURES)
    # and scoring with them gives probabilities
    c = retention.Customers(matrix(history, CDNOW_CAL_END.toordinal()))
    bg = artifact.default_model().bg
    p = retention.churn_probability(params, c, bg, 90, with_inputs=False)[0]
    assert np.all((p >= 0) & (p <= 1)) and 0.5 < p.mean() < 1


def test_rules_name_the_new_fields_with_their_types_operators():
    # GIVEN scored customers
    behaviours = [purchases(200, 140, 80, 20), purchases(300, 290), purchases(3)]
    rows = score(behaviours, artifact.default_model(), AS_OF, with_explanations=False)
    documents = [{"profile_id": f"p{i}", "predictive": r} for i, r in enumerate(rows)]
    catalogue = Catalogue()
    # WHEN rules name the date, the enum and the rank of churn risk
    soon = parse_rules(
        {
            "rules": [
                {
                    "field": "predictive.next_order_at",
                    "operator": "before",
                    "value": rows[0]["next_order_at"] + "T23:59:59Z",
                }
            ]
        },
        catalogue,
    )
    lost = parse_rules(
        {"rules": [{"field": "predictive.lifecycle_stage", "operator": "eq", "value": "Lost"}]},
        catalogue,
    )
    risky = parse_rules(
        {"rules": [{"field": "predictive.churn_risk", "operator": "top_percent", "value": 30}]},
        catalogue,
    )
    risky = ranks.resolve(risky, lambda paths: ranks.numbers_of(documents, paths))
    # THEN each matches the profiles its value says
    assert [compile_rules(soon)(d) for d in documents] == [
        bool(r.get("next_order_at")) and r["next_order_at"] <= rows[0]["next_order_at"]
        for r in rows
    ]
    assert "next_order_at" not in rows[2]  # one purchase: no date, so the rule cannot match it
    assert [compile_rules(lost)(d) for d in documents] == [
        r["lifecycle_stage"] == "Lost" for r in rows
    ]
    highest = max(r["churn_risk"] for r in rows)
    assert [compile_rules(risky)(d) for d in documents] == [
        r["churn_risk"] == highest for r in rows
    ]


def test_a_trained_model_measures_stages_in_its_own_projects_cycle():
    from dataclasses import replace

    from chalicelib.predict.training import finish

    # GIVEN a project whose customers buy every 10 days (too little history to fit the models)
    behaviours = [purchases(45, 35, 25) for _ in range(5)] + [purchases(100, 90, 80)]
    default = artifact.default_model()
    # WHEN training finishes a model on it (what scoring needs of the population)
    model = finish(replace(default, metadata=dict(default.metadata)), behaviours, AS_OF)
    # THEN its retention parameters carry the project's cycle, and its stages use it: 25 days
    # since the last order is 2.5 of its cycles (At risk), not 1 of CDNOW's 27-day cycle
    assert model.metadata["retention"]["cycle_days"] == 10.0
    assert retention_fit.default_params()["cycle_days"] == 27.0
    row = score(behaviours[:1], model, AS_OF, with_explanations=False)[0]
    assert row["lifecycle_stage"] == "At risk"
    assert score(behaviours[:1], default, AS_OF)[0]["lifecycle_stage"] == "Promising"


def test_a_churn_reason_never_reads_against_the_risk_it_explains(cdnow):
    # GIVEN a customer whose risk is below the average customer's though the time since the
    # last order is 24 of their own gaps (the model's correlated inputs give that a negative share)
    churn = retention_fit.default_params()["churn"]
    typical = 100 / (1 + np.exp(-churn["intercept"]))  # the average customer's risk
    row = score([purchases(28, 27, 26, 25, 24)], artifact.default_model(), AS_OF)[0]
    # WHEN explained THEN the reasons do not claim a long wait lowers the risk
    assert row["churn_risk"] < typical
    assert not any("their own usual time" in r for r in row["explanations"]["churn_risk"])
    # and over the CDNOW customers, a reason that counts the time since the last order in
    # cycles reads above the training rows' average for a risk above the average, below it
    # for one below (the average customer: the standardisation's mean)
    _, behaviours, _ = cdnow
    mean = churn["mean"]
    average = {"the shop's": np.expm1(mean[4]), "their own": np.expm1(mean[5])}
    rows = score(behaviours, artifact.default_model(), CDNOW_CAL_END - timedelta(days=1))
    checked = 0
    for r in rows:
        for reason in r["explanations"]["churn_risk"]:
            for whose, level in average.items():
                if f"x {whose} usual time" in reason:
                    multiple = float(reason.split("x")[0])
                    if abs(r["churn_risk"] - typical) < 1:
                        continue  # too close to the average to say which way it moves
                    above = r["churn_risk"] > typical
                    checked += 1
                    assert (
                        (multiple >= round(level, 1))
                        if above
                        else (multiple <= round(level, 1) + 0.1)
                    ), (r["churn_risk"], reason)
    assert checked > 100


def test_training_fits_churn_at_the_configured_horizon(cdnow, monkeypatch):
    """GIVEN CHURN_HORIZON_DAYS=60 (configurable like the conversion and CLV horizons)
    WHEN training finishes a model on the CDNOW customers' history
    THEN its churn model is fitted and served for 60 days, not the default 90."""
    from dataclasses import replace

    from chalicelib.infra import config
    from chalicelib.predict.training import finish

    monkeypatch.setenv("CHURN_HORIZON_DAYS", "60")
    monkeypatch.setenv("CURSOR_SECRET", "x" * 16)
    config.settings.cache_clear()
    try:
        assert config.settings().churn_horizon_days == 60
    finally:
        config.settings.cache_clear()
    _, behaviours, _ = cdnow
    default = artifact.default_model()
    model = finish(
        replace(default, metadata=dict(default.metadata)), behaviours[:800], CDNOW_CAL_END, 60
    )
    assert model.metadata["retention"]["horizon_days"] == 60
    row = score(behaviours[:1], model, CDNOW_CAL_END, with_explanations=False)[0]
    assert row["churn_horizon_days"] == 60


def test_the_packaged_default_serves_the_retention_fitted_on_cdnow_calibration():
    """GIVEN the packaged default (its populations end on different dates) THEN it carries no
    retention parameters of its own and scores with artifacts/retention_default.json. A default
    trained with the pooled populations' as of 2025 once did: CDNOW customers' churn risk
    jumped (a customer with 8 purchase days, the last 66 days ago: 35 -> 80)."""
    assert "retention" not in artifact.default_model().metadata
