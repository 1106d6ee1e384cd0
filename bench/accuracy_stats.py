"""The measures the accuracy benchmarks report, with paired bootstrap intervals."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chalicelib.predict import metrics  # noqa: E402

CONVERSION_METRICS = (
    ("AUC", metrics.auc),
    ("Brier", metrics.brier),
    ("log loss", metrics.log_loss),
    ("ECE", metrics.expected_calibration_error),
)
CLV_METRICS = (
    ("Gini", metrics.normalized_gini),
    ("Spearman", metrics.spearman),
    ("predicted/actual", metrics.spend_ratio),
)


def paired_interval(fn, y, a, b, rng, n_boot: int) -> tuple[float, float, float]:
    """fn(y, a) - fn(y, b) and its 95 % interval over customers resampled with replacement
    (the same resample for both: a paired bootstrap)."""
    n = len(y)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        diffs.append(fn(y[i], a[i]) - fn(y[i], b[i]))
    lo, hi = np.nanpercentile(diffs, [2.5, 97.5])
    return fn(y, a) - fn(y, b), float(lo), float(hi)


def reliability(y, p, bins: int = 10) -> list[tuple[str, int, float, float]]:
    """(bin, profiles, mean predicted, observed rate) per equal-width probability bin."""
    return [
        (f"{lo:.1f}-{hi:.1f}", n, mean, observed)
        for lo, hi, n, mean, observed in metrics.reliability_bins(y, p, bins)
    ]
