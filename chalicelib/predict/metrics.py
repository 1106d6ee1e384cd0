"""Accuracy measures used by training reports, backtests and benchmarks."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the predicted ranking over the Gini of the perfect ranking (1 is perfect)."""
    actual = np.asarray(actual, dtype=float)

    def gini(order):
        cum = np.cumsum(actual[order]) / actual.sum()
        return cum.mean() - (len(actual) + 1) / (2 * len(actual))

    if actual.sum() <= 0:
        return float("nan")
    # ties in the prediction are broken against us (stable sort by -prediction, then -actual)
    ranked = np.lexsort((actual, -np.asarray(predicted, dtype=float)))
    return float(gini(ranked) / gini(np.argsort(-actual, kind="stable")))


def spearman(actual, predicted) -> float:
    return float(spearmanr(actual, predicted).statistic)


def expected_calibration_error(labels, probabilities, bins: int = 10) -> float:
    """Mean |observed rate - predicted probability| over equal-width bins, weighted by count."""
    labels = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            error += m.mean() * abs(labels[m].mean() - p[m].mean())
    return float(error)


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, float) - y) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def spend_ratio(spend: np.ndarray, predicted: np.ndarray) -> float:
    """Predicted over actual total spend (1 is right on; nan with no spend)."""
    total = float(np.sum(spend))
    return float(np.sum(predicted) / total) if total > 0 else float("nan")


def reliability_bins(
    y: np.ndarray, p: np.ndarray, bins: int
) -> list[tuple[float, float, int, float, float]]:
    """(low, high, profiles, mean predicted, observed rate) per equal-width probability bin
    that holds profiles."""
    p = np.nan_to_num(np.clip(np.asarray(p, float), 0, 1), nan=0.0)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        (
            float(edges[b]),
            float(edges[b + 1]),
            int((which == b).sum()),
            float(p[which == b].mean()),
            float(np.asarray(y)[which == b].mean()),
        )
        for b in range(bins)
        if (which == b).any()
    ]
