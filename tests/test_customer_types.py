"""Customer types: measured behaviour, thresholds from the population's own distribution."""

from datetime import date

import numpy as np

from chalicelib import synthetic
from chalicelib.behaviour import apply_events, parse_event
from chalicelib.predict import artifact, customer_types
from chalicelib.predict.features import F, History, matrix
from chalicelib.predict.scoring import cut_of, score

AS_OF = date(2026, 3, 31)


def test_orders_imported_before_web_tracking_do_not_make_a_passionate_buyer():
    # GIVEN a customer whose orders were imported from 2025 and whose first visit is in 2026
    imported = {
        "purchases": {"2025-05-01": [1, 40.0], "2026-03-10": [1, 35.0]},
        "activity": {"2026-03-10": [1, 3, 2, 1, 0]},
    }
    # AND a visitor who bought the day after the first visit
    impulse = {
        "purchases": {"2026-03-11": [1, 40.0]},
        "activity": {"2026-03-10": [1, 3, 2, 1, 0]},
    }
    history = History.from_behaviours([imported, impulse])
    delay = customer_types.first_web_order_delay(history, cut_of(AS_OF))
    # THEN the delay counts from the first web activity to the first order on or after it
    assert delay.tolist() == [0.0, 1.0]
    # AND with no order after the first visit there is no delay at all
    only_before = {
        "purchases": {"2025-05-01": [1, 40.0]},
        "activity": {"2026-03-10": [1, 3, 2, 0, 0]},
    }
    assert customer_types.first_web_order_delay(
        History.from_behaviours([only_before]), cut_of(AS_OF)
    ).tolist() == [np.inf]
    scores = score([only_before, impulse], artifact.default_model(), AS_OF)
    assert scores[0].get("customer_type") != "Passionate"  # before: delay 0, "Passionate"
    assert scores[1]["customer_type"] == "Passionate"


def visitors(seed=4, n=1500):
    vs = synthetic.generate(
        n, seed=seed, end=synthetic.datetime(2026, 3, 31, tzinfo=synthetic.timezone.utc)
    )
    return vs, [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in vs]


def types_with_own_thresholds(behaviours, money=1.0):
    scaled = [
        {**b, "purchases": {d: [o, a * money] for d, (o, a) in b["purchases"].items()}}
        for b in behaviours
    ]
    history = History.from_behaviours(scaled)
    X = matrix(history, cut_of(AS_OF))
    clv = X[:, F["spend"]] * 1.5  # any CLV that scales with the currency
    limits = customer_types.thresholds_from(X, clv, X[:, F["page_views"]])
    delay = customer_types.first_web_order_delay(history, cut_of(AS_OF))
    kinds, _ = customer_types.classify(
        X, clv, delay, X[:, F["page_views"]], X[:, F["discount_interactions"]], limits
    )
    return kinds, limits


def test_thresholds_are_quantiles_so_the_currency_does_not_matter():
    # GIVEN the same shop in euros and in yen (every amount x 150)
    _, behaviours = visitors()
    in_euros, limits = types_with_own_thresholds(behaviours)
    in_yen, limits_yen = types_with_own_thresholds(behaviours, money=150.0)
    # THEN the types are the same; only the CLV threshold moves, with the currency
    assert in_euros == in_yen
    assert abs(limits_yen["believer_clv"] / limits["believer_clv"] - 150) < 1e-3
    assert {k: v for k, v in limits.items() if k != "believer_clv"} == {
        k: v for k, v in limits_yen.items() if k != "believer_clv"
    }


def test_the_rules_beat_the_majority_class_on_generated_visitors():
    # GIVEN generated visitors with planted types, typed with their own population's thresholds
    vs, behaviours = visitors(seed=5, n=3000)
    kinds, _ = types_with_own_thresholds(behaviours)
    planted = [v.customer_type for v in vs]
    accuracy = np.mean([k == p for k, p in zip(kinds, planted)])
    majority = max(planted.count(t) for t in set(planted)) / len(planted)
    # THEN they recover more types than always answering the most common one
    assert accuracy > majority + 0.15
