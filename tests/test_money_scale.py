"""The money scale (PredictiveModel.money_scale): the packaged default learned CDNOW's dollars of
1997; a shop with other prices or another currency is read at that scale and served in its own.
Before it, the same customers with amounts x10 got a total predicted spend of 0.48 of the
actual instead of 1.07, and another conversion blend (0.3 instead of 0.8)."""

from datetime import date

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
    read."""
    days = {f"2026-01-{d:02d}": [2, 20.0 * d] for d in range(1, 1 + MIN_PRICED_PURCHASE_DAYS)}
    days["2026-01-20"] = [1, 0.0]  # free: no price
    days["2026-02-01"] = [1, 10_000.0]  # after the cut
    history = History.from_behaviours([{"purchases": days}])
    cut = date(2026, 1, 31).toordinal()
    values = sorted(10.0 * d for d in range(1, 1 + MIN_PRICED_PURCHASE_DAYS))
    assert median_order_value((history, cut)) == pytest.approx(float(np.median(values)))
    del days["2026-01-01"]
    assert median_order_value((History.from_behaviours([{"purchases": days}]), cut)) is None


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
