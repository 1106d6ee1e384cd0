"""The fast scoring path gives what the profile-at-a-time code gave (tests/scoring_reference.py)."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import CDNOW_CAL_END
from scoring_reference import (
    _reference_bg_features,
    _reference_matrix,
    _reference_score,
    _reference_transform,
    _same_rows,
)

from chalicelib import synthetic
from chalicelib.behaviour import apply_events, parse_event
from chalicelib.predict import artifact, bgnbd
from chalicelib.predict.features import History, matrix
from chalicelib.predict.scoring import score


@pytest.fixture(scope="module")
def scoring_population(cdnow):
    """Generated visitors over a year, the CDNOW customers, and odd but valid documents."""
    vs = synthetic.generate(
        2500, seed=11, end=synthetic.datetime(2026, 6, 1, tzinfo=synthetic.timezone.utc), days=365
    )
    web = [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in vs]
    odd = [
        {},
        {"purchases": {}, "activity": {}, "persuasion": {}},
        {"purchases": None, "activity": None, "persuasion": None},
        {"activity": {"2026-05-30": [1, 2.5, 1, 0, 1]}},  # a float count
        {"purchases": {"2026-05-01": [2, 10], "2026-05-20T10:00:00Z": [1, 5.5]}},
        {"persuasion": {"Liking": [9, 6], "Unknown": [3, 3], "Scarcity": [2.0, 0]}},
        {
            "persuasion": {"Liking": [40, 30], "Authority": [40, 1]},
            "activity": {"2026-05-31": [3, 30, 12, 4, 9]},
        },
    ]
    return web + odd, cdnow[1]


@pytest.mark.parametrize(
    "horizons",
    [
        {},
        {"conversion_horizon": 60, "clv_horizon": 91},
        {"conversion_horizon": 7, "clv_horizon": 30},
    ],
)
def test_fast_scoring_equals_the_reference_code(scoring_population, horizons):
    web, customers = scoring_population
    model = artifact.default_model()
    cases = [(web, date(2026, 6, 1)), (customers, CDNOW_CAL_END - timedelta(days=1))]
    if not horizons:  # the model's own horizons: also as of dates inside the histories
        cases += [(web, date(2026, 3, 15)), (customers, date(1997, 6, 30))]
    for behaviours, as_of in cases:
        for explain in (False, True):
            want = _reference_score(behaviours, model, as_of, explain, **horizons)
            # a rescore page, an odd size, and the whole set at once (over 2,048 CDNOW
            # customers: BG/NBD computed once per distinct history)
            for size in (500, 37, len(behaviours)):
                got = []
                for start in range(0, len(behaviours), size):
                    got += score(
                        behaviours[start : start + size],
                        model,
                        as_of,
                        with_explanations=explain,
                        **horizons,
                    )
                _same_rows(got, want)


def test_fast_model_parts_equal_their_reference(scoring_population):
    from chalicelib.predict.bg_values import BGValues, bg_features
    from chalicelib.predict.features import transform

    web, customers = scoring_population
    model = artifact.default_model()
    for behaviours, cut in (
        (web, date(2026, 6, 2).toordinal()),
        (customers, CDNOW_CAL_END.toordinal()),
    ):
        general = History._from_behaviours_general(behaviours)
        history = History.from_behaviours(behaviours)
        for name in ("p_idx", "p_day", "p_orders", "p_amount", "a_idx", "a_day", "a_counts"):
            a, b = getattr(history, name), getattr(general, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
        for c in (cut, cut - 30, cut - 100):
            assert np.array_equal(matrix(history, c), _reference_matrix(history, c), equal_nan=True)
            for days in (30, 91):
                assert np.array_equal(
                    bg_features(history, c, days, model.bg),
                    _reference_bg_features(history, c, days, model.bg),
                    equal_nan=True,
                )
        for size in (5, len(behaviours)):  # with and without deduplicated (x, t_x, T)
            summary = [a[:size] for a in bgnbd.summary(history, cut)]
            values = BGValues(model.bg, *summary)
            with np.errstate(all="ignore"):
                for t in (30 / 7, 365 / 7):
                    assert np.array_equal(
                        values.customers(values.expected(t)),
                        model.bg.expected_purchases(t, *summary[1:])[summary[0]],
                        equal_nan=True,
                    )
    odd = np.array(
        [
            [
                np.nan,
                np.inf,
                -np.inf,
                -0.0,
                0.0,
                1.0,
                -3.0,
                4096.0,
                4097.0,
                0.5,
                1e300,
                -2.25,
                7.0,
                123456.0,
                1e-300,
                5e-324,
            ]
        ]
    )
    assert np.array_equal(transform(odd), _reference_transform(odd))
    small = odd[np.abs(np.nan_to_num(odd)) < 1e30].astype(np.float32)
    assert np.array_equal(transform(small), _reference_transform(small))
