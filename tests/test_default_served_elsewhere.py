"""The packaged default served to a population it did not learn from (training.for_population).

- The money scale (PredictiveModel.money_scale): the default learned CDNOW's dollars of 1997; a
  shop with other prices or another currency is read at that scale and served in its own.
  Before it, the same customers with amounts x10 got a total predicted spend of 0.48 of the
  actual instead of 1.07, and another conversion blend (0.3 instead of 0.8).
- The purchase cycle: the retention models count in the population's own cycle. Before, every
  project on the default was counted in CDNOW's 27 days."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from chalicelib.predict import artifact
from chalicelib.predict.features import MIN_PRICED_PURCHASE_DAYS, History, median_order_value
from chalicelib.predict.scoring import score
from chalicelib.predict.training import for_population
from chalicelib.services import model_card

CUT = date(1997, 10, 1).toordinal()
AS_OF = date(1997, 9, 30)


def priced(behaviours: list[dict], factor: float) -> list[dict]:
    """The same purchases with every amount multiplied by `factor` (another currency)."""
    return [
        {"purchases": {d: [n, a * factor] for d, (n, a) in b["purchases"].items()}}
        for b in behaviours
    ]


def served(behaviours: list[dict]):
    """What a rescore serves these customers on the packaged default, and their scores (one
    profile with no behaviour at all last)."""
    model = for_population(
        artifact.default_model(), History.from_behaviours(behaviours), CUT, "these customers"
    )
    rows = score(behaviours + [{}], model, AS_OF, with_explanations=True)
    return model, rows


@pytest.fixture(scope="module")
def dollars_and_cents(cdnow):
    _, behaviours, _ = cdnow
    return served(behaviours), served(priced(behaviours, 10.0))


def test_the_packaged_default_records_the_order_value_it_learned_from():
    prior = artifact.default_model().prior
    # CDNOW's calibration period: half of its orders are worth under about $26
    assert 10 < prior["order_value"] < 50


def test_a_shop_in_another_currency_gets_the_same_conversion_and_its_own_spend(
    dollars_and_cents,
):
    """GIVEN the same customers with every amount x10 WHEN a rescore derives the served model
    THEN its money scale is 10, the conversion blend and every probability are those of the
    original, and predicted spend (the no-evidence prior's too) is 10 times as much."""
    (model_1, rows_1), (model_10, rows_10) = dollars_and_cents
    assert model_1.money_scale == 1.0  # the default learned from these very customers' money
    assert model_10.money_scale == 10.0
    assert model_10.blend_weight == model_1.blend_weight
    for key in ("conversion_potential", "churn_risk"):
        a = np.array([r.get(key) or 0.0 for r in rows_1])
        b = np.array([r.get(key) or 0.0 for r in rows_10])
        np.testing.assert_allclose(b, a, atol=0.11)  # rounded to one decimal as stored
    spend_1 = np.array([r["clv_predicted"] for r in rows_1])
    spend_10 = np.array([r["clv_predicted"] for r in rows_10])
    np.testing.assert_allclose(spend_10, 10 * spend_1, rtol=1e-3, atol=0.06)
    assert spend_10[-1] == pytest.approx(10 * spend_1[-1], rel=1e-3)  # the prior's spend
    assert model_10.metadata["trained_what"]["money scale"].startswith("10.0:")


def test_the_reasons_quote_the_shops_own_money(dollars_and_cents):
    """The scale changes what the model reads, never the amounts a reason quotes."""
    (_, rows_1), (_, rows_10) = dollars_and_cents
    quoted = [
        (a, b)
        for r1, r10 in zip(rows_1, rows_10)
        for a, b in zip(r1["explanations"]["clv"], r10["explanations"]["clv"])
        if a.startswith("spent ")
    ]
    assert quoted
    for a, b in quoted:
        assert float(b.split()[1]) == pytest.approx(10 * float(a.split()[1]), abs=10)


def test_the_scale_is_stored_with_the_model_and_names_its_version(dollars_and_cents):
    (model_1, _), (model_10, rows_10) = dollars_and_cents
    assert model_10.metadata["version"] != model_1.metadata["version"]
    blob, metadata = artifact.to_bytes(model_10)
    loaded = artifact.from_bytes(blob, metadata)
    assert loaded.money_scale == 10.0
    again = score([{}], loaded, AS_OF, with_explanations=False)[0]
    assert again["clv_predicted"] == rows_10[-1]["clv_predicted"]
    shown = model_card.card(metadata, "derived", None, None, 30, 365)["model"]
    assert shown["money_scale"] == 10.0  # the model card says it


def test_a_project_with_few_priced_orders_is_read_at_the_training_scale(cdnow):
    """GIVEN fewer priced purchase days than MIN_PRICED_PURCHASE_DAYS THEN no scale is read
    (1.0), whatever the currency."""
    _, behaviours, _ = cdnow
    few = priced(behaviours[:3], 10.0)
    history = History.from_behaviours(few)
    assert median_order_value((history, CUT)) is None
    model = for_population(artifact.default_model(), history, CUT, "x")
    assert (model.money_scale if model else 1.0) == 1.0


def test_a_model_the_project_trained_keeps_its_own_scale(cdnow):
    """A project's own pipelines learned its own money: no scale, whatever its prices."""
    _, behaviours, _ = cdnow
    history = History.from_behaviours(priced(behaviours, 10.0))
    derived = for_population(
        artifact.default_model(), history, CUT, "x", pipelines_trained_elsewhere=False
    )
    assert derived.money_scale == 1.0


def test_the_median_order_value_reads_orders_before_the_day_with_an_amount():
    """A purchase day's amount is split over its orders; free orders and later days are not
    read; fewer than MIN_PRICED_PURCHASE_DAYS priced days give none."""
    start = date(2026, 1, 1)
    n = MIN_PRICED_PURCHASE_DAYS
    days = {(start + timedelta(days=d)).isoformat(): [2, 20.0 * d] for d in range(1, n + 1)}
    cut = (start + timedelta(days=n + 5)).toordinal()
    days[(start + timedelta(days=n + 2)).isoformat()] = [1, 0.0]  # free: no price
    days[(start + timedelta(days=n + 9)).isoformat()] = [1, 10_000.0]  # after the cut
    history = History.from_behaviours([{"purchases": days}])
    values = [10.0 * d for d in range(1, n + 1)]
    assert median_order_value((history, cut)) == pytest.approx(float(np.median(values)))
    del days[(start + timedelta(days=1)).isoformat()]
    assert median_order_value((History.from_behaviours([{"purchases": days}]), cut)) is None


def weekly_shoppers(n: int = 120) -> list[dict]:
    """Customers who buy every 7 days for 10 weeks; half stopped 40 days before AS_OF."""
    out = []
    for i in range(n):
        last = AS_OF - timedelta(days=40 if i % 2 else 3 + i % 5)
        days = [last - timedelta(days=7 * k) for k in range(10)]
        out.append({"purchases": {d.isoformat(): [1, 20.0 + i % 7] for d in days}})
    return out


def test_a_weekly_shop_is_counted_in_its_own_cycle():
    """GIVEN a shop whose customers buy weekly WHEN a rescore derives the served default THEN
    its retention models count in 7-day cycles: a customer of 10 weekly orders who stopped 40
    days ago (5.7 cycles) is Sleeping, not Loyal as in CDNOW's 27-day cycle, and churn risk
    reads that too."""
    behaviours = weekly_shoppers()
    history = History.from_behaviours(behaviours)
    default = artifact.default_model()
    model = for_population(default, history, CUT, "these customers")
    assert model.metadata["retention"]["cycle_days"] == 7.0
    assert "project's purchase cycle" in model.metadata["retention"]["fitted_on"]
    stopped, active = score(behaviours[1:3], model, AS_OF, with_explanations=False)
    assert stopped["lifecycle_stage"] == "Sleeping" and active["lifecycle_stage"] == "Loyal"
    as_cdnow = score(behaviours[1:2], default, AS_OF, with_explanations=False)[0]
    assert as_cdnow["lifecycle_stage"] == "Loyal"  # what the default served before
    # the churn model reads the cycles since the last order: more of them, more risk
    in_27 = {**model.metadata["retention"], "cycle_days": 27.0}
    old_cycle = replace(model, metadata={**model.metadata, "retention": in_27})
    assert stopped["churn_risk"] > score(behaviours[1:2], old_cycle, AS_OF)[0]["churn_risk"]
    # the cycle is part of the served model: stored with it, and in its version's name
    blob, metadata = artifact.to_bytes(model)
    assert artifact.from_bytes(blob, metadata).metadata["retention"]["cycle_days"] == 7.0


def test_a_tiny_or_huge_currency_unit_keeps_a_positive_finite_scale(cdnow):
    """Rounding the scale must never make it 0 (a division) nor lose a small one's digits."""
    _, behaviours, _ = cdnow
    for factor in (1e-5, 1e9):
        history = History.from_behaviours(priced(behaviours, factor))
        scale = for_population(artifact.default_model(), history, CUT, "x").money_scale
        assert scale == pytest.approx(factor, rel=1e-3)


def test_a_project_back_at_the_training_scale_loses_the_scale_and_its_note(
    dollars_and_cents, cdnow
):
    """GIVEN a served model derived at x10 WHEN the project's prices come back to the
    training's THEN the next rescore serves scale 1, and trained_what no longer names one."""
    _, (model_10, _) = dollars_and_cents
    _, _, history = cdnow
    again = for_population(model_10, history, CUT, "x")
    assert again.money_scale == 1.0
    assert "money scale" not in again.metadata["trained_what"]


def test_a_small_project_keeps_the_defaults_cycle_and_money_at_rescore():
    """GIVEN a shop with fewer than MIN_CYCLE_GAPS gaps and MIN_PRICED_PURCHASE_DAYS priced
    days WHEN a rescore derives its model THEN the default's cycle and scale stay: a median of a
    few orders would move with each new one, and a new version rewrites every profile."""
    from chalicelib.predict.retention_fit import MIN_CYCLE_GAPS

    behaviours = weekly_shoppers(4)  # 36 gaps, 40 priced days, in dollars x 3
    behaviours = priced(behaviours, 3.0)
    assert 36 < MIN_CYCLE_GAPS and 40 < MIN_PRICED_PURCHASE_DAYS
    model = for_population(artifact.default_model(), History.from_behaviours(behaviours), CUT, "")
    assert model.money_scale == 1.0
    assert model.metadata["retention"]["cycle_days"] == 27.0


def test_customer_types_read_the_shops_own_money(dollars_and_cents):
    """GIVEN the same customers priced x10 WHEN scored on the served default THEN they get the
    same customer types: the Believer's CLV bar (a quantile of the training's CLVs, in its
    money) is read at the shop's scale. Before, x10 made 241 Believers of the 233 at x1, and
    x0.1 made 8."""
    (_, rows_1), (_, rows_10) = dollars_and_cents
    assert [r.get("customer_type") for r in rows_10] == [r.get("customer_type") for r in rows_1]
    assert sum(r.get("customer_type") == "Believer" for r in rows_1) > 0
