"""scripts/model_report.py writes its report from collected arrays: the Markdown with the metrics
table, self-contained HTML and valid PNG plots. Small made-up inputs (no CLI run, no lifetimes);
skipped where matplotlib is not installed (`make test` installs requirements-dev.txt only;
`make model-report` installs requirements-report.txt)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.script_loader import load_script

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report():
    return load_script("scripts/model_report.py")


def small_input(report, n=400, visitors=300, seed=3):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    p_true = 1 / (1 + np.exp(-(signal - 1)))
    bought = rng.random(n) < p_true
    spend = np.where(bought, rng.lognormal(3.5, 0.6, n), 0.0)

    def noisy(strength):
        return 1 / (1 + np.exp(-(signal * strength + rng.normal(scale=0.8, size=n) - 1)))

    ctypes = ["Believer", "Economical", "Passionate", "Single-minded", "Explorer"]
    ptypes = ["Reciprocity", "Commitment", "Social proof", "Authority", "Liking", "Scarcity"]
    true_c = list(rng.choice(ctypes, visitors))
    true_p = list(rng.choice(ptypes, visitors))
    features = [f"f{i}" for i in range(8)]
    return {
        "metadata": {
            "version": "test-1",
            "trained_at": "2026-01-01T00:00:00Z",
            "conversion_horizon_days": 30,
            "clv_horizon_days": 365,
            "conversion_label_days": 30,
            "clv_label_days": 91,
            "bgnbd": {"r": 0.2, "alpha": 1.4, "a": 1.4, "b": 2.5},
            "libraries": {"numpy": np.__version__},
            "training_data": {"made up": "400 customers"},
            "backtest": {
                "made up": {
                    "profiles": 80,
                    "buyers": 12,
                    "conversion_auc": 0.8,
                    "clv_gini": 0.7,
                    "label_days": 30,
                }
            },
        },
        "window": {
            "transactions": 900,
            "first_day": "1997-01-01",
            "calibration_end": "1997-09-30",
            "holdout_end": "1998-06-30",
            "holdout_days": 273,
            "customers": n,
            "buyers": int(bought.sum()),
            "spend": float(spend.sum()),
            "ours_version": "mtest",
            "baseline_params": {"r": 0.24},
        },
        "bought": bought,
        "spend": spend,
        "predictions": {
            report.OURS: {"p": noisy(1.0), "clv": noisy(1.0) * 60},
            report.DEFAULT: {"p": noisy(0.8), "clv": noisy(0.8) * 50},
            report.BASELINE: {"p": noisy(0.7), "clv": noisy(0.7) * 40, "expected": noisy(0.7) * 2},
        },
        "importance": {
            "features": features,
            "coef": rng.normal(size=len(features)),
            "spread": {
                "CDNOW customers": rng.random(len(features)),
                "generated visitors": rng.random(len(features)),
            },
            "method": report.IMPORTANCE_METHOD,
        },
        "types": {
            "customer_types": ctypes,
            "persuasion_types": ptypes,
            "CDNOW customers": {
                "customer": [None, "Believer"] * (n // 2),
                "persuasion": [None] * n,
            },
            "generated visitors": {
                "customer": [t if rng.random() < 0.6 else rng.choice(ctypes) for t in true_c],
                "persuasion": [t if rng.random() < 0.05 else None for t in true_p],
                "true_customer": true_c,
                "true_persuasion": true_p,
                "seed": 29,
                "as_of": "2025-12-31",
            },
        },
    }


def test_report_files_plots_and_metrics_table(report, tmp_path):
    data = small_input(report)
    written = report.write_report(data, tmp_path / "reports", dpi=40)  # small: fast
    names = {
        "model-report.md",
        "model-report.html",
        "calibration.png",
        "gains.png",
        "feature-importance.png",
        "types.png",
        "types-ground-truth.png",
    }
    assert set(written) == names
    for name in names:
        assert (tmp_path / "reports" / name).stat().st_size > 0
    for name in (n for n in names if n.endswith(".png")):
        blob = (tmp_path / "reports" / name).read_bytes()
        assert blob.startswith(PNG_SIGNATURE), name
        width, height = int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
        assert width >= 150 and height >= 100, (name, width, height)

    md = (tmp_path / "reports" / "model-report.md").read_text()
    assert "| metric | ours (CLI-trained) | default model | BG/NBD + GG |" in md
    columns, rows = report.metrics_rows(data)
    assert [r[0] for r in rows] == [
        "AUC, conversion potential",
        "normalised Gini, CLV predicted",
        "Spearman, CLV predicted",
        "total predicted / actual spend",
        "expected calibration error",
    ]
    for name, values in rows:  # each table row carries the computed figures
        assert f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |" in md
    for png in (
        "calibration.png",
        "gains.png",
        "feature-importance.png",
        "types.png",
        "types-ground-truth.png",
    ):
        assert f"]({png})" in md
    assert "273 days" in md and "test-1" in md

    page = (tmp_path / "reports" / "model-report.html").read_text()
    assert page.count("data:image/png;base64,") == 5  # self-contained: every plot inlined
    assert "<table>" in page and "AUC, conversion potential" in page
    assert "<td>version</td>" in page  # a table with an empty header keeps its rows
    assert not re.search(r'src="(?!data:)', page)


def test_figures_the_plots_rest_on(report):
    from chalicelib.predict import metrics

    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    p = np.array([0.05, 0.95, 0.85, 0.15, 0.55, 0.45, 0.05, 0.95])
    bins = report.reliability(labels, p)
    ece = sum(n / len(p) * abs(rate - mean) for mean, rate, n in bins)
    assert ece == pytest.approx(metrics.expected_calibration_error(labels, p))
    # gains: a perfect ranking captures everything by the share of positives; ties are one step
    x, y = report.gains(labels, labels)
    assert report.targeted_share(x, y, 0.5) == pytest.approx(1.0)
    x, y = report.gains(labels, np.zeros(len(labels)))
    assert list(x) == [0.0, 1.0] and list(y) == [0.0, 1.0]
    m = report.confusion(["A", None, "B", "A"], ["A", "A", "B", "B"], ["A", "B"])
    assert m.tolist() == [[1, 0, 1], [1, 1, 0]]
    assert report.agreement(["A", None, "B", "A"], ["A", "A", "B", "B"]) == {
        "coverage": 0.75,
        "accuracy": pytest.approx(2 / 3),
        "typed": 3,
        "scored": 4,
    }
