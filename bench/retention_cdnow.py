"""Churn risk, next order date and lifecycle stage on the CDNOW sample, against BG/NBD and a naive
rule, in one run.

Protocol: the retention parameters are fitted on the calibration period only (purchases up to
1997-09-30; their choices are made on a validation split in time inside it, retention_fit.py);
the holdout (1997-10-01 to 1998-06-30) is read once, at the end, for the figures. BG/NBD is
lifetimes' BetaGeoFitter on the same calibration rows (benchmark-only dependency).

- Churn risk at N days (default 90) for every customer: AUC (churned = positive), Brier score and
  expected calibration error (10 bins), against BG/NBD's 1 - P(purchase in N days), with
  bootstrap 95 % intervals (customers resampled) and paired intervals of the differences.
- Next order date for repeat customers (2+ purchase days) who order again in the holdout:
  median absolute error in days against the actual first holdout order, against the naive
  "last order + average gap" and BG/NBD's median time to the next purchase of a live customer.
- Lifecycle stage at the calibration end, what share of each stage bought in the next N days,
  and the transition table to the stage N days later.

    .venv/bin/python bench/retention_cdnow.py [--horizon 90] [--bootstrap 1000]
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

from chalicelib.predict import metrics, retention, retention_fit, transactions  # noqa: E402
from chalicelib.predict.features import History, matrix, window_outcomes  # noqa: E402
from chalicelib.predict.model import Dataset, fit_bgnbd  # noqa: E402
from chalicelib.predict.scoring import cut_of  # noqa: E402

CAL_END = date(
    1997, 9, 30
)  # last calibration day (tests/conftest.py: CDNOW_CAL_END is the day after)
HOLDOUT_END = date(1998, 6, 30)


def lifetimes_bgnbd(rows, customers: list[str]):
    """lifetimes' BG/NBD on the calibration rows: (params, frequency, recency, T) in weeks."""
    import pandas as pd
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    df = pd.DataFrame(
        [(c, pd.Timestamp(d), a) for c, d, a in rows if d <= CAL_END],
        columns=["id", "date", "amount"],
    )
    s = summary_data_from_transaction_data(
        df, "id", "date", observation_period_end=pd.Timestamp(CAL_END), freq="D"
    ).reindex(customers)
    x, t_x, T = s["frequency"].to_numpy(), s["recency"].to_numpy() / 7, s["T"].to_numpy() / 7
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x, T)
    return bg, x, t_x, T


def bootstrap(statistic, n: int, draws: int, seed: int = 1):
    """(value, low, high) of statistic(indices) over `draws` resamples of n items."""
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, n)) for _ in range(draws)]
    return statistic(np.arange(n)), *np.nanpercentile(values, [2.5, 97.5])


def fmt(v, lo, hi, digits=3):
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def served(behaviours, horizon):
    """The fields as a user gets them: score() with the packaged default model (its BG/NBD and
    the default retention parameters, fitted on this same calibration period)."""
    from chalicelib.predict import artifact
    from chalicelib.predict.scoring import score

    return score(
        behaviours,
        artifact.default_model(),
        CAL_END,
        with_explanations=False,
        churn_horizon=horizon,
    )


def churn(args, history, cut, params, bg_ours, lt, labels_of, rows):
    bg, x, t_x, T = lt
    c = retention.Customers(matrix(history, cut))
    ours = retention.churn_probability(params, c, bg_ours, args.horizon)[0]
    as_served = np.array([rows[i]["churn_risk"] / 100 for i in c.rows.tolist()])
    t = args.horizon / 7
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    alive = np.asarray(bg.conditional_probability_alive(x, t_x, T))
    theirs = 1 - alive * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))
    churned = labels_of(args.horizon)[c.rows].astype(float)
    measures = {
        "AUC": lambda y, p: metrics.auc(y, p),
        "Brier": lambda y, p: float(np.mean((p - y) ** 2)),
        "ECE": lambda y, p: metrics.expected_calibration_error(y, p),
    }
    print(f"\nChurn risk: P(no purchase in {args.horizon} days), {len(churned)} customers, ")
    print(f"{churned.mean():.1%} churned in the holdout; bootstrap 95 % intervals\n")
    print("ours: the parameters fitted here with BG/NBD refitted on the calibration rows; served:")
    print("score() with the packaged default model (rounded as stored)\n")
    head = ("ours", "served", "BG/NBD 1 - P(purchase)", "ours - BG/NBD", "served - BG/NBD")
    print(f"{'measure':8} " + " ".join(f"{h:>26}" for h in head))
    out = {}
    n = len(churned)
    for name, fn in measures.items():
        cells, figures = [], []
        for p in (ours, as_served, theirs):
            figures.append(bootstrap(lambda i: fn(churned[i], p[i]), n, args.bootstrap))
            cells.append(fmt(*figures[-1]))
        for p in (ours, as_served):
            d = bootstrap(
                lambda i: fn(churned[i], p[i]) - fn(churned[i], theirs[i]), n, args.bootstrap
            )
            cells.append(fmt(*d, digits=4))
        print(f"{name:8} " + " ".join(f"{c:>26}" for c in cells))
        out[name] = (figures[1][0], figures[2][0])  # the goal is judged on the served field
    better = out["AUC"][0] > out["AUC"][1] and out["Brier"][0] < out["Brier"][1]
    print(
        f"goal (beats BG/NBD on AUC and Brier at {args.horizon} days): {'met' if better else 'NOT met'}"
    )


