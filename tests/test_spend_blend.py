"""The spend blend (blend.choose_spend, gamma_gamma.py): at a rescore on the packaged default, the
spend pipeline (learned on CDNOW) is weighed against the population's own BG/NBD x Gamma-Gamma
on windows before its data ends. Before it, a shop whose customers buy every 10 days got 0.65
of its actual spend (bench/simulated_shop.py)."""

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from chalicelib.predict import artifact, blend, gamma_gamma, transactions
from chalicelib.predict.features import History, day_values, window_outcomes
from chalicelib.predict.model import Dataset
from chalicelib.predict.training import for_population, with_bgnbd
from chalicelib.services import model_card
from tests.script_loader import load_script

CUT = date(1997, 10, 1).toordinal()


def simulated_shop():
    return load_script("bench/simulated_shop.py")


@pytest.fixture(scope="module")
def frequent_shop():
    """3,000 customers buying every ~10 days while alive, orders ~120 (CDNOW: ~90 days, 26):
    (history of every purchase, the calibration cut)."""
    shop = simulated_shop()
    rows = shop.draw(3000, 3, 1.0, 10.0, 0.6, 8.0, money=(3.0, 5.0, 200.0))
    _, behaviours = transactions.behaviours(rows)
    return History.from_behaviours(behaviours), shop.CAL_END.toordinal() + 1, behaviours


def test_gamma_gamma_is_fitted_as_the_paper_defines_it(cdnow):
    """GIVEN CDNOW's calibration customers WHEN Gamma-Gamma is fitted THEN it finds the
    maximum of the paper's likelihood (lifetimes' GammaGammaFitter, on the same n and m, finds
    p 9.881, q 3.399, gamma 7.929), the same in cents as in dollars."""
    _, _, history = cdnow
    n, m = day_values(history, CUT)
    gg = gamma_gamma.fit(n, m)
    assert (gg.p, gg.q, gg.gamma) == pytest.approx((9.881, 3.399, 7.929), rel=2e-3)
    cents = gamma_gamma.fit(n, 100 * m)
    assert (cents.p, cents.q, cents.gamma) == pytest.approx((gg.p, gg.q, 100 * gg.gamma), rel=1e-5)
    # with no priced day: the population's mean value of a day
    assert gg.expected_value(np.array([0.0]), np.array([0.0]))[0] == pytest.approx(
        gg.p * gg.gamma / (gg.q - 1)
    )


def test_too_few_priced_customers_fit_nothing():
    assert gamma_gamma.fit(np.ones(5), np.full(5, 10.0)) is None


def test_a_shop_unlike_cdnow_gets_its_spend_from_its_own_classic_model(frequent_shop):
    """GIVEN a shop whose customers buy every ~10 days WHEN a rescore derives the served
    default THEN its spend pipeline's weight drops below 1, and the next 91 days' total
    predicted spend is within 10 % of what they spent, where the pipeline alone gets under
    0.8 of it."""
    history, cut, _ = frequent_shop
    model = for_population(artifact.default_model(), history, cut, "the shop")
    chosen = model.spend_blend
    assert chosen["weight"] < 1.0
    deviance = {float(w): v for w, v in chosen["deviance"].items()}
    assert deviance[chosen["weight"]] == min(deviance.values())
    actual = window_outcomes(history, cut, cut + 91)[1].sum()
    served = model.predict_arrays(history, cut, 30, 91)["clv_predicted"].sum()
    alone = replace(model, spend_blend=None).predict_arrays(history, cut, 30, 91)
    assert served / actual == pytest.approx(1.0, abs=0.1)
    assert alone["clv_predicted"].sum() / actual < 0.8
    assert model.metadata["trained_what"]["spend blend weight and Gamma-Gamma"]


def test_the_spend_blend_is_stored_and_names_the_version(frequent_shop):
    """The artifact round trip keeps the blend; another weight is another version."""
    history, cut, _ = frequent_shop
    model = for_population(artifact.default_model(), history, cut, "the shop")
    blob, metadata = artifact.to_bytes(model)
    assert artifact.from_bytes(blob, metadata).spend_blend == model.spend_blend
    shown = model_card.card(metadata, "derived", None, None, 30, 365)["model"]["spend_blend"]
    assert shown["weight"] == model.spend_blend["weight"] and "Poisson" in shown["chosen_on"]
    other = dict(model.spend_blend, weight=1.0)
    renamed = with_bgnbd(replace(model, spend_blend=None), model.bg, "the shop", spend=other)
    assert renamed.metadata["version"] != model.metadata["version"]


def test_the_choice_reads_nothing_after_the_cut(frequent_shop):
    """GIVEN the shop's history with and without what came after the cut WHEN the spend blend
    is chosen THEN the weight and the Gamma-Gamma are the same."""
    history, cut, behaviours = frequent_shop
    day = date.fromordinal(cut).isoformat()
    before = History.from_behaviours(
        [{"purchases": {d: v for d, v in b["purchases"].items() if d < day}} for b in behaviours]
    )
    default = artifact.default_model()
    assert blend.choose_spend(default, Dataset(history, cut)) == blend.choose_spend(
        default, Dataset(before, cut)
    )


def test_a_big_population_is_fitted_on_a_sample_that_finds_the_same_parameters(cdnow):
    """GIVEN CDNOW's customers copied 25 times (over MAX_FIT_CUSTOMERS, so a sample is fitted)
    THEN the parameters are those of the sample itself (the copies' maximum) within 3 %."""
    _, _, history = cdnow
    n, m = day_values(history, CUT)
    assert 25 * (n > 0).sum() > gamma_gamma.MAX_FIT_CUSTOMERS
    once, copied = gamma_gamma.fit(n, m), gamma_gamma.fit(np.tile(n, 25), np.tile(m, 25))
    assert (copied.p, copied.q, copied.gamma) == pytest.approx(
        (once.p, once.q, once.gamma), rel=0.03
    )


