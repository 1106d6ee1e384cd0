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
(Scoring throughput: bench/scoring_speed.py.)

    .venv/bin/python bench/accuracy_cdnow.py                       # the CDNOW sample
    .venv/bin/python bench/accuracy_cdnow.py --transactions log.csv \\
        --calibration-end 2011-06-30 --holdout-end 2011-12-09      # any other log

(`make bench-accuracy` installs the benchmark peers first.)
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

from accuracy_stats import CLV_METRICS, CONVERSION_METRICS, paired_interval, reliability  # noqa: E402

from chalicelib.predict import transactions  # noqa: E402
from chalicelib.predict.features import History, window_outcomes  # noqa: E402

SERVED_CONVERSION_DAYS = 30  # the product's conversion horizon (CONVERSION_HORIZON_DAYS)
SERVED_CLV_DAYS = 365  # the product's CLV horizon; judged at the holdout's length


def load(args) -> list[tuple[str, date, float]]:
    if args.transactions:
        return transactions.read_csv(args.transactions)
    return transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")


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


def split(rows, cal_end: date, hold_end: date):
    """(calibration customers, their behaviour documents before cal_end, their history up to
    hold_end), customers in one order."""
    customers = sorted({c for c, d, _ in rows if d <= cal_end})
    ids, cal = transactions.behaviours([r for r in rows if r[1] <= cal_end])
    index = {c: i for i, c in enumerate(ids)}
    cal = [cal[index[c]] for c in customers]
    ids, full = transactions.behaviours([r for r in rows if r[1] <= hold_end])
    index = {c: i for i, c in enumerate(ids)}
    return customers, cal, History.from_behaviours([full[index[c]] for c in customers])


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


def served_report(rows, cal_end: date, hold_end: date, n_boot: int = 1000, seed: int = 0):
    """The served default model and the model trained on the calibration data, at the served
    conversion horizon and at the holdout's length, against BG/NBD and Pareto/NBD (+ Gamma-Gamma)
    fitted on the same calibration rows. The holdout is read once, here, for the report."""
    from chalicelib.predict import artifact
    from chalicelib.predict.model import Dataset, fit
    from chalicelib.predict.training import for_population

    hold_days = (hold_end - cal_end).days
    days = [SERVED_CONVERSION_DAYS, hold_days]
    customers, cal_behaviours, history = split(rows, cal_end, hold_end)
    start = cal_end.toordinal() + 1
    labels = {d: window_outcomes(history, start, start + d) for d in days}

    started = time.time()
    trained = fit(
        [Dataset(History.from_behaviours(cal_behaviours), start)],
        SERVED_CONVERSION_DAYS,
        SERVED_CLV_DAYS,
    )
    train_seconds = time.time() - started
    # the tuned path: a shop that wants to predict the holdout's length sets both horizons to it
    # (CONVERSION_HORIZON_DAYS, CLV_HORIZON_DAYS) and trains
    tuned = fit(
        [Dataset(History.from_behaviours(cal_behaviours), start)],
        hold_days,
        hold_days,
    )
    # what a rescore serves on the default model: its pipelines with BG/NBD refitted on the
    # project's own history (here: the calibration rows), never pooled with other data
    default = artifact.default_model()
    refit = (
        for_population(default, History.from_behaviours(cal_behaviours), start, "the calibration")
        or default
    )
    models = {
        "default (packaged)": served_predictions(default, cal_behaviours, cal_end, days),
        "default (served)": served_predictions(refit, cal_behaviours, cal_end, days),
        "trained": served_predictions(trained, cal_behaviours, cal_end, days),
        f"trained {hold_days}d": served_predictions(tuned, cal_behaviours, cal_end, days),
    }
    classic = classic_models(rows, cal_end, customers, days)
    rng = np.random.default_rng(seed)

    print(
        f"{len(customers)} calibration customers (to {cal_end}); holdout to {hold_end} "
        f"({hold_days} days, where CDNOW's holdout stops: the 365-day CLV is judged at "
        f"{hold_days} days); trained model: 30/365-day horizons, fitted in {train_seconds:.0f}s; "
        f"'trained {hold_days}d': both horizons at {hold_days} days (the tuned path)"
    )
    print(
        "no model choice is made here: one recipe; the holdout is read once, for this report; "
        "the conversion blend's weights (pipeline share against BG/NBD, chosen on windows "
        f"before {cal_end}): served default {refit.blend_weight}, trained {trained.blend_weight}, "
        f"tuned {tuned.blend_weight}; the served default's spend blend (pipeline share against "
        f"the population's BG/NBD x Gamma-Gamma): {(refit.spend_blend or {}).get('weight', 1.0)}"
    )
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


def currency_report(rows, cal_end: date, hold_end: date, factors=(0.01, 10.0, 1000.0)) -> None:
    """The served default on the same customers in other currencies (every amount x factor):
    with the money scale (the default reads a shop's amounts at the scale it learned, serves spend
    at the shop's) and without it (the default as before: its prior without an order value)."""
    from dataclasses import replace

    from chalicelib.predict import artifact
    from chalicelib.predict.metrics import auc, brier
    from chalicelib.predict.training import for_population

    hold_days = (hold_end - cal_end).days
    start = cal_end.toordinal() + 1
    default = artifact.default_model()
    unscaled = replace(
        default, prior={k: v for k, v in default.prior.items() if k != "order_value"}
    )
    print(
        "\n== the served default in other currencies (every amount x factor; conversion at "
        f"{SERVED_CONVERSION_DAYS} days, spend at {hold_days}):"
    )
    for factor in (1.0,) + tuple(factors):
        _, cal, history = split([(c, d, a * factor) for c, d, a in rows], cal_end, hold_end)
        bought, _ = window_outcomes(history, start, start + SERVED_CONVERSION_DAYS)
        _, spend = window_outcomes(history, start, start + hold_days)
        for name, base in (("with the money scale", default), ("without", unscaled)):
            model = for_population(base, History.from_behaviours(cal), start, "x") or base
            out = served_predictions(model, cal, cal_end, [SERVED_CONVERSION_DAYS, hold_days])
            p, clv = out["p"][SERVED_CONVERSION_DAYS], out["clv"][hold_days]
            y = bought.astype(float)
            print(
                f"  x{factor:<7g} {name:21} scale {model.money_scale:>8g}, blend "
                f"{model.blend_weight}: AUC {auc(y, p):.4f}, Brier {brier(y, p):.5f}, "
                f"predicted / actual spend {clv.sum() / spend.sum():.3f}"
            )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=Path)
    parser.add_argument("--calibration-end", type=date.fromisoformat, default=date(1997, 9, 30))
    parser.add_argument("--holdout-end", type=date.fromisoformat, default=date(1998, 6, 30))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--cli-protocol",
        action="store_true",
        help="also run the CLI protocol (import, train, rescore, export) with "
        "both horizons at the holdout length",
    )
    args = parser.parse_args(argv)
    rows = load(args)
    served_report(rows, args.calibration_end, args.holdout_end, args.bootstrap)
    currency_report(rows, args.calibration_end, args.holdout_end)
    if args.cli_protocol:
        from accuracy_cli_protocol import cli_protocol

        cli_protocol(rows, args)


if __name__ == "__main__":
    main()
