"""What the product's features can reach on a log at all: learners fitted on the holdout's own
labels, out of fold, as a ceiling for any model trained before the holdout.

Why: issue 12's goals for CDNOW are thresholds (e.g. a 273-day normalised Gini >= 0.72). This
bench asks whether any model that reads the product's features as of the calibration end can
reach them: the logistic and Poisson recipes of the product and gradient-boosted trees are
fitted on the holdout's own outcomes, 10-fold cross-validated (each customer scored by a model
that did not see them), repeated with other folds. A model trained on calibration data only
has less to learn from, so it should not be expected above these figures; BG/NBD (fitted on the
calibration rows, as the product fits it) is printed beside them.

This reads the holdout's labels to fit, so it chooses nothing: no recipe, weight or setting of
the product is taken from it (the product's choices are made on validation windows inside the
calibration period: bench/blend_cdnow.py, bench/learners_cdnow.py).

    .venv/bin/python bench/ceiling_cdnow.py [--repeats 3] [--more-features]
    .venv/bin/python bench/ceiling_cdnow.py --transactions log.csv \\
        --calibration-end 2011-06-30 --holdout-days 160
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression, PoissonRegressor  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from chalicelib.predict import bgnbd, gamma_gamma, metrics, transactions  # noqa: E402
from chalicelib.predict.bg_values import BGValues  # noqa: E402
from chalicelib.predict.features import History, seen_before, window_outcomes  # noqa: E402
from chalicelib.predict.model import (  # noqa: E402
    MODEL_FEATURES,
    Dataset,
    fit_bgnbd,
    model_matrix,
    transform,
)

FOLDS = 10
P_BG = MODEL_FEATURES.index("bg_p_purchase")


def more_features(history: History, cut: int) -> np.ndarray:
    """Five more columns per profile from its purchase days before `cut`, beyond what the
    product reads (issue 12's "a spend model that uses the first purchase"): the first day's
    amount, the largest day's, their spread, the mean log amount, and the days from the first
    purchase day to the second (0 for one)."""
    out = np.zeros((history.n, 5))
    before = history.p_day < cut
    idx, day, amount = history.p_idx[before], history.p_day[before], history.p_amount[before]
    order = np.lexsort((day, idx))
    idx, day, amount = idx[order], day[order], amount[order]
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    for begin, end in zip(starts, np.r_[starts[1:], idx.size]):
        values = amount[begin:end]
        gap = day[begin + 1] - day[begin] if end - begin > 1 else 0
        out[idx[begin]] = (values[0], values.max(), values.std(), np.log1p(values).mean(), gap)
    return np.log1p(np.abs(out))


def classifiers() -> dict:
    return {
        "logistic (the product's recipe)": make_pipeline(
            StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)
        ),
        "gradient-boosted trees": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, random_state=0
        ),
    }


def regressors() -> dict:
    return {
        "Poisson (the product's recipe)": make_pipeline(
            StandardScaler(), PoissonRegressor(alpha=1e-3, max_iter=3000)
        ),
        "gradient-boosted trees (Poisson)": HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=8,
            min_samples_leaf=40,
            random_state=0,
        ),
    }


def out_of_fold(model, X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each row's prediction by a model fitted on the other folds only."""
    if y.dtype == bool:
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        return cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    return cross_val_predict(model, X, y, cv=KFold(FOLDS, shuffle=True, random_state=seed))


def conversion_figures(y: np.ndarray, p: np.ndarray) -> dict:
    return {
        "AUC": metrics.auc(y, p),
        "Brier": metrics.brier(y, p),
        "log loss": metrics.log_loss(y, p),
        "ECE": metrics.expected_calibration_error(y, p),
    }


def spend_figures(spend: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "Gini": metrics.normalized_gini(spend, predicted),
        "predicted / actual": metrics.spend_ratio(spend, predicted),
    }


def ceiling(X, target, learners: dict, figures, repeats: int) -> dict:
    """Each learner's figures, out of fold, over `repeats` fold draws: name -> figure -> list."""
    found = {}
    for name, learner in learners.items():
        for seed in range(repeats):
            for k, v in figures(target, out_of_fold(learner, X, target, seed)).items():
                found.setdefault(name, {}).setdefault(k, []).append(v)
    return found


def show(title: str, peer: dict, found: dict) -> None:
    print(f"\n{title}")
    names = list(peer)
    print(f"{'':48}" + "".join(f"{n:>26}" for n in names))
    print(
        f"{'BG/NBD, fitted on the calibration rows':48}"
        + "".join(f"{peer[n]:26.4f}" for n in names)
    )
    for learner, values in found.items():
        cells = [
            f"{np.mean(values[n]):.4f} [{min(values[n]):.4f}, {max(values[n]):.4f}]" for n in names
        ]
        print(f"{learner:48}" + "".join(f"{c:>26}" for c in cells))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", help="a CSV log (customer,date,amount); default CDNOW")
    parser.add_argument("--calibration-end", type=date.fromisoformat, default=date(1997, 9, 30))
    parser.add_argument("--holdout-days", type=int, default=273)
    parser.add_argument("--conversion-days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--more-features", action="store_true", help="add more_features() to the product's"
    )
    args = parser.parse_args(argv)
    rows = (
        transactions.read_csv(args.transactions)
        if args.transactions
        else transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")
    )
    history = History.from_behaviours(transactions.behaviours(rows)[1])
    cut = args.calibration_end.toordinal() + 1
    seen = seen_before(history, cut)
    bg = fit_bgnbd([Dataset(history, cut)])
    print(
        f"{int(seen.sum())} customers before {date.fromordinal(cut)}; 10-fold out of fold, "
        f"{args.repeats} fold draws: mean [min, max]"
    )

    def read(days: int):
        """(BG/NBD's P(purchase), the learners' inputs, bought, spent) within `days`."""
        X = model_matrix(history, cut, days, bg)[seen]
        bought, spend = (a[seen] for a in window_outcomes(history, cut, cut + days))
        if min(bought.sum(), (~bought).sum()) < FOLDS:
            raise SystemExit(
                f"{int(bought.sum())} of {len(bought)} bought within {days} days: "
                f"{FOLDS}-fold needs {FOLDS} buyers and {FOLDS} who did not"
            )
        features = np.nan_to_num(transform(X))
        if args.more_features:
            features = np.column_stack([features, more_features(history, cut)[seen]])
        return np.nan_to_num(X[:, P_BG]), features, bought, spend

    at = {days: read(days) for days in (args.conversion_days, args.holdout_days)}
    for days, (p_bg, features, bought, _) in at.items():
        show(
            f"conversion within {days} days ({int(bought.sum())} bought)",
            conversion_figures(bought, p_bg),
            ceiling(features, bought, classifiers(), conversion_figures, args.repeats),
        )
    _, features, _, spend = at[args.holdout_days]
    gg = gamma_gamma.fit_history(history, cut)
    bgv = BGValues(bg, *bgnbd.summary(history, cut))
    classic = np.zeros(len(seen))  # a profile that never bought: no classic spend
    classic[bgv.customer] = gamma_gamma.classic_spend(gg, bgv, history, cut, args.holdout_days)
    show(
        f"spend within {args.holdout_days} days (BG/NBD row: x Gamma-Gamma, the spend blend's peer)",
        spend_figures(spend, np.nan_to_num(classic[seen])),
        ceiling(features, spend, regressors(), spend_figures, args.repeats),
    )


if __name__ == "__main__":
    main()
