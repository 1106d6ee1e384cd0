"""The conversion blend (predict/blend.py): the pipeline's share of a customer's probability
against the population's own BG/NBD, chosen on time folds before the data's end."""

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from chalicelib import synthetic
from chalicelib.behaviour import apply_events, parse_event
from chalicelib.predict import artifact, bgnbd, blend
from chalicelib.predict.features import History
from chalicelib.predict.model import Dataset, fit
from chalicelib.predict.training import for_population

CUT = date(1997, 10, 1).toordinal()


@pytest.fixture(scope="module")
def visitors():
    vs = synthetic.generate(
        300, seed=3, end=synthetic.datetime(2026, 6, 1, tzinfo=synthetic.timezone.utc)
    )
    return vs, [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in vs]


@pytest.fixture(scope="module")
def trained(cdnow):
    _, _, history = cdnow
    return fit([Dataset(history, CUT)], 30, 365)


def test_a_trained_model_records_a_weight_chosen_on_windows_before_its_data_ends(trained):
    chosen = trained.conversion_blend
    assert 0.0 <= chosen["weight"] <= 1.0 and chosen["weight"] in blend.WEIGHTS
    assert "3 windows of 30 days" in chosen["chosen_on"]
    # the weight chosen is the one with the lowest validation log loss
    losses = {float(w): v for w, v in chosen["log_loss"].items()}
    assert losses[chosen["weight"]] == min(losses.values())


def test_served_conversion_mixes_pipeline_and_bgnbd_for_customers_only(trained, cdnow, visitors):
    """GIVEN customers and web visitors WHEN the weight is 1, 0.5 and 0 THEN customers get the
    pipeline, the average, BG/NBD's own P(purchase); visitors always get the pipeline's."""
    _, customers, _ = cdnow
    _, web = visitors
    history = History.from_behaviours(customers[:300] + web[:300])
    cut = date(2026, 6, 2).toordinal()  # after every CDNOW purchase and every generated visit
    out = {
        w: replace(trained, conversion_blend={"weight": w}).predict(history, cut, 30, 30)
        for w in (1.0, 0.5, 0.0)
    }
    customer, x, t_x, T = bgnbd.summary(history, cut)
    assert customer.sum() >= 300 and (~customer).sum() > 0
    p_bg = trained.bg.p_purchase(30 / 7, x, t_x, T)
    pipeline, half, bg_only = (out[w]["conversion"] for w in (1.0, 0.5, 0.0))
    np.testing.assert_allclose(bg_only[customer], p_bg[customer], rtol=1e-12)
    np.testing.assert_allclose(half[customer], (pipeline + p_bg)[customer] / 2, rtol=1e-12)
    np.testing.assert_array_equal(half[~customer], pipeline[~customer])


def test_the_weight_prefers_the_source_that_predicts_better(trained, cdnow):
    """GIVEN a pipeline that says the same for everyone THEN BG/NBD gets most of the weight."""
    _, _, history = cdnow
    flat = replace(trained, conversion=_constant_pipeline(trained.conversion))
    assert blend.choose(flat, [Dataset(history, CUT)])["weight"] <= 0.2


def _constant_pipeline(pipeline):
    import copy

    out = copy.deepcopy(pipeline)
    out.named_steps["model"].coef_[:] = 0.0
    out.named_steps["model"].intercept_[:] = -2.5
    return out


def test_the_choice_never_reads_after_the_cut(trained, cdnow):
    """Purchases after the cut change nothing of the weight or its figures."""
    _, behaviours, history = cdnow
    later = [
        {**b, "purchases": {**b.get("purchases", {}), "1998-01-05": [3, 90.0]}} for b in behaviours
    ]
    before = blend.choose(trained, [Dataset(history, CUT)])
    after = blend.choose(trained, [Dataset(History.from_behaviours(later), CUT)])
    assert before == after


def test_too_few_buyers_keep_the_pipeline_and_say_so(trained, cdnow):
    _, behaviours, _ = cdnow
    few = History.from_behaviours(behaviours[:60])
    chosen = blend.choose(trained, [Dataset(few, CUT)])
    assert chosen["weight"] == 1.0 and "need 30" in chosen["chosen_on"]


def test_generated_visitors_judge_nothing(trained, visitors):
    _, web = visitors
    chosen = blend.choose(
        trained, [Dataset(History.from_behaviours(web), date(2026, 6, 2).toordinal(), "", True)]
    )
    assert chosen["weight"] == 1.0 and "no validation window" in chosen["chosen_on"]


def test_a_population_gets_its_own_weight_and_the_version_names_it(cdnow):
    """GIVEN the packaged default WHEN a rescore derives the model of a population THEN the
    weight is chosen on that population, the same data gives the same version, and the
    artifact keeps the weight."""
    _, _, history = cdnow
    default = artifact.default_model()
    derived = for_population(default, history, CUT, "the CDNOW calibration")
    again = for_population(default, history, CUT, "the CDNOW calibration")
    assert derived.conversion_blend["chosen_on"].startswith("log loss over")
    assert derived.metadata["version"] == again.metadata["version"]
    assert derived.metadata["version"].startswith(default.metadata["version"] + "+bg")
    blob, metadata = artifact.to_bytes(derived)
    loaded = artifact.from_bytes(blob, metadata)
    assert loaded.blend_weight == derived.blend_weight
    a = derived.predict(history, CUT)["conversion"]
    b = loaded.predict(history, CUT)["conversion"]
    np.testing.assert_array_equal(a, b)


def test_a_model_the_project_trained_keeps_the_weight_its_training_chose(trained, cdnow):
    """GIVEN a model trained on the population itself WHEN a rescore derives its model THEN the
    BG/NBD is refitted but the weight stays: judged on its own windows, the pipeline would be
    judged on the labels it learned from (it then looks better than it is)."""
    _, _, history = cdnow
    derived = for_population(trained, history, CUT, "x", pipelines_trained_elsewhere=False)
    assert derived.conversion_blend == trained.conversion_blend
    in_sample = blend.choose(trained, [Dataset(history, CUT)])
    assert in_sample["weight"] >= trained.blend_weight  # what re-choosing would have done


def test_a_small_project_on_the_default_gets_its_own_weight_with_the_default_bgnbd(cdnow):
    """GIVEN a project with too few repeat customers for a BG/NBD of its own THEN the default's
    BG/NBD stays, and the weight is chosen on the project: too few buyers, the pipeline alone
    (not 40 % of CDNOW's BG/NBD, as the packaged default's own weight would give)."""
    from chalicelib.predict.training import fit_population_bgnbd

    _, behaviours, _ = cdnow
    few = History.from_behaviours(behaviours[:60])
    assert fit_population_bgnbd(few, CUT) is None
    default = artifact.default_model()
    assert default.blend_weight < 1.0
    derived = for_population(default, few, CUT, "x")
    assert derived.bg == default.bg and derived.blend_weight == 1.0
    assert derived.metadata["version"] != default.metadata["version"]
    assert derived.metadata["trained_what"]["BG/NBD"] == default.metadata["trained_what"]["BG/NBD"]
