"""Accuracy of the predictive fields as served, against the classic models, side by side.

Protocol (issue 12): a transaction log split at the end of a calibration period. In one run:
- the packaged default model (chalicelib/predict/artifacts/, no `train`), the default as a
  rescore serves it (its BG/NBD refitted on the project's own history: here the calibration
  rows) and the model the product trains on the calibration rows (its served horizons: 30-day conversion, 365-day CLV), both
  through the scoring code (rounded as stored);
- BG/NBD and Pareto/NBD, each with Gamma-Gamma spend (`lifetimes`, benchmark-only), fitted on
  the same calibration rows;
judged on the holdout at the served 30-day conversion window (AUC, Brier, log loss, ECE, a
reliability table) and at the holdout's length (the 365-day CLV cannot be judged past where the
data stops: 273 days for CDNOW), CLV by normalised Gini, Spearman and total predicted / actual
spend, with paired-bootstrap 95 % intervals on each difference. `--cli-protocol` adds the older
CLI run (import-transactions, train, rescore, export with both horizons at the holdout length).
Then scoring throughput.

    .venv/bin/python bench/accuracy_cdnow.py                       # the CDNOW sample
    .venv/bin/python bench/accuracy_cdnow.py --transactions log.csv \\
        --calibration-end 2011-06-30 --holdout-end 2011-12-09      # any other log

(`make bench-accuracy` installs the benchmark peers first.)
"""

from __future__ import annotations

import argparse
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

from chalicelib.predict import metrics, transactions  # noqa: E402
from chalicelib.predict.features import History, window_outcomes  # noqa: E402


def load(args) -> list[tuple[str, date, float]]:
    if args.transactions:
        return transactions.read_csv(args.transactions)
    return transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")


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


def calibration_summary(rows, cal_end: date):
    """lifetimes' frequency/recency/T/monetary table of the calibration rows, in days."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    df = pd.DataFrame(
        [(c, pd.Timestamp(d), a) for c, d, a in rows if d <= cal_end],
        columns=["id", "date", "amount"],
    )
    return summary_data_from_transaction_data(
        df,
        "id",
        "date",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(cal_end),
        freq="D",
    )


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


def throughput(n: int) -> dict:
    """Features + prediction on n generated profiles (behaviour dicts as stored)."""
    from chalicelib import synthetic
    from chalicelib.behaviour import apply_events, parse_event
    from chalicelib.predict import artifact
    from chalicelib.predict.scoring import score

    visitors = synthetic.generate(2000, seed=5, days=120)
    pool = [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in visitors]
    behaviours = [pool[i % len(pool)] for i in range(n)]
    model = artifact.default_model()
    score(behaviours[:1000], model)  # warm-up
    out = {}
    for explain in (False, True):
        started = time.perf_counter()
        score(behaviours, model, with_explanations=explain)
        elapsed = time.perf_counter() - started
        out["with_explanations" if explain else "fields_only"] = round(n / elapsed)
    return out


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


SERVED_CONVERSION_DAYS = 30  # the product's conversion horizon (CONVERSION_HORIZON_DAYS)
SERVED_CLV_DAYS = 365  # the product's CLV horizon; judged at the holdout's length


def classic_models(rows, cal_end: date, customers: list[str], days: list[int]) -> dict:
    """BG/NBD and Pareto/NBD (lifetimes), each with Gamma-Gamma spend, fitted on the calibration
    rows only: per model, P(a purchase within d days) and expected spend within d days."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    s = calibration_summary(rows, cal_end)
    s = s.reindex(customers)
    x, t_x, T = s["frequency"], s["recency"] / 7.0, s["T"] / 7.0
    repeat = s[s["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    value = np.asarray(gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"]))
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x, T)
    pareto = ParetoNBDFitter(penalizer_coef=0.0).fit(x, t_x, T)
    out = {"BG/NBD": {"p": {}, "clv": {}}, "Pareto/NBD": {"p": {}, "clv": {}}}
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    alive = np.asarray(bg.conditional_probability_alive(x, t_x, T))
    for d in days:
        t = d / 7.0
        # BG/NBD: P(alive) x P(a Poisson purchase within t | alive), in closed form
        out["BG/NBD"]["p"][d] = alive * (
            1 - ((alpha + T.to_numpy()) / (alpha + T.to_numpy() + t)) ** (r + x.to_numpy())
        )
        out["BG/NBD"]["clv"][d] = value * np.asarray(
            bg.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)
        )
        out["Pareto/NBD"]["p"][d] = 1 - np.asarray(
            pareto.conditional_probability_of_n_purchases_up_to_time(0, t, x, t_x, T)
        )
        out["Pareto/NBD"]["clv"][d] = value * np.asarray(
            pareto.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)
        )
    return out


