"""Persuasion type: Kaptein's Bayesian persuasion profiles.

Each principle's response rate gets a Beta posterior: a prior of strength PRIOR_STRENGTH centred
on the population's response rate, updated with the times the principle was shown to this
visitor and the times they responded. The type is the principle with the highest posterior mean,
given only when the evidence is enough: at least MIN_SHOWN exposures in all, and a posterior
probability of at least MIN_CONFIDENCE (normal approximation) that the best principle beats the
runner-up. Otherwise the field stays empty.
"""
from __future__ import annotations

import numpy as np

from ..segments.fields import PERSUASION_TYPES

PRIOR_STRENGTH = 10.0
DEFAULT_RATE = 0.1
MIN_SHOWN = 5
MIN_CONFIDENCE = 0.75


def counts(behaviours: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(shown, responded) per profile and principle."""
    shown = np.zeros((len(behaviours), len(PERSUASION_TYPES)))
    responded = np.zeros_like(shown)
    for i, b in enumerate(behaviours):
        for principle, (s, r) in (b.get("persuasion") or {}).items():
            if principle in PERSUASION_TYPES:
                j = PERSUASION_TYPES.index(principle)
                shown[i, j], responded[i, j] = s, r
    return shown, responded


def population_rates(shown: np.ndarray, responded: np.ndarray) -> np.ndarray:
    total = shown.sum(axis=0)
    return np.where(total > 0, (responded.sum(axis=0) + DEFAULT_RATE * PRIOR_STRENGTH)
                    / (total + PRIOR_STRENGTH), DEFAULT_RATE)


def profile(shown: np.ndarray, responded: np.ndarray, prior_rates: np.ndarray):
    """Types (or None), confidence, and a reason for each profile."""
    a = prior_rates * PRIOR_STRENGTH + responded
    b = (1 - prior_rates) * PRIOR_STRENGTH + (shown - responded)
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    order = np.argsort(-mean, axis=1)
    rows = np.arange(len(mean))
    best, second = order[:, 0], order[:, 1]
    gap = mean[rows, best] - mean[rows, second]
    z = gap / np.sqrt(var[rows, best] + var[rows, second])
    from scipy.special import ndtr
    confidence = ndtr(z)
    enough = (shown.sum(axis=1) >= MIN_SHOWN) & (confidence >= MIN_CONFIDENCE)
    types, reasons = [], []
    for i in range(len(mean)):
        if not enough[i]:
            types.append(None)
            reasons.append([])
            continue
        j = best[i]
        others_shown = shown[i].sum() - shown[i, j]
        others_resp = responded[i].sum() - responded[i, j]
        types.append(PERSUASION_TYPES[j])
        reasons.append([f"responded to {PERSUASION_TYPES[j]} {int(responded[i, j])} of "
                        f"{int(shown[i, j])} times (other principles {int(others_resp)} of "
                        f"{int(others_shown)})"])
    return types, confidence, reasons
