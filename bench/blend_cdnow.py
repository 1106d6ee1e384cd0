"""The conversion blend (chalicelib/predict/blend.py) judged inside CDNOW's calibration period
only (never the holdout), against BG/NBD fitted before each window, in two parts:

1. Candidates on three 30-day validation windows before 1997-10-01 (every customer; each
   learner trained on the product's rows whose labels end before the window): BG/NBD, the
   product's logistic pipeline, half of each, the logit of BG/NBD's probability as a feature, BG/NBD's
   log-odds as an offset with L2-penalised corrections, small gradient-boosted trees with
   gap features.
2. Nested: the product's `fit` (its blend weight chosen inside its own data) on the data before
   1997-07-03, 08-02 and 09-01, each judged on the 30 days after: the weight as chosen, out of
   sample; beside it, two richer combinations learned on the same windows as the weight
   (stacked log-odds, Platt scaling of the blend), which lost.

Paired-bootstrap 95 % intervals (customers x windows resampled) on each difference from BG/NBD.

    .venv/bin/python bench/blend_cdnow.py [--bootstrap 500]
    .venv/bin/python bench/blend_cdnow.py --rescore-copies 425   # only the rescore step's
        # cost: CDNOW's customers copied 425 times (1,001,725), dates shifted up to 60 days
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.optimize import minimize  # noqa: E402
from scipy.special import expit, logit  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from chalicelib.predict import metrics, promotion, transactions  # noqa: E402
from chalicelib.predict.features import F, History, seen_before, window_outcomes  # noqa: E402
from chalicelib.predict.model import (  # noqa: E402
    MODEL_FEATURES,
    Dataset,
    fit,
    fit_bgnbd,
    model_matrix,
    training_rows,
    transform,
)

DAYS = 30
CUT = date(1997, 10, 1).toordinal()
P_BG = MODEL_FEATURES.index("bg_p_purchase")


def bg_logit(X):
    return logit(np.clip(np.nan_to_num(X[:, P_BG], nan=1e-4), 1e-6, 1 - 1e-6))


def with_logit(X):
    return np.column_stack([transform(X), bg_logit(X)])


def with_gaps(X):
    """with_logit, plus the average gap, the days since the last order in gaps, frequency / T,
    recency / T and a missing flag."""
    days = X[:, F["purchase_days"]]
    last = X[:, F["days_since_last_order"]]
    gap = np.where(
        days > 1, (X[:, F["days_since_first_order"]] - last) / np.maximum(days - 1, 1), np.nan
    )
    T = np.maximum(np.nan_to_num(X[:, F["days_since_first_seen"]], nan=0.0), 1)
    return np.column_stack(
        [
            with_logit(X),
            transform(np.column_stack([gap, np.where(days > 1, last / gap, np.nan)])),
            np.nan_to_num(days / T),
            np.nan_to_num((T - last) / T),
            np.isnan(gap),
        ]
    )


def logistic(C=0.5):
    return Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(C=C, max_iter=5000))]
    )


def offset_logistic(Z, y, offset, penalty):
    """Logistic regression with BG/NBD's log-odds as a fixed offset and L2 corrections."""

    def loss(w):
        eta = offset + Z @ w[1:] + w[0]
        residual = expit(eta) - y
        value = np.sum(np.logaddexp(0, eta) - y * eta) + penalty * np.sum(w[1:] ** 2) / 2
        return value, np.r_[residual.sum(), Z.T @ residual + penalty * w[1:]]

    return minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B").x


def candidates(X, bought, Xt) -> dict:
    out = {"BG/NBD": np.nan_to_num(Xt[:, P_BG], nan=0.0)}
    out["pipeline (product recipe)"] = (
        logistic().fit(transform(X), bought).predict_proba(transform(Xt))[:, 1]
    )
    out["half each"] = (out["BG/NBD"] + out["pipeline (product recipe)"]) / 2
    for C in (0.05, 0.5):
        model = logistic(C).fit(with_logit(X), bought)
        out[f"logit(BG/NBD) as a feature, C={C}"] = model.predict_proba(with_logit(Xt))[:, 1]
    scaler = StandardScaler().fit(transform(X))
    Z, Zt = scaler.transform(transform(X)), scaler.transform(transform(Xt))
    for penalty in (10.0, 1000.0):
        w = offset_logistic(Z, bought.astype(float), bg_logit(X), penalty)
        out[f"BG/NBD offset + L2 corrections, {penalty:g}"] = expit(
            bg_logit(Xt) + Zt @ w[1:] + w[0]
        )
    trees = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.03,
        max_leaf_nodes=8,
        min_samples_leaf=100,
        l2_regularization=1.0,
        random_state=0,
    ).fit(with_gaps(X), bought)
    out["gradient boosting + gap features"] = trees.predict_proba(with_gaps(Xt))[:, 1]
    return out


def report(title, y, pooled, n_boot):
    ref = pooled["BG/NBD"]
    print(f"\n{title}: {len(y)} customer rows, {int(y.sum())} bought")
    print(f"{'':42}{'AUC':>8}{'Brier':>9}{'log loss':>10}   difference from BG/NBD")
    for name, p in pooled.items():
        line = f"{name:42}{metrics.auc(y, p):8.4f}{metrics.brier(y, p):9.5f}{metrics.log_loss(y, p):10.4f}"
        if name != "BG/NBD":
            d = promotion.paired_differences(
                y, np.zeros_like(y), (p, p), (ref, ref), np.random.default_rng(1), n_boot
            )
            line += "   " + ", ".join(
                f"{m} {v[0]:+.4f} [{v[1]:+.4f}, {v[2]:+.4f}]" for m, v in d.items() if m != "gini"
            )
        print(line)