def next_order(args, history, cut, params, bg_ours, lt, holdout_next, rows):
    bg, x, t_x, T = lt
    c = retention.Customers(matrix(history, cut))
    actual = holdout_next[c.rows]
    keep = c.repeat & np.isfinite(actual)
    as_of = cut - 1
    last = as_of + 1 - c.recency  # the last purchase day (recency counts from the cut)
    naive = last + c.gap
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    bg_days = 7 * (alpha + T) * (2 ** (1 / (r + x)) - 1)
    served_at = [rows[i].get("next_order_at") for i in c.rows.tolist()]
    candidates = {
        "ours (as served)": np.array(
            [date.fromisoformat(d).toordinal() if d else np.nan for d in served_at]
        ),
        "ours, fitted here": as_of + retention.next_order_days(params, c, bg_ours),
    }
    window = (HOLDOUT_END - CAL_END).days
    matched = {**params, "next_order": {**params["next_order"], "window_days": window}}
    candidates[f"ours, window = holdout ({window} d)"] = as_of + retention.next_order_days(
        matched, c, bg_ours
    )
    candidates["naive: last order + average gap"] = naive
    candidates["BG/NBD median time to next purchase"] = as_of + bg_days
    n = int(keep.sum())
    print(f"\nNext order date: {n} repeat customers who ordered again in the holdout")
    print("median absolute error in days, bootstrap 95 % intervals\n")
    errors = {}
    for name, predicted in candidates.items():
        err = np.abs(predicted[keep] - actual[keep])
        errors[name] = err
        v = bootstrap(lambda i: float(np.median(err[i])), n, args.bootstrap)
        print(f"{name:44} {fmt(*v, digits=1):>24}")
    served = errors["ours (as served)"]
    for name in ("naive: last order + average gap", "BG/NBD median time to next purchase"):
        d = bootstrap(
            lambda i: float(np.median(served[i]) - np.median(errors[name][i])), n, args.bootstrap
        )
        print(f"ours (as served) - {name:36} {fmt(*d, digits=1):>24}")
    beats = all(np.median(served) < np.median(e) for k, e in errors.items() if k[:4] != "ours")
    print(f"goal (beats both baselines on median absolute error): {'met' if beats else 'NOT met'}")


def stages(args, history, cut, params, labels_of):
    cycle = float(params["cycle_days"])
    now = retention.Customers(matrix(history, cut))
    later = retention.Customers(matrix(history, cut + args.horizon))
    a = retention.stages(now.days, now.recency, cycle)
    b = np.full(history.n, -1)
    b[later.rows] = retention.stages(later.days, later.recency, cycle)
    b = b[now.rows]
    bought = ~labels_of(args.horizon)[now.rows]
    print(f"\nLifecycle stage at {CAL_END} (cycle {cycle:.0f} days) and {args.horizon} days later")
    names = retention.STAGES
    print(f"{'stage':10} {'customers':>9} {'bought':>7}  " + " ".join(f"{s[:9]:>9}" for s in names))
    for i, s in enumerate(names):
        m = a == i
        if not m.any():
            continue
        row = " ".join(f"{np.mean(b[m] == j):9.0%}" for j in range(len(names)))
        print(f"{s:10} {int(m.sum()):9d} {bought[m].mean():7.0%}  {row}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--horizon", type=int, default=retention.DEFAULT_CHURN_HORIZON)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    rows = transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")
    ids, behaviours = transactions.behaviours(rows)
    history = History.from_behaviours(behaviours)  # every day; features read before their cut
    cut = cut_of(CAL_END)
    calibration = History.from_behaviours(
        transactions.behaviours([r for r in rows if r[1] <= CAL_END])[1]
    )
    started = time.time()
    params = retention_fit.fit(calibration, cut, args.horizon)
    print(f"fitted on the calibration period in {time.time() - started:.1f} s: {params['choices']}")
    bg_ours = fit_bgnbd([Dataset(calibration, cut)])
    cal_ids = sorted({c for c, d, _ in rows if d <= CAL_END})
    assert cal_ids == transactions.behaviours([r for r in rows if r[1] <= CAL_END])[0]
    position = {c: i for i, c in enumerate(ids)}
    index = np.array([position[c] for c in cal_ids])
    # the calibration customers are everyone in CDNOW's sample (its cohort bought in Q1 1997)
    assert len(index) == history.n, "every CDNOW sample customer first bought in the calibration"
    lt = lifetimes_bgnbd(rows, cal_ids)
    holdout = cut_of(HOLDOUT_END)
    if cut + args.horizon > holdout:
        raise SystemExit("the holdout is shorter than the horizon")

    # --- the holdout is read from here on ---
    def labels_of(days):  # churned: no purchase in [cut, cut + days)
        return ~window_outcomes(history, cut, cut + days)[0]

    m = (history.p_day >= cut) & (history.p_day < holdout)
    holdout_next = np.full(history.n, np.inf)
    np.minimum.at(holdout_next, history.p_idx[m], history.p_day[m].astype(float))
    cal_behaviours = transactions.behaviours([r for r in rows if r[1] <= CAL_END])[1]
    scored = served(cal_behaviours, args.horizon)
    churn(args, history, cut, params, bg_ours, lt, labels_of, scored)
    next_order(args, history, cut, params, bg_ours, lt, holdout_next, scored)
    stages(args, history, cut, params, labels_of)
    print(f"\n(as of {CAL_END}, holdout to {HOLDOUT_END}: {(HOLDOUT_END - CAL_END).days} days)")


if __name__ == "__main__":
    main()
