"""A project served the packaged default is rescored again and again (training.for_population on
the model served until then): each rescore derives its levels (money scale, purchase cycle,
retention models) afresh from the default, and a level moves only when the population's moves
beyond features.STEADY_TOLERANCE, since each move renames the model and rewrites every profile."""

import copy
from datetime import date, timedelta

import numpy as np
import pytest

from chalicelib.predict import artifact, retention_fit
from chalicelib.predict.features import STEADY_TOLERANCE, History, steady
from chalicelib.predict.training import for_population
from tests.test_default_served_elsewhere import CUT, priced, weekly_shoppers


def rescored(model, behaviours):
    """What the next rescore serves: the derived model, or `model` when nothing changed."""
    return for_population(model, History.from_behaviours(behaviours), CUT, "x") or model


def test_steady_keeps_the_previous_level_within_the_tolerance():
    assert steady(1.03, 1.0) == 1.0
    assert steady(1.0 + 2 * STEADY_TOLERANCE, 1.0) == 1.0 + 2 * STEADY_TOLERANCE
    assert steady(0.5, None) == 0.5


def test_a_new_retention_default_reaches_a_project_rescored_before(monkeypatch):
    """GIVEN a project rescored on the default WHEN a release ships other retention models
    (the same pipelines) and it is rescored again THEN it is served the new ones, under a new
    version name. Before, the copy derived at the first rescore was kept for ever."""
    shoppers = weekly_shoppers()
    before = rescored(artifact.default_model(), shoppers)
    shipped = copy.deepcopy(retention_fit.default_params())
    shipped["churn"]["intercept"] += 2.0
    monkeypatch.setattr(retention_fit, "default_params", lambda: shipped)
    after = rescored(before, shoppers)
    assert after.metadata["retention"]["churn"] == shipped["churn"]
    assert after.metadata["version"] != before.metadata["version"]


def test_a_shrunk_project_falls_back_to_the_defaults_cycle_as_to_its_money():
    """GIVEN a project of 120 weekly shoppers (a 7-day cycle, prices x3) rescored once WHEN it
    shrinks to 4 of them (36 gaps, 40 priced days: too few to read either) THEN its cycle and its
    scale both fall back to the default's, as for a new project of those 4. Before, the cycle
    stayed 7 days while the scale went back to 1."""
    big = rescored(artifact.default_model(), priced(weekly_shoppers(120), 3.0))
    assert big.metadata["retention"]["cycle_days"] == 7.0 and big.money_scale != 1.0
    small = priced(weekly_shoppers(4), 3.0)
    from_big = rescored(big, small)
    fresh = rescored(artifact.default_model(), small)
    assert (
        from_big.metadata["retention"]["cycle_days"] == retention_fit.default_params()["cycle_days"]
    )
    assert from_big.metadata["retention"] == fresh.metadata["retention"]
    assert from_big.money_scale == fresh.money_scale == 1.0


def one_time_buyers(n: int) -> list[dict]:
    """n customers of one order each at ordinary retail prices (lognormal around 40)."""
    prices = np.round(np.random.default_rng(0).lognormal(np.log(40), 0.6, n), 2)
    return [
        {"purchases": {(date(1997, 9, 1) - timedelta(days=int(i % 90))).isoformat(): [1, float(p)]}}
        for i, p in enumerate(prices)
    ]


def test_one_more_order_does_not_rename_the_model():
    """GIVEN 300 one-time buyers rescored on the default WHEN one more customer orders THEN the
    served model keeps its scale and its name (no profile is rewritten for it). Before, the
    median order moved by 0.1 %, the 4-digit scale with it (1.484 -> 1.485), and so the version."""
    first = rescored(artifact.default_model(), one_time_buyers(300))
    again = rescored(first, one_time_buyers(301))
    assert again.money_scale == first.money_scale
    assert again.metadata["version"] == first.metadata["version"]


def test_a_real_change_of_prices_still_moves_the_scale():
    """GIVEN the same shop rescored WHEN its prices double THEN the scale follows them."""
    first = rescored(artifact.default_model(), one_time_buyers(300))
    doubled = rescored(first, priced(one_time_buyers(300), 2.0))
    assert doubled.money_scale == pytest.approx(2 * first.money_scale, rel=1e-3)
    assert doubled.metadata["version"] != first.metadata["version"]