def test_too_little_to_judge_keeps_the_pipeline_and_says_why(frequent_shop):
    """GIVEN 10 customers (too few for a Gamma-Gamma) or 300 (too few who spent in the
    windows) WHEN the spend blend is chosen THEN the pipeline serves alone, and the reason
    says which."""
    history, cut, behaviours = frequent_shop
    default = artifact.default_model()
    few = blend.choose_spend(default, Dataset(History.from_behaviours(behaviours[:10]), cut))
    assert few["weight"] == 1.0 and "priced purchase day" in few["chosen_on"]
    early = date.fromordinal(cut - 200).isoformat()
    young = [
        {"purchases": {d: v for d, v in b["purchases"].items() if d < early}}
        for b in behaviours[:300]
    ]
    some = blend.choose_spend(default, Dataset(History.from_behaviours(young), cut))
    assert some["weight"] == 1.0 and "customers who spent" in some["chosen_on"]


def test_prices_spread_over_magnitudes_fit_no_gamma_gamma():
    """GIVEN customers whose price levels spread x4.5 (lognormal sigma 1.5) WHEN Gamma-Gamma is
    fitted THEN there is no fit (q - 1 went to 2.5e-14: stored as q = 1, a customer with only free
    orders got an infinite classic spend, scored as 0)."""
    rng = np.random.default_rng(0)
    n = rng.geometric(0.4, 5000).astype(float)
    m = rng.gamma(3 * n, 1 / n) * 50 * rng.lognormal(0, 1.5, 5000)
    assert gamma_gamma.fit(n, m) is None


def test_the_sample_of_a_big_population_does_not_depend_on_its_order(cdnow):
    _, _, history = cdnow
    n, m = day_values(history, CUT)
    n, m = np.tile(n, 25), np.tile(m, 25)
    shuffled = np.random.default_rng(1).permutation(n.size)
    assert gamma_gamma.fit(n, m) == gamma_gamma.fit(n[shuffled], m[shuffled])


def test_reasons_say_when_the_shops_own_model_makes_most_of_the_score(frequent_shop):
    """GIVEN the served default on a shop where both blends give the shop's own classic model
    most of the weight (conversion 0: BG/NBD alone), and a visitor who never bought WHEN
    customers are scored THEN their conversion reasons name BG/NBD's share alone (the
    pipeline's reasons would describe a part that moves nothing), their CLV reasons name the
    classic model's share after what they spent; the visitor's reasons are the pipeline's."""
    from chalicelib.predict import scoring

    history, cut, behaviours = frequent_shop
    model = for_population(artifact.default_model(), history, cut, "the shop")
    assert model.blend_weight == 0.0 and model.spend_blend_weight < 0.5
    visitor = {"activity": {"2021-09-20": [2, 9, 4, 1, 0]}}
    rows = scoring.score(behaviours[:50] + [visitor], model, date.fromordinal(cut - 1))
    share = round(100 * (1 - model.spend_blend_weight))
    for row, b in zip(rows[:50], behaviours[:50]):
        why = row["explanations"]
        days = sum(d < date.fromordinal(cut).isoformat() for d in b["purchases"])
        (conversion,) = why["conversion_potential"]
        assert conversion.startswith(
            f"100 % from this shop's own purchase pattern (BG/NBD): bought on {days} day"
        )
        assert why["clv"][0].startswith("spent ")
        assert why["clv"][1].startswith(
            f"{share} % from this shop's own purchase pattern (BG/NBD x Gamma-Gamma): {days} "
        )
        assert len(why["clv"]) <= 3
    assert not any(
        "purchase pattern" in r for r in rows[-1]["explanations"]["conversion_potential"]
    )


def test_a_pipeline_weighed_at_half_or_more_keeps_its_own_reasons(frequent_shop):
    """GIVEN the same shop served with both pipelines weighed at 0.5 WHEN scored THEN no reason
    claims the shop's own model made most of the score."""
    from chalicelib.predict import scoring

    history, cut, behaviours = frequent_shop
    model = for_population(artifact.default_model(), history, cut, "the shop")
    half = replace(
        model,
        conversion_blend=dict(model.conversion_blend, weight=0.5),
        spend_blend=dict(model.spend_blend, weight=0.5),
    )
    rows = scoring.score(behaviours[:50], half, date.fromordinal(cut - 1))
    said = [r for row in rows for v in row["explanations"].values() for r in v]
    assert said and not any("purchase pattern" in r for r in said)


def test_the_classic_reason_quotes_big_amounts_as_they_are():
    """GIVEN a customer who spent 6 billion over 2 purchase days (orders up to 1e9 each) WHEN
    the classic model's reason is written THEN it quotes 3 billion a day, not a clipped number."""
    from chalicelib.predict import scoring
    from chalicelib.predict.features import F

    features = np.zeros((2, len(F)))
    features[:, F["purchase_days"]] = 2
    features[:, F["days_since_last_order"]] = [3, 400]
    features[:, F["spend"]] = [6e9, 20.0]
    reasons = [["spent 6000000000 so far"], ["spent 20 so far"]]
    scoring._lead_customers(
        reasons, features, np.ones(2, bool), 0.0, scoring._classic_spend, after=1
    )
    assert reasons[0][1].endswith("2 purchase days, 3000000000 a day")
    assert reasons[1][1].endswith("2 purchase days, 10 a day")
