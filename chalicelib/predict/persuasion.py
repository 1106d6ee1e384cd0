"""Persuasion type: Kaptein's Bayesian persuasion profiles.

Each principle's response rate gets a Beta posterior: a prior of strength PRIOR_STRENGTH centred
on the population's response rate, updated with the times the principle was shown to this
visitor and the times they responded. The type is the principle with the highest posterior mean,
given only when the evidence is enough: at least MIN_SHOWN exposures in all, and a posterior
probability of at least MIN_CONFIDENCE (normal approximation) that the best principle beats the
runner-up. Otherwise the field stays empty.
"""

from __future__ import annotations

import struct
from functools import reduce
from itertools import chain, repeat
from operator import iadd

import numpy as np
from scipy.special import ndtr
from scipy.stats import beta

from .fields import PERSUASION_TYPES

PRIOR_STRENGTH = 10.0
DEFAULT_RATE = 0.1
MIN_SHOWN = 5
MIN_CONFIDENCE = 0.75


def counts(behaviours: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(shown, responded) per profile and principle. Responses are capped at exposures: a late
    response event (one naming its exposure's event id) can arrive before the exposure."""
    try:
        fast = _counts_flat(behaviours)
    except (TypeError, ValueError, OverflowError, AttributeError):
        fast = None
    shown, responded = fast if fast is not None else _counts_general(behaviours)
    return shown, np.minimum(responded, shown)


def posterior(shown: np.ndarray, responded: np.ndarray, prior_rates: np.ndarray):
    """Each principle's Beta posterior (a, b) for one profile's counts (1-D arrays)."""
    responded = np.minimum(responded, shown)
    a = prior_rates * PRIOR_STRENGTH + responded
    b = (1 - prior_rates) * PRIOR_STRENGTH + (shown - responded)
    return a, b


def summary(shown, responded, prior_rates, rng: np.random.Generator) -> dict:
    """One profile's persuasion profile: per principle the posterior mean, its 90 % interval,
    exposures and responses; the type as scoring gives it; and the principle to show next,
    drawn by Thompson sampling (one draw from each posterior, the highest wins), so a shop
    that follows it explores principles it knows little about and exploits the best."""
    shown, responded = np.asarray(shown, float), np.asarray(responded, float)
    a, b = posterior(shown, responded, prior_rates)
    low, high = beta.ppf(0.05, a, b), beta.ppf(0.95, a, b)
    draw = rng.beta(a, b)
    kinds, _ = types(shown[None, :], np.minimum(responded, shown)[None, :], prior_rates, False)
    return {
        "principles": [
            {
                "principle": name,
                "exposures": int(shown[j]),
                "responses": int(min(responded[j], shown[j])),
                "mean": round(float(a[j] / (a[j] + b[j])), 4),
                "interval_90": [round(float(low[j]), 4), round(float(high[j]), 4)],
            }
            for j, name in enumerate(PERSUASION_TYPES)
        ],
        "persuasion_type": kinds[0],
        "next": PERSUASION_TYPES[int(np.argmax(draw))],
        "rule": f"a type needs {MIN_SHOWN} exposures in all and a posterior probability of "
        f"{MIN_CONFIDENCE} that the best principle beats the runner-up",
    }


def _counts_general(behaviours: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    shown = np.zeros((len(behaviours), len(PERSUASION_TYPES)))
    responded = np.zeros_like(shown)
    for i, b in enumerate(behaviours):
        for principle, (s, r) in (b.get("persuasion") or {}).items():
            if principle in PERSUASION_TYPES:
                j = PERSUASION_TYPES.index(principle)
                shown[i, j], responded[i, j] = s, r
    return shown, responded


_COLUMN = {p: j for j, p in enumerate(PERSUASION_TYPES)}
_EMPTY: dict = {}


def _counts_flat(behaviours: list[dict]):
    """The same counts with C-level iteration over every profile's principles at once; None
    for anything but plain dicts of [shown, responded] number pairs (the general path)."""
    n = len(behaviours)
    docs = list(map(dict.get, behaviours, repeat("persuasion"), repeat(_EMPTY)))
    # dict.values raises TypeError on anything but a dict (null included): the general path
    pairs = reduce(iadd, map(dict.values, docs), [])
    shown = np.zeros((n, len(PERSUASION_TYPES)))
    responded = np.zeros_like(shown)
    if not pairs:
        return shown, responded
    if set(map(len, pairs)) != {2}:
        return None
    rows = np.repeat(np.arange(n), np.fromiter(map(len, docs), np.int64, n))
    cols = np.fromiter(
        map(_COLUMN.get, chain.from_iterable(docs), repeat(-1)), np.int64, len(pairs)
    )
    flat = reduce(iadd, pairs, [])
    try:  # all ints (as stored): via int64 is exact
        values = np.frombuffer(struct.pack(f"{len(flat)}q", *flat), dtype=np.int64)
        values = values.astype(np.float64)
    except struct.error:
        values = np.array(flat, dtype=np.float64)
    values = values.reshape(-1, 2)
    known = cols >= 0
    rows, cols, values = rows[known], cols[known], values[known]
    shown[rows, cols] = values[:, 0]
    responded[rows, cols] = values[:, 1]
    return shown, responded


def population_rates(shown: np.ndarray, responded: np.ndarray) -> np.ndarray:
    total = shown.sum(axis=0)
    return np.where(
        total > 0,
        (responded.sum(axis=0) + DEFAULT_RATE * PRIOR_STRENGTH) / (total + PRIOR_STRENGTH),
        DEFAULT_RATE,
    )


def profile(
    shown: np.ndarray, responded: np.ndarray, prior_rates: np.ndarray, with_reasons: bool = True
):
    """Types (or None), confidence, and a reason for each profile (empty lists without
    `with_reasons`)."""
    best, confidence = _best(shown, responded, prior_rates)
    enough = (shown.sum(axis=1) >= MIN_SHOWN) & (confidence >= MIN_CONFIDENCE)
    rows = np.flatnonzero(enough)
    types, reasons = _typed(len(shown), rows, best[rows], shown, responded, with_reasons)
    return types, confidence, reasons


def types(
    shown: np.ndarray, responded: np.ndarray, prior_rates: np.ndarray, with_reasons: bool = True
) -> tuple[list, list]:
    """profile's types and reasons without the confidence of every profile: only profiles shown
    MIN_SHOWN principles or more can have a type, so only theirs is computed (row by row the
    same arithmetic)."""
    candidates = np.flatnonzero(shown.sum(axis=1) >= MIN_SHOWN)
    best, confidence = _best(shown[candidates], responded[candidates], prior_rates)
    keep = confidence >= MIN_CONFIDENCE
    return _typed(len(shown), candidates[keep], best[keep], shown, responded, with_reasons)


def _best(shown, responded, prior_rates):
    """Per row: the principle with the highest posterior mean, and the probability that it
    beats the runner-up."""
    a = prior_rates * PRIOR_STRENGTH + responded
    b = (1 - prior_rates) * PRIOR_STRENGTH + (shown - responded)
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    order = np.argsort(-mean, axis=1)
    rows = np.arange(len(mean))
    best, second = order[:, 0], order[:, 1]
    gap = mean[rows, best] - mean[rows, second]
    z = gap / np.sqrt(var[rows, best] + var[rows, second])
    return best, ndtr(z)


def _typed(n, rows, best, shown, responded, with_reasons):
    """Types (None but at `rows`, whose best principles are `best`) and reasons."""
    choice = np.full(n, -1)
    choice[rows] = best
    types = _TYPES[choice].tolist()
    if not with_reasons:
        return types, [[] for _ in types]
    reasons: list[list[str]] = [[] for _ in types]
    if rows.size:
        own_shown, own_resp = shown[rows, best], responded[rows, best]
        others_shown = shown[rows].sum(axis=1) - own_shown
        others_resp = responded[rows].sum(axis=1) - own_resp
        for i, name, r, s, orr, os in zip(
            rows.tolist(),
            _TYPES[best].tolist(),
            own_resp.tolist(),
            own_shown.tolist(),
            others_resp.tolist(),
            others_shown.tolist(),
        ):
            reasons[i] = [
                f"responded to {name} {int(r)} of {int(s)} times "
                f"(other principles {int(orr)} of {int(os)})"
            ]
    return types, reasons


_TYPES = np.array(PERSUASION_TYPES + (None,), dtype=object)  # index -1: no type
