"""What scripts/model_report.py shows, computed from the collected arrays (fast, tested): the
metrics table, reliability bins, cumulative gains, type distributions and agreement, the order of
feature importance, and how figures are printed. Imported by plain name from model_report.py,
which puts the repository and bench/ on sys.path first."""

from __future__ import annotations

import numpy as np
from accuracy_cli_protocol import metrics_table

NO_TYPE = "no type"
CALIBRATION_BINS = 10  # as metrics.expected_calibration_error
# the models of the holdout comparison, in table order; the baseline is always last
OURS, DEFAULT, BASELINE = "ours (CLI-trained)", "default model", "BG/NBD + GG"


def metrics_rows(data: dict) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Column names and (metric, values per column) rows: metrics_table
    (bench/accuracy_cli_protocol.py) for each of our models against the baseline (whose column
    comes from the first call)."""
    preds = data["predictions"]
    ours = [k for k in preds if k != BASELINE]
    base = {
        "p_purchase": preds[BASELINE]["p"],
        "clv": preds[BASELINE]["clv"],
        "expected": preds[BASELINE].get("expected", preds[BASELINE]["p"]),
    }
    tables = [
        metrics_table(data["bought"], data["spend"], preds[k]["p"], preds[k]["clv"], base)
        for k in ours
    ]
    rows = []
    for i, (name, _, b) in enumerate(tables[0]):
        rows.append((name, [t[i][1] for t in tables] + [b]))
    return ours + [BASELINE], rows


def reliability(labels, p, bins: int = CALIBRATION_BINS) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, count) per non-empty equal-width bin, binned as
    metrics.expected_calibration_error bins."""
    labels, p = np.asarray(labels, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        (float(p[which == b].mean()), float(labels[which == b].mean()), int((which == b).sum()))
        for b in range(bins)
        if (which == b).any()
    ]


def gains(actual, score) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative gains: share targeted (x) against share of `actual` captured (y), targeting by
    `score` from the highest. Tied scores are one step (their expected curve under random
    tie-breaking is the straight line between its ends)."""
    actual, score = np.asarray(actual, dtype=float), np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    a, s = actual[order], score[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    captured = np.cumsum(a)[ends] / max(a.sum(), 1e-12)
    return np.r_[0.0, (ends + 1) / len(s)], np.r_[0.0, captured]


def targeted_share(x, y, at: float) -> float:
    return float(np.interp(at, x, y))


def type_distribution(types: list, names: list[str]) -> dict[str, float]:
    n = max(len(types), 1)
    out = {t: sum(1 for v in types if v == t) / n for t in names}
    out[NO_TYPE] = sum(1 for v in types if v is None) / n
    return out


def agreement(assigned: list, truth: list) -> dict:
    typed = [(a, t) for a, t in zip(assigned, truth) if a is not None]
    return {
        "coverage": len(typed) / max(len(assigned), 1),
        "accuracy": (sum(a == t for a, t in typed) / len(typed)) if typed else float("nan"),
        "typed": len(typed),
        "scored": len(assigned),
    }


def confusion(assigned: list, truth: list, names: list[str]) -> np.ndarray:
    """Rows: the generator's type; columns: the assigned type, then 'no type'."""
    m = np.zeros((len(names), len(names) + 1), dtype=int)
    col = {n: i for i, n in enumerate(names)}
    for a, t in zip(assigned, truth):
        m[col[t], col.get(a, len(names)) if a is not None else len(names)] += 1
    return m


def importance_order(imp: dict, top: int = 15) -> list[int]:
    total = np.max(np.vstack(list(imp["spread"].values())), axis=0)
    return [int(i) for i in np.argsort(-total, kind="stable")[:top]]


def format_metric(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4f}"


def format_share(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.1%}"
