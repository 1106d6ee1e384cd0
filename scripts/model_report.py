"""A report of the current (default) model: `make model-report` writes reports/model-report.md,
reports/model-report.html (self-contained: the plots inlined) and the PNG plots beside them.

What it holds:
- the default model's metadata: version, training data, library versions, its backtest;
- the CDNOW holdout evaluation of bench/accuracy_cli_protocol.py (imported): the sample
  split at the end of the calibration period, only calibration rows imported through the CLI
  and trained on there ("ours": the model the product serves for that data, which the backtest
  promotes over the default), the `lifetimes` BG/NBD + Gamma-Gamma baseline fitted on the same
  rows, and, as a third column, the packaged default model itself scoring the same customers as
  of the calibration end (it was trained on the calibration period only, so the holdout is
  unseen by it too); all three predict for the holdout's length;
- a metrics table (AUC, normalised Gini, Spearman, total predicted / actual spend, expected
  calibration error), a reliability diagram, cumulative gains charts, the default model's
  conversion feature importance, and the customer and persuasion types on the CDNOW customers
  and on freshly generated visitors (chalicelib/synthetic.py, a seed the model never saw) with
  their agreement with the generator's ground truth.

    .venv/bin/python scripts/model_report.py [--out reports] [--visitors 5000]

matplotlib (requirements-report.txt) is report-only: nothing in chalicelib imports it, so the
Lambda package never carries it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# the report's parts beside this file (already first on sys.path when run as a script, not when
# tests/test_model_report.py loads this file)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy_cli_protocol import holdout_evaluation  # noqa: E402
from model_report_metrics import (  # noqa: E402  (names the tests read from this module too)
    BASELINE,
    DEFAULT,
    OURS,
    agreement,
    confusion,
    format_metric,
    gains,
    metrics_rows,
    reliability,
    targeted_share,
)
from model_report_writing import write_report  # noqa: E402

__all__ = [
    "BASELINE",
    "DEFAULT",
    "IMPORTANCE_METHOD",
    "OURS",
    "agreement",
    "collect",
    "confusion",
    "gains",
    "main",
    "metrics_rows",
    "reliability",
    "targeted_share",
    "write_report",
]

CAL_END = date(1997, 9, 30)
HOLD_END = date(1998, 6, 30)
VISITOR_SEED = 29  # the default model's visitors are seed 11: these are unseen
IMPORTANCE_METHOD = (
    "standardised coefficient x feature spread: for each feature, |coefficient| of the default "
    "model's logistic regression (on log-scaled, standardised features) times the standard "
    "deviation of the standardised feature over a population, i.e. the spread of that feature's "
    "contribution to the log-odds of conversion; sign = direction of the coefficient"
)


# ---------------------------------------------------------------------------------------------
# collecting the figures (slow: the CLI run of the benchmark, about four minutes)


def collect(visitors: int = 5000) -> dict:
    from chalicelib.predict import artifact, customer_types, transactions
    from chalicelib.predict.features import History, transform
    from chalicelib.predict.model import MODEL_FEATURES, model_matrix
    from chalicelib.predict.scoring import cut_of, score
    from chalicelib.predict.train_default import SYNTHETIC_END, synthetic_population

    model = artifact.default_model()
    md = model.metadata
    rows = transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")
    ev = holdout_evaluation(rows, CAL_END, HOLD_END)
    horizon = ev["horizon"]
    customers = ev["customers"]

    # the default model on the same customers, as of the calibration end, for the holdout length
    ids, behaviours = transactions.behaviours([r for r in rows if r[1] <= CAL_END])
    assert ids == customers
    cd_scores = score(
        behaviours,
        model,
        CAL_END,
        with_explanations=False,
        conversion_horizon=horizon,
        clv_horizon=horizon,
    )
    default_p = np.array([s["conversion_potential"] / 100 for s in cd_scores])
    default_clv = np.array([s["clv_predicted"] for s in cd_scores])

    # generated visitors the model never saw, scored with its own horizons
    started = time.time()
    visitors_list, web_behaviours = synthetic_population(visitors, seed=VISITOR_SEED)
    web_scores = score(web_behaviours, model, SYNTHETIC_END.date(), with_explanations=False)
    print(f"{visitors} generated visitors scored in {time.time() - started:.1f}s")

    # feature importance of the conversion model on both populations
    pipeline = model.conversion
    coef = np.ravel(pipeline.named_steps["model"].coef_)
    scaler = pipeline.named_steps["scale"]
    spreads = {}
    for name, bs, as_of in (
        ("CDNOW customers", behaviours, CAL_END),
        ("generated visitors", web_behaviours, SYNTHETIC_END.date()),
    ):
        X = model_matrix(
            History.from_behaviours(bs), cut_of(as_of), model.conversion_label_days, model.bg
        )
        Z = scaler.transform(transform(X))
        spreads[name] = np.abs(coef) * Z.std(axis=0)

    exported = ev["exported"]
    return {
        "metadata": md,
        "window": {
            "transactions": ev["transactions"],
            "first_day": min(r[1] for r in rows).isoformat(),
            "calibration_end": CAL_END.isoformat(),
            "holdout_end": HOLD_END.isoformat(),
            "holdout_days": horizon,
            "customers": len(customers),
            "buyers": int(ev["bought"].sum()),
            "spend": float(ev["spend"].sum()),
            "ours_version": next(iter(exported.values()))["model_version"],
            "baseline_params": ev["base"]["params"],
        },
        "bought": ev["bought"],
        "spend": ev["spend"],
        "predictions": {
            OURS: {"p": ev["conv"], "clv": ev["clv_pred"]},
            DEFAULT: {"p": default_p, "clv": default_clv},
            BASELINE: {
                "p": ev["base"]["p_purchase"],
                "clv": ev["base"]["clv"],
                "expected": ev["base"]["expected"],
            },
        },
        "importance": {
            "features": list(MODEL_FEATURES),
            "coef": coef,
            "spread": spreads,
            "method": IMPORTANCE_METHOD,
        },
        "types": {
            "customer_types": list(customer_types.TYPES),
            "persuasion_types": _persuasion_types(),
            "CDNOW customers": {
                "customer": [s.get("customer_type") for s in cd_scores],
                "persuasion": [s.get("persuasion_type") for s in cd_scores],
            },
            "generated visitors": {
                "customer": [s.get("customer_type") for s in web_scores],
                "persuasion": [s.get("persuasion_type") for s in web_scores],
                "true_customer": [v.customer_type for v in visitors_list],
                "true_persuasion": [v.persuasion_type for v in visitors_list],
                "seed": VISITOR_SEED,
                "as_of": SYNTHETIC_END.date().isoformat(),
            },
        },
    }


def _persuasion_types() -> list[str]:
    from chalicelib.predict.fields import PERSUASION_TYPES

    return list(PERSUASION_TYPES)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument(
        "--visitors",
        type=int,
        default=5000,
        help="generated visitors to score for the type distributions",
    )
    args = parser.parse_args(argv)
    data = collect(args.visitors)
    written = write_report(data, args.out)
    columns, rows = metrics_rows(data)
    print(f"\n{'metric':34} " + " ".join(f"{c:>20}" for c in columns))
    for name, values in rows:
        print(f"{name:34} " + " ".join(f"{format_metric(v):>20}" for v in values))
    print(
        "\nwrote "
        + ", ".join(
            str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p) for p in written.values()
        )
    )


if __name__ == "__main__":
    main()