def recalibrations(model, history, end: int, w: float):
    """Two ways to learn more than one weight on the windows the blend is chosen on (the same
    rows as model.fit's, blend.training_windows): logistic stacking of both parts' log-odds
    (3 parameters) and Platt scaling of the blend as chosen (2). Each returns a scorer."""
    from chalicelib.predict import blend

    X, bought, _, lag = training_rows(
        [Dataset(history, end)], DAYS, np.random.default_rng(0), with_lags=True
    )
    found = [
        f
        for f in blend.training_windows(model, [Dataset(history, end)], X, bought, lag)
        if f is not None
    ]
    pipeline, p_bg, y = (np.concatenate([f[k] for f in found]) for k in range(3))
    p_bg = np.nan_to_num(p_bg)

    def log_odds(p):
        return logit(np.clip(p, 1e-5, 1 - 1e-5))

    def both(a, b):
        return np.column_stack([log_odds(a), log_odds(b)])

    stack = LogisticRegression(C=1e4, max_iter=5000).fit(both(pipeline, p_bg), y)
    blended = log_odds(w * pipeline + (1 - w) * p_bg)[:, None]
    platt = LogisticRegression(C=1e4, max_iter=5000).fit(blended, y)
    return (
        lambda a, b: stack.predict_proba(both(a, b))[:, 1],
        lambda p: platt.predict_proba(log_odds(p)[:, None])[:, 1],
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--rescore-copies", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rescore_copies:
        return rescore_cost(args.rescore_copies)
    rows = transactions.read_cdnow(
        ROOT / "data" / "cdnow" / "CDNOW_sample.txt", before=date(1997, 10, 1)
    )
    history = History.from_behaviours(transactions.behaviours(rows)[1])
    rng = np.random.default_rng(0)

    pooled, ys = {}, []
    for k in range(3):
        t0 = CUT - (k + 1) * DAYS
        X, bought, _ = training_rows([Dataset(history, t0)], DAYS, rng)
        seen = seen_before(history, t0)
        Xt = model_matrix(history, t0, DAYS, fit_bgnbd([Dataset(history, t0)]))[seen]
        y, _ = window_outcomes(history, t0, t0 + DAYS)
        ys.append(y[seen].astype(float))
        for name, p in candidates(X, bought, Xt).items():
            pooled.setdefault(name, []).append(p)
    report(
        "1. candidates, three 30-day windows before 1997-10-01",
        np.concatenate(ys),
        {k: np.concatenate(v) for k, v in pooled.items()},
        args.bootstrap,
    )

    pooled, ys = {}, []
    for end in (CUT - 90, CUT - 60, CUT - 30):
        model = fit([Dataset(history, end)], DAYS, 365)
        judged = replace(model, bg=fit_bgnbd([Dataset(history, end)]), conversion_blend=None)
        out = judged.predict_arrays(history, end, DAYS, DAYS)
        customer = out["customer"]
        pipeline, p_bg = out["conversion"][customer], out["conversion_X"][customer, P_BG]
        w = model.blend_weight
        print(f"data to {date.fromordinal(end - 1)}: weight chosen {w}")
        stacked, platt = recalibrations(model, history, end, w)
        blended = w * pipeline + (1 - w) * p_bg
        for name, p in (
            ("BG/NBD", p_bg),
            ("pipeline alone", pipeline),
            ("blend as chosen", blended),
            ("logits stacked on the same windows", stacked(pipeline, p_bg)),
            ("blend, Platt-scaled on the same windows", platt(blended)),
        ):
            pooled.setdefault(name, []).append(p)
        ys.append(window_outcomes(history, end, end + DAYS)[0][customer].astype(float))
    report(
        "2. nested: each model's own choice, judged on the 30 days after its data ends",
        np.concatenate(ys),
        {k: np.concatenate(v) for k, v in pooled.items()},
        args.bootstrap,
    )


def rescore_cost(copies: int) -> None:
    """What a rescore adds before scoring: BG/NBD on the project's customers, then the blend's
    three windows and the spend blend's (training.for_population), on CDNOW's calibration
    customers copied."""
    import time
    from datetime import timedelta

    from chalicelib.predict import artifact, bgnbd, blend
    from chalicelib.predict.training import for_population

    rows = transactions.read_cdnow(
        ROOT / "data" / "cdnow" / "CDNOW_sample.txt", before=date(1997, 10, 1)
    )
    behaviours = transactions.behaviours(rows)[1]
    rng = np.random.default_rng(0)
    many = []
    for _ in range(copies):
        for b in behaviours:
            shift = timedelta(days=int(rng.integers(-60, 1)))
            shifted = {
                (date.fromisoformat(d) + shift).isoformat(): v for d, v in b["purchases"].items()
            }
            many.append({"purchases": shifted})
    history = History.from_behaviours(many)
    customer, x, t_x, T = bgnbd.summary(history, CUT)
    distinct = len(np.unique(np.column_stack([x, t_x, T])[customer], axis=0))
    print(f"{len(many):,} customers, {distinct:,} distinct (x, t_x, T)")
    started = time.time()
    bgnbd.fit(x[customer], t_x[customer], T[customer])
    print(f"one BG/NBD fit: {time.time() - started:.1f} s")
    started = time.time()
    model = for_population(artifact.default_model(), history, CUT, "copies")
    print(
        f"for_population (fit + both blends): {time.time() - started:.1f} s, conversion weight "
        f"{model.blend_weight}, spend weight {model.spend_blend['weight']}"
    )
    started = time.time()
    blend.choose_spend(model, Dataset(history, CUT))
    print(f"of which the spend blend (three windows, Gamma-Gamma): {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
