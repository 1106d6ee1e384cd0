"""bench/simulated_shop.py draws the shop `make bench-elsewhere` judges the served default on:
its purchases must follow the BG/NBD and Gamma-Gamma story it states, or the bench would judge
the default on a shop unlike the one it describes."""

import numpy as np
import pytest

from chalicelib.predict import bgnbd, transactions
from chalicelib.predict.features import History
from chalicelib.predict.scoring import cut_of
from tests.script_loader import load_script


def load_bench():
    return load_script("bench/simulated_shop.py")


def test_the_drawn_shop_recovers_the_parameters_it_was_drawn_with():
    """GIVEN 6,000 customers drawn with r 0.8, alpha 32 days, a 0.7, b 4.3 and orders of mean
    6 x 30 / (4 - 1) = 60 WHEN BG/NBD is fitted on every purchase drawn THEN it finds those
    parameters (alpha in weeks) and the orders average about 60."""
    shop = load_bench()
    rows = shop.draw(6000, 5, 0.8, 32.0, 0.7, 4.3, money=(6.0, 4.0, 30.0))
    _, behaviours = transactions.behaviours(rows)
    history = History.from_behaviours(behaviours)
    customer, x, t_x, T = bgnbd.summary(history, cut_of(shop.HOLD_END))
    fitted = bgnbd.fit(x[customer], t_x[customer], T[customer])
    assert fitted.r == pytest.approx(0.8, rel=0.2)
    assert fitted.alpha == pytest.approx(32.0 / 7, rel=0.2)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(0.7 / 5.0, rel=0.3)
    assert np.mean([a for _, _, a in rows]) == pytest.approx(60.0, rel=0.1)
    assert min(d for _, d, _ in rows) >= shop.START and max(d for _, d, _ in rows) <= shop.HOLD_END
