"""The older accuracy protocol of bench/accuracy_cdnow.py (`--cli-protocol`): the CLI as an operator
runs it (import-transactions, train, rescore, export, both horizons at the holdout's length),
judged on the holdout against BG/NBD + Gamma-Gamma (lifetimes)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy_cdnow import calibration_summary  # noqa: E402

from chalicelib.predict import metrics, transactions  # noqa: E402
from chalicelib.predict.features import History, window_outcomes  # noqa: E402


def cli(data_dir: Path, *argv) -> str:
    env = {**os.environ, "LOCAL_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"cli {argv[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def ours(rows, cal_end: date, horizon: int, work: Path) -> tuple[dict, dict]:
    csv_path = work / "calibration.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "timestamp", "amount"])
        for customer, day, amount in rows:
            if day <= cal_end:
                writer.writerow([customer, day.isoformat(), amount])
    data = work / "store"
    timings = {}
    started = time.time()
    print(
        cli(data, "import-transactions", str(csv_path), "--project", "bench")
        .strip()
        .splitlines()[-1]
    )
    timings["import_seconds"] = time.time() - started
    horizons = ["--conversion-horizon-days", str(horizon), "--clv-horizon-days", str(horizon)]
    started = time.time()
    train = cli(data, "train", "--project", "bench", "--as-of", cal_end.isoformat(), *horizons)
    timings["train_seconds"] = time.time() - started
    status = [line for line in train.splitlines() if '"status"' in line][0].strip()
    print("train:", status)
    started = time.time()
    rescore = cli(data, "rescore", "--project", "bench", "--as-of", cal_end.isoformat(), *horizons)
    timings["rescore_seconds"] = time.time() - started
    timings["rescore_job"] = rescore
    out = work / "export.csv"
    cli(data, "export", "--project", "bench", "--out", str(out))
    with open(out) as fh:
        exported = {r["profile_id"]: r for r in csv.DictReader(fh)}
    return exported, timings


def baseline(rows, cal_end: date, horizon: int, customers: list[str]) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    s = calibration_summary(rows, cal_end)
    s["recency"] /= 7.0
    s["T"] /= 7.0
    s = s.reindex(customers)
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
    t = horizon / 7.0
    expected = bg.conditional_expected_number_of_purchases_up_to_time(
        t, s["frequency"], s["recency"], s["T"]
    )
    expected = np.asarray(expected)
    # P(at least one purchase in t) = P(alive) x P(a Poisson purchase in t | alive)
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    alive = np.asarray(bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"]))
    x, T = s["frequency"].to_numpy(), s["T"].to_numpy()
    p_none = 1 - alive * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))
    repeat = s[s["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    spend = np.asarray(gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"]))
    return {
        "p_purchase": 1 - p_none,
        "expected": expected,
        "clv": expected * spend,
        "params": {k: round(float(v), 4) for k, v in bg.params_.items()},
    }


def holdout_evaluation(rows, cal_end: date, hold_end: date) -> dict:
    """The protocol above, without throughput: per calibration customer (sorted ids), the holdout
    outcomes (`bought`, `spend`), our exported predictions (`conv` in 0-1, `clv_pred`), the
    baseline's (`base`), the exported rows and the CLI timings. Prints its progress lines."""
    horizon = (hold_end - cal_end).days
    cal_customers = sorted({c for c, d, _ in rows if d <= cal_end})
    print(
        f"{len(rows)} transactions; {len(cal_customers)} customers in the calibration period "
        f"(to {cal_end}); holdout {horizon} days to {hold_end}"
    )

    ids, behaviours = transactions.behaviours([r for r in rows if r[1] <= hold_end])
    index = {c: i for i, c in enumerate(ids)}
    history = History.from_behaviours(behaviours)
    bought_all, spend_all = window_outcomes(
        history, cal_end.toordinal() + 1, hold_end.toordinal() + 1
    )
    pick = np.array([index[c] for c in cal_customers])
    bought, spend = bought_all[pick], spend_all[pick]

    with tempfile.TemporaryDirectory() as tmp:
        exported, timings = ours(rows, cal_end, horizon, Path(tmp))
    conv = np.array([float(exported[c]["conversion_potential"]) / 100 for c in cal_customers])
    clv_pred = np.array([float(exported[c]["clv_predicted"]) for c in cal_customers])
    base = baseline(rows, cal_end, horizon, cal_customers)
    return {
        "cal_end": cal_end,
        "hold_end": hold_end,
        "horizon": horizon,
        "transactions": len(rows),
        "customers": cal_customers,
        "bought": bought,
        "spend": spend,
        "conv": conv,
        "clv_pred": clv_pred,
        "base": base,
        "exported": exported,
        "timings": timings,
    }


def metrics_table(bought, spend, conv, clv_pred, base) -> list[tuple[str, float, float]]:
    """(metric, ours, baseline) rows; the baseline's AUC is the better of its P(purchase) and
    its expected purchases."""
    return [
        (
            "AUC, conversion potential",
            metrics.auc(bought, conv),
            max(metrics.auc(bought, base["p_purchase"]), metrics.auc(bought, base["expected"])),
        ),
        (
            "normalised Gini, CLV predicted",
            metrics.normalized_gini(spend, clv_pred),
            metrics.normalized_gini(spend, base["clv"]),
        ),
        (
            "Spearman, CLV predicted",
            metrics.spearman(spend, clv_pred),
            metrics.spearman(spend, base["clv"]),
        ),
        (
            "total predicted / actual spend",
            clv_pred.sum() / spend.sum(),
            base["clv"].sum() / spend.sum(),
        ),
        (
            "expected calibration error",
            metrics.expected_calibration_error(bought, conv),
            metrics.expected_calibration_error(bought, base["p_purchase"]),
        ),
    ]


def cli_protocol(rows, args) -> None:
    ev = holdout_evaluation(rows, args.calibration_end, args.holdout_end)
    bought, spend, base = ev["bought"], ev["spend"], ev["base"]
    exported, timings = ev["exported"], ev["timings"]
    table = metrics_table(bought, spend, ev["conv"], ev["clv_pred"], base)
    print(f"\nbaseline BG/NBD parameters: {base['params']}")
    print(
        f"holdout: {int(bought.sum())} of {len(bought)} customers bought, "
        f"spend {spend.sum():,.2f}; model {next(iter(exported.values()))['model_version']}"
    )
    print(f"\n{'metric':34} {'ours':>10} {'BG/NBD+GG':>10}")
    for name, a, b in table:
        print(f"{name:34} {a:10.4f} {b:10.4f}")
    print("(baseline AUC: the better of P(purchase) and expected purchases)")
    print(
        f"\nimport {timings['import_seconds']:.1f}s, train {timings['train_seconds']:.1f}s, "
        f"rescore {timings['rescore_seconds']:.1f}s (CLI processes, store load/save included)"
    )
