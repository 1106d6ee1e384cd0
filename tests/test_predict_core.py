"""Features, BG/NBD, the model and its artifact: the pure predictive core."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import CDNOW_CAL_END
from sklearn.preprocessing import StandardScaler

from chalicelib import synthetic
from chalicelib.behaviour import apply_events, parse_event
from chalicelib.predict import artifact, bgnbd
from chalicelib.predict.features import F, History, matrix, window_outcomes
from chalicelib.predict.model import Dataset, InsufficientData, fit
from chalicelib.predict.scoring import score

CAL_END = CDNOW_CAL_END


@pytest.fixture(scope="module")
def visitors():
    vs = synthetic.generate(
        600, seed=3, end=synthetic.datetime(2026, 6, 1, tzinfo=synthetic.timezone.utc)
    )
    return vs, [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in vs]


def test_features_never_read_days_after_the_cut(cdnow):
    _, behaviours, history = cdnow
    cut = date(1997, 6, 1).toordinal()
    before = matrix(history, cut)
    future = [
        {
            "purchases": {**b["purchases"], "1997-08-01": [5, 500.0]},
            "activity": {"1997-07-01": [3, 9, 9, 2, 1]},
        }
        for b in behaviours
    ]
    after = matrix(History.from_behaviours(future), cut)
    assert np.array_equal(np.nan_to_num(before, nan=-7), np.nan_to_num(after, nan=-7))


def test_features_of_one_profile():
    b = {
        "purchases": {"2026-01-01": [1, 10.0], "2026-03-01": [2, 30.0]},
        "activity": {"2026-03-01": [1, 4, 2, 1, 1], "2026-02-20": [1, 2, 1, 0, 0]},
    }
    X = matrix(History.from_behaviours([b]), date(2026, 3, 11).toordinal())[0]
    assert X[F["orders"]] == 3 and X[F["spend"]] == 40 and X[F["purchase_days"]] == 2
    assert X[F["days_since_last_order"]] == 10 and X[F["days_since_first_order"]] == 69
    assert X[F["sessions_30d"]] == 2 and X[F["page_views"]] == 6
    assert X[F["discount_share"]] == pytest.approx(1 / 3)
    bought, spend = window_outcomes(
        History.from_behaviours([b]), date(2026, 2, 1).toordinal(), date(2026, 3, 2).toordinal()
    )
    assert bought[0] and spend[0] == 30


def test_bgnbd_recovers_the_published_cdnow_parameters(cdnow):
    _, _, history = cdnow
    customer, x, t_x, T = bgnbd.summary(history, CAL_END.toordinal())
    fitted = bgnbd.fit(x[customer], t_x[customer], T[customer])
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert fitted.r == pytest.approx(0.243, rel=0.01)
    assert fitted.alpha == pytest.approx(4.414, rel=0.01)
    assert fitted.a == pytest.approx(0.793, rel=0.02)
    assert fitted.b == pytest.approx(2.426, rel=0.02)


@pytest.fixture(scope="module")
def trained(cdnow, visitors):
    _, _, history = cdnow
    _, web = visitors
    return fit(
        [
            Dataset(history, CAL_END.toordinal()),
            Dataset(History.from_behaviours(web), date(2026, 6, 2).toordinal()),
        ],
        30,
        365,
    )


def test_longer_horizons_give_higher_probabilities_and_spend(trained, cdnow):
    _, _, history = cdnow
    short = trained.predict(history, CAL_END.toordinal(), 30, 30)
    long = trained.predict(history, CAL_END.toordinal(), 273, 273)
    assert np.all(long["conversion"] >= short["conversion"] - 1e-9)
    assert np.all(long["clv_predicted"] >= short["clv_predicted"] - 1e-9)
    assert 0 <= short["conversion"].min() and long["conversion"].max() <= 1


def test_conversion_is_calibrated_on_the_training_window(trained, cdnow):
    """Of the profiles scored p on the last labelled window, about p bought."""
    _, _, history = cdnow
    t0 = CAL_END.toordinal() - 30
    p = trained.predict(history, t0, 30, 30)["conversion"]
    bought, _ = window_outcomes(history, t0, t0 + 30)
    assert p.mean() == pytest.approx(bought.mean(), abs=0.03)


def test_too_little_data_is_a_clear_status():
    tiny = History.from_behaviours([{"purchases": {"2026-01-01": [1, 5.0]}}] * 5)
    with pytest.raises(InsufficientData):
        fit([Dataset(tiny, date(2026, 3, 1).toordinal())])


def test_artifact_round_trip_keeps_predictions(trained, cdnow, tmp_path):
    _, behaviours, _ = cdnow
    artifact.save(trained, tmp_path, "m")
    loaded = artifact.load(tmp_path, "m")
    a = score(behaviours[:300], trained, CAL_END - timedelta(days=1))
    b = score(behaviours[:300], loaded, CAL_END - timedelta(days=1))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "scored_at"} for r in rows]  # noqa
    assert strip(a) == strip(b)
    assert loaded.metadata["libraries"]["scikit-learn"]


def test_a_corrupt_or_tampered_artifact_is_refused(trained):
    blob, metadata = artifact.to_bytes(trained)
    with pytest.raises(artifact.ArtifactError, match="checksum"):
        artifact.from_bytes(blob[:-10] + b"0" * 10, metadata)
    with pytest.raises(artifact.ArtifactError):
        artifact.from_bytes(
            b"not a zip",
            {**metadata, "sha256": __import__("hashlib").sha256(b"not a zip").hexdigest()},
        )


class Sneaky(StandardScaler):
    """A type nobody vetted: loading it could run its code."""


def test_an_artifact_with_untrusted_types_is_refused(trained):
    import hashlib

    import skops.io as sio

    blob = sio.dumps({"conversion": trained.conversion, "clv": trained.clv, "payload": Sneaky()})
    _, metadata = artifact.to_bytes(trained)
    with pytest.raises(artifact.ArtifactError, match="untrusted"):
        artifact.from_bytes(blob, {**metadata, "sha256": hashlib.sha256(blob).hexdigest()})


def test_the_packaged_default_model_loads_with_its_metadata():
    model = artifact.default_model()
    md = model.metadata
    assert md["version"] == "default-2"
    assert "calibration period" in md["training_data"]["cdnow"]
    assert md["libraries"]["scikit-learn"] and md["backtest"]["cdnow"]["conversion_auc"] > 0.6
    assert artifact.default_model() is model  # loaded once per process


def test_scored_fields_and_explanations(visitors):
    _, web = visitors
    rows = score(web[:200], artifact.default_model(), date(2026, 6, 1))
    for row in rows:
        assert 0 <= row["conversion_potential"] <= 100
        assert row["clv"] == pytest.approx(row["clv_past"] + row["clv_predicted"], abs=0.02)
        assert set(row["explanations"]) == {
            "conversion_potential",
            "clv",
            "customer_type",
            "persuasion_type",
            "churn_risk",
            "next_order_at",
        }
    assert any(r["explanations"]["conversion_potential"] for r in rows)
    assert {r.get("customer_type") for r in rows} >= {"Explorer", "Single-minded"}


def test_bgnbd_counts_each_distinct_customer_summary_once_with_the_same_likelihood(cdnow):
    """The fit sums the likelihood over distinct (x, t_x, T) with their counts: the same sum as
    over every customer, so the same estimate, at a fraction of the cost on large projects."""
    _, _, history = cdnow
    customer, x, t_x, T = bgnbd.summary(history, CAL_END.toordinal())
    x, t_x, T = x[customer], t_x[customer], T[customer]
    triples, count = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    assert len(triples) < len(x)  # CDNOW's 2,357 customers share summaries
    for log_params in (np.zeros(4), np.log([0.243, 4.414, 0.793, 2.426])):
        every = bgnbd._negative_log_likelihood(log_params, x, t_x, T)
        distinct = bgnbd._negative_log_likelihood(log_params, *triples.T, count.astype(float))
        assert distinct == pytest.approx(every, rel=1e-12)
