"""A profile with no behaviour at all (created from attributes alone, e.g. a CRM import) gets the
population's prior through the scoring code, never a confident score."""

from dataclasses import replace
from datetime import date

import pytest

from chalicelib.predict import artifact
from chalicelib.predict.model import PRIOR_FALLBACK
from chalicelib.predict.scoring import NO_EVIDENCE, score

AS_OF = date(2026, 6, 1)
NO_BEHAVIOUR = [
    {},
    {"purchases": {}, "activity": {}, "persuasion": {}},
    {"purchases": None, "activity": None},
    {"activity": {"2026-06-20": [1, 3, 1, 0, 0]}},
]  # seen only after the as-of date
ONE_PAGE_VIEW = {"activity": {"2026-05-31": [1, 1, 0, 0, 0]}}


def test_a_profile_without_behaviour_gets_the_prior_not_a_confident_score():
    """GIVEN the packaged default model and profiles with no purchase and no visit before the
    as-of date WHEN scored THEN conversion potential and predicted CLV are the model's prior
    (its training rows' purchase rate and spend, carried to the horizons), below those of a
    visitor with one page view, and the reasons say there is no evidence."""
    model = artifact.default_model()
    assert model.prior and model.prior["rows"] > 0  # the default records what its prior is
    p, spend = model.prior_scores(30, 365)
    rows = score(
        NO_BEHAVIOUR + [ONE_PAGE_VIEW], model, AS_OF, conversion_horizon=30, clv_horizon=365
    )
    *empty, viewer = rows
    for row in empty:
        assert row["conversion_potential"] == pytest.approx(100 * p, abs=0.05)
        assert row["clv_predicted"] == pytest.approx(spend, abs=0.005)
        assert row["clv_past"] == 0 and "customer_type" not in row
        assert row["explanations"]["conversion_potential"] == [NO_EVIDENCE]
        assert row["explanations"]["clv"] == ["spent 0 so far", NO_EVIDENCE]
    assert empty[0]["conversion_potential"] <= viewer["conversion_potential"]
    assert empty[0]["conversion_potential"] < 20  # a prior, not a likely buyer (was 71.7)


def test_the_prior_follows_the_horizon_and_a_model_without_one_uses_the_fallback():
    """GIVEN a model WHEN asked for longer horizons THEN the prior grows (constant hazard), and
    GIVEN a model saved without a prior THEN the stated fallback is used."""
    model = artifact.default_model()
    p7, s7 = model.prior_scores(7, 30)
    p60, s60 = model.prior_scores(60, 365)
    assert 0 <= p7 < p60 < 1 and 0 <= s7 < s60
    bare = replace(model, prior=None)
    p, spend = bare.prior_scores(30, 365)
    assert p == pytest.approx(PRIOR_FALLBACK["conversion"]) and spend == 0
    row = score([{}], bare, AS_OF, conversion_horizon=30, clv_horizon=365)[0]
    assert row["conversion_potential"] == 1.0 and row["clv_predicted"] == 0