def served_predictions(model, behaviours, cal_end: date, days: list[int]) -> dict:
    """Conversion and predicted spend as served (the scoring code, rounded as stored), at each
    horizon in `days`."""
    from chalicelib.predict.scoring import score

    out = {"p": {}, "clv": {}}
    for d in days:
        rows = score(
            behaviours, model, cal_end, with_explanations=False, conversion_horizon=d, clv_horizon=d
        )
        out["p"][d] = np.array([r["conversion_potential"] / 100 for r in rows])
        out["clv"][d] = np.array([r["clv_predicted"] for r in rows])
    return out


def brier(y, p) -> float:
    return float(np.mean((np.asarray(p, float) - y) ** 2))


def log_loss(y, p) -> float:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def total_ratio(spend, clv) -> float:
    return float(np.sum(clv) / np.sum(spend))


CONVERSION_METRICS = (
    ("AUC", metrics.auc),
    ("Brier", brier),
    ("log loss", log_loss),
    ("ECE", metrics.expected_calibration_error),
)
CLV_METRICS = (
    ("Gini", metrics.normalized_gini),
    ("Spearman", metrics.spearman),
    ("predicted/actual", total_ratio),
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
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        (
            f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
            int((which == b).sum()),
            float(p[which == b].mean()),
            float(y[which == b].mean()),
        )
        for b in range(bins)
        if (which == b).any()
    ]


