"""bench/ceiling_cdnow.py fits learners on the holdout's own labels as a ceiling for any model
trained before it: it is only a ceiling if every row is scored by a model that never saw it."""

import numpy as np
import pytest

from tests.script_loader import load_script

ceiling = load_script("bench/ceiling_cdnow.py", "ceiling_cdnow")


def test_out_of_fold_scores_find_no_signal_in_noise():
    # GIVEN labels that are pure noise, with as many features as the product reads
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 25))
    y = rng.random(400) < 0.3
    learner = ceiling.classifiers()["logistic (the product's recipe)"]
    # WHEN each row is scored out of fold, and (for contrast) in sample
    held_out = ceiling.out_of_fold(learner, X, y, seed=0)
    in_sample = learner.fit(X, y).predict_proba(X)[:, 1]
    # THEN the out-of-fold ranking is chance, while scoring the rows a model learned reads noise
    assert abs(ceiling.metrics.auc(y, held_out) - 0.5) < 0.08
    assert ceiling.metrics.auc(y, in_sample) > 0.62


def test_the_ceiling_finds_signal_where_there_is_some():
    # GIVEN spend that grows with the first feature, and purchases that follow it
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 5))
    spend = rng.poisson(np.exp(1 + X[:, 0])).astype(float)
    bought = spend > np.median(spend)
    # WHEN the ceiling is measured over two fold draws
    conversion = ceiling.ceiling(
        X, bought, ceiling.classifiers(), ceiling.conversion_figures, repeats=2
    )
    spent = ceiling.ceiling(X, spend, ceiling.regressors(), ceiling.spend_figures, repeats=2)
    # THEN every learner ranks well, once per draw, and the product's Poisson recipe adds up
    for figures in conversion.values():
        assert len(figures["AUC"]) == 2 and min(figures["AUC"]) > 0.8
    poisson = spent["Poisson (the product's recipe)"]
    assert min(poisson["Gini"]) > 0.5
    assert all(abs(r - 1) < 0.1 for r in poisson["predicted / actual"])


def test_more_features_read_each_profiles_own_days_before_the_cut():
    # GIVEN one profile with three purchase days (the last after the cut) and one with none
    from chalicelib.predict.features import History, day_number

    history = History.from_behaviours(
        [
            {
                "purchases": {
                    "2026-01-10": [1, 30.0],
                    "2026-01-03": [1, 10.0],
                    "2026-03-01": [1, 99.0],
                }
            },
            {},
        ]
    )
    # WHEN the extra columns are read as of 2026-02-01
    extra = np.expm1(ceiling.more_features(history, day_number("2026-02-01")))
    # THEN the first day is the earliest (not the first listed), nothing after the cut counts
    first, largest, spread, mean_log, gap = extra[0]
    assert (first, largest, gap) == pytest.approx((10.0, 30.0, 7.0))
    assert spread == pytest.approx(10.0) and mean_log == pytest.approx(
        np.log1p([10.0, 30.0]).mean()
    )
    assert extra[1] == pytest.approx(np.zeros(5))