def served_report(rows, cal_end: date, hold_end: date, n_boot: int = 1000, seed: int = 0):
    """The served default model and the model trained on the calibration data, at the served
    conversion horizon and at the holdout's length, against BG/NBD and Pareto/NBD (+ Gamma-Gamma)
    fitted on the same calibration rows. The holdout is read once, here, for the report."""
    from chalicelib.predict import artifact
    from chalicelib.predict.model import Dataset, fit
    from chalicelib.predict.training import fit_population_bgnbd, with_bgnbd

    hold_days = (hold_end - cal_end).days
    days = [SERVED_CONVERSION_DAYS, hold_days]
    customers = sorted({c for c, d, _ in rows if d <= cal_end})
    ids, cal_behaviours = transactions.behaviours([r for r in rows if r[1] <= cal_end])
    index = {c: i for i, c in enumerate(ids)}
    cal_behaviours = [cal_behaviours[index[c]] for c in customers]
    ids, all_behaviours = transactions.behaviours([r for r in rows if r[1] <= hold_end])
    index = {c: i for i, c in enumerate(ids)}
    history = History.from_behaviours([all_behaviours[index[c]] for c in customers])
    start = cal_end.toordinal() + 1
    labels = {d: window_outcomes(history, start, start + d) for d in days}

    started = time.time()
    trained = fit(
        [Dataset(History.from_behaviours(cal_behaviours), start)],
        SERVED_CONVERSION_DAYS,
        SERVED_CLV_DAYS,
    )
    train_seconds = time.time() - started
    # what a rescore serves on the default model: its pipelines with BG/NBD refitted on the
    # project's own history (here: the calibration rows), never pooled with other data
    default = artifact.default_model()
    bg = fit_population_bgnbd(History.from_behaviours(cal_behaviours), start)
    refit = with_bgnbd(default, bg, "the calibration rows") if bg else default
    models = {
        "default (packaged)": served_predictions(default, cal_behaviours, cal_end, days),
        "default (served)": served_predictions(refit, cal_behaviours, cal_end, days),
        "trained": served_predictions(trained, cal_behaviours, cal_end, days),
    }
    classic = classic_models(rows, cal_end, customers, days)
    rng = np.random.default_rng(seed)

    print(
        f"{len(customers)} calibration customers (to {cal_end}); holdout to {hold_end} "
        f"({hold_days} days, where CDNOW's holdout stops: the 365-day CLV is judged at "
        f"{hold_days} days); trained model: 30/365-day horizons, fitted in {train_seconds:.0f}s"
    )
    print("no model choice is made here: one recipe; the holdout is read once, for this report")
    for d in days:
        bought, spend = labels[d]
        y = bought.astype(float)
        print(
            f"\n== {d}-day window: {int(bought.sum())} of {len(y)} bought, spend {spend.sum():,.2f}"
        )
        table = {
            **{k: (v["p"][d], v["clv"][d]) for k, v in models.items()},
            **{k: (v["p"][d], v["clv"][d]) for k, v in classic.items()},
        }
        names = [n for n, _ in CONVERSION_METRICS] + [n for n, _ in CLV_METRICS]
        print(f"{'model':18}" + "".join(f"{n:>17}" for n in names))
        for name, (p, clv) in table.items():
            values = [fn(y, p) for _, fn in CONVERSION_METRICS] + [
                fn(spend, clv) for _, fn in CLV_METRICS
            ]
            print(f"{name:18}" + "".join(f"{v:17.4f}" for v in values))
        print(
            "differences (ours - classic), paired bootstrap 95 % interval over customers, "
            f"{n_boot} resamples:"
        )
        for ours_name, (p, clv) in list(table.items())[: len(models)]:
            for classic_name in classic:
                cp, cc = table[classic_name]
                cells = [paired_interval(fn, y, p, cp, rng, n_boot) for _, fn in CONVERSION_METRICS]
                cells += [paired_interval(fn, spend, clv, cc, rng, n_boot) for _, fn in CLV_METRICS]
                print(
                    f"  {ours_name} - {classic_name}: "
                    + ", ".join(
                        f"{n} {v:+.4f} [{lo:+.4f}, {hi:+.4f}]"
                        for n, (v, lo, hi) in zip(names, cells)
                    )
                )
    d = SERVED_CONVERSION_DAYS
    y = labels[d][0].astype(float)
    print(f"\nreliability, {d}-day conversion (bin: profiles, mean predicted -> observed)")
    for name in list(models) + list(classic):
        p = (models.get(name) or classic.get(name))["p"][d]
        print(
            f"  {name:18} "
            + "; ".join(f"{b}: {n}, {m:.3f}->{o:.3f}" for b, n, m, o in reliability(y, p))
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=Path)
    parser.add_argument("--calibration-end", type=date.fromisoformat, default=date(1997, 9, 30))
    parser.add_argument("--holdout-end", type=date.fromisoformat, default=date(1998, 6, 30))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--throughput-profiles", type=int, default=100_000)
    parser.add_argument(
        "--cli-protocol",
        action="store_true",
        help="also run the CLI protocol (import, train, rescore, export) with "
        "both horizons at the holdout length",
    )
    args = parser.parse_args(argv)
    rows = load(args)
    served_report(rows, args.calibration_end, args.holdout_end, args.bootstrap)
    if args.cli_protocol:
        cli_protocol(rows, args)
    rates = throughput(args.throughput_profiles)
    print(
        f"\nscoring throughput, features + prediction, {args.throughput_profiles} profiles: "
        f"{rates['fields_only']:,} profiles/s (fields only), "
        f"{rates['with_explanations']:,} profiles/s (with explanations)"
    )


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


if __name__ == "__main__":
    main()
