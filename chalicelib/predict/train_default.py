"""Trains the default model shipped in chalicelib/predict/artifacts/ (`make model`).

Data: the CDNOW sample's calibration period only (purchases before 1997-10-01, data/cdnow/) for
purchase behaviour, and generated web visitors (chalicelib/synthetic.py, seed 11) for visitors who
have not bought yet. Never the CDNOW holdout period, never any other copy of the CDNOW log.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from .. import synthetic
from ..behaviour import apply_events, parse_event
from . import artifact, customer_types, persuasion, promotion, transactions
from .features import F, History
from .model import Dataset, fit
from .scoring import cut_of, score
from .training import evaluate, finish, split

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT / "data" / "cdnow" / "CDNOW_sample.txt"
CDNOW_AS_OF = date(1997, 9, 30)  # last day of the calibration period
SYNTHETIC_END = datetime(2025, 12, 31, tzinfo=timezone.utc)
SYNTHETIC_VISITORS = 12_000
VERSION = "default-2"


def synthetic_population(n: int, seed: int = 11):
    visitors = synthetic.generate(n, seed=seed, end=SYNTHETIC_END, days=240, prefix="s")
    behaviours = [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in visitors]
    return visitors, behaviours


def build(conversion_horizon: int = 30, clv_horizon: int = 365):
    started = time.time()
    rows = transactions.read_cdnow(CDNOW, before=date(1997, 10, 1))
    cd_ids, cd_behaviours = transactions.behaviours(rows)
    visitors, web_behaviours = synthetic_population(SYNTHETIC_VISITORS)
    syn_as_of = SYNTHETIC_END.date()
    cd_hist = History.from_behaviours(cd_behaviours)
    web_hist = History.from_behaviours(web_behaviours)
    datasets = [
        Dataset(cd_hist, cut_of(CDNOW_AS_OF), "cdnow"),
        Dataset(web_hist, cut_of(syn_as_of), "synthetic", visitors_only=True),
    ]

    # backtest on a held-out 20 % of each population, then fit on everything
    cd_test = split(cd_ids)
    web_test = split([v.profile_id for v in visitors])
    sub = lambda bs, mask, keep: History.from_behaviours([b for b, t in zip(bs, mask) if t == keep])  # noqa: E731
    held_out = fit(
        [
            Dataset(sub(cd_behaviours, cd_test, False), cut_of(CDNOW_AS_OF)),
            Dataset(sub(web_behaviours, web_test, False), cut_of(syn_as_of), visitors_only=True),
        ],
        conversion_horizon,
        clv_horizon,
    )
    backtest = {
        "cdnow": evaluate(
            held_out,
            sub(cd_behaviours, cd_test, True),
            cut_of(CDNOW_AS_OF),
            held_out.conversion_label_days,
        ),
        "synthetic": evaluate(
            held_out,
            sub(web_behaviours, web_test, True),
            cut_of(syn_as_of),
            held_out.conversion_label_days,
        ),
    }
    model = fit(datasets, conversion_horizon, clv_horizon)
    model.metadata = {
        "version": VERSION,
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_data": {
            "cdnow": f"{len(cd_ids)} customers, {len(rows)} purchases from 1997-01-01 to "
            f"{CDNOW_AS_OF} (the calibration period of data/cdnow/CDNOW_sample.txt)",
            "synthetic": f"{SYNTHETIC_VISITORS} generated visitors (chalicelib/synthetic.py, seed "
            f"11), 240 days to {syn_as_of}",
        },
        "backtest": backtest,
        "trained_what": {
            "conversion and spend pipelines, customers' rows": "cdnow",
            "conversion and spend pipelines, rows of visitors who had not bought": "synthetic "
            "(a CDNOW profile starts at its first order; a generated visitor's rows as a "
            "customer train nothing)",
            "BG/NBD": "cdnow (a rescore replaces it with the project's own)",
            "conversion blend weight": "cdnow windows before 1997-10-01 (a rescore chooses "
            "it again on the project's own customers)",
        },
    }
    model.metadata["served_backtest"] = served_backtest(
        cd_ids, cd_behaviours, web_behaviours, visitors, conversion_horizon, clv_horizon
    )
    # no retention parameters of its own: its populations end on different dates, so the
    # default serves artifacts/retention_default.json, fitted on CDNOW's calibration period
    finish(model, cd_behaviours + web_behaviours, syn_as_of, with_retention=False)
    model.metadata["customer_type_thresholds"] = type_thresholds(
        model, cd_behaviours, web_behaviours
    )
    model.metadata["synthetic_ground_truth"] = ground_truth_recovery(
        model, visitors, web_behaviours, syn_as_of
    )
    model.metadata["training_seconds"] = round(time.time() - started, 1)
    return model


def served_backtest(
    cd_ids, cd_behaviours, web_behaviours, visitors, conversion_horizon=30, clv_horizon=365
) -> dict:
    """The model card's figures: the default recipe (CDNOW + generated visitors) judged at the
    served conversion horizon on promotion.FOLDS rolling windows at the end of CDNOW's
    calibration period, on the 20 % of CDNOW customers it does not train on, against BG/NBD
    fitted on the other 80 % (promotion.backtest)."""
    cd_test = split(cd_ids)
    web_test = split([v.profile_id for v in visitors])
    cd_train = History.from_behaviours([b for b, t in zip(cd_behaviours, cd_test) if not t])
    web_train = History.from_behaviours([b for b, t in zip(web_behaviours, web_test) if not t])
    cd_cut, web_cut = cut_of(CDNOW_AS_OF), cut_of(SYNTHETIC_END.date())

    def fit_before(shift: int):
        return fit(
            [
                Dataset(cd_train, cd_cut - shift),
                Dataset(web_train, web_cut - shift, visitors_only=True),
            ],
            conversion_horizon,
            clv_horizon,
        )

    result = promotion.backtest(
        fit_before,
        cd_train,
        History.from_behaviours([b for b, t in zip(cd_behaviours, cd_test) if t]),
        cd_cut,
        conversion_horizon,
        clv_horizon,
        test_description=f"{int(cd_test.sum())} CDNOW customers held out of training",
    )
    return {**promotion.card(result), "computed_at": _now()}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def type_thresholds(model, cd_behaviours, web_behaviours) -> dict:
    """The customer types' thresholds from the default's two populations, each as of its own
    as-of date (CDNOW's customers as of 2025 would have a tenure of 28 years)."""
    parts = []
    for behaviours, as_of in ((cd_behaviours, CDNOW_AS_OF), (web_behaviours, SYNTHETIC_END.date())):
        out = model.predict(History.from_behaviours(behaviours), cut_of(as_of))
        X = out["features"]
        parts.append((X, X[:, F["spend"]] + np.maximum(out["clv_predicted"], 0)))
    X = np.vstack([p[0] for p in parts])
    clv = np.concatenate([p[1] for p in parts])
    return customer_types.thresholds_from(X, clv, X[:, F["page_views"]])


def refresh_metadata(directory: Path, backtest: bool) -> dict:
    """Recompute the packaged default's customer-type thresholds and ground-truth figures (and,
    with `backtest`, its served backtest) in its metadata; the skops file, and so the model and
    its checksum, stay as they are."""
    rows = transactions.read_cdnow(CDNOW, before=date(1997, 10, 1))
    cd_ids, cd_behaviours = transactions.behaviours(rows)
    visitors, web_behaviours = synthetic_population(SYNTHETIC_VISITORS)
    path = directory / "default.json"
    metadata = json.loads(path.read_text())
    model = artifact.load(directory, "default")
    if backtest:
        metadata["served_backtest"] = served_backtest(
            cd_ids,
            cd_behaviours,
            web_behaviours,
            visitors,
            metadata["conversion_horizon_days"],
            metadata["clv_horizon_days"],
        )
    metadata["customer_type_thresholds"] = type_thresholds(model, cd_behaviours, web_behaviours)
    model.metadata = metadata
    metadata["synthetic_ground_truth"] = ground_truth_recovery(
        model, visitors, web_behaviours, SYNTHETIC_END.date()
    )
    path.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return {
        k: metadata[k]
        for k in ("served_backtest", "customer_type_thresholds", "synthetic_ground_truth")
        if k in metadata
    }


def majority_class(planted: list[str]) -> dict:
    kinds, counts = np.unique(planted, return_counts=True)
    top = int(np.argmax(counts))
    return {"type": str(kinds[top]), "accuracy": round(float(counts[top] / len(planted)), 3)}


def ground_truth_recovery(model, visitors, behaviours, as_of) -> dict:
    """How often the customer and persuasion types recover what the generator planted."""
    scores = score(behaviours, model, as_of, with_explanations=False)
    typed = [
        (s.get("customer_type"), v.customer_type)
        for s, v in zip(scores, visitors)
        if s.get("customer_type")
    ]
    persuaded = [
        (s.get("persuasion_type"), v.persuasion_type)
        for s, v in zip(scores, visitors)
        if s.get("persuasion_type")
    ]
    p = np.array([s["conversion_potential"] / 100 for s in scores])
    return {
        "customer_type_accuracy": round(float(np.mean([a == b for a, b in typed])), 3),
        "customer_type_coverage": round(len(typed) / len(visitors), 3),
        "persuasion_type_precision": round(float(np.mean([a == b for a, b in persuaded])), 3)
        if persuaded
        else None,
        "persuasion_type_coverage": round(len(persuaded) / len(visitors), 3),
        "chance_level": {
            "customer_type": round(1 / len(customer_types.TYPES), 3),
            "persuasion_type": round(1 / 6, 3),
        },
        # always answering the most common planted type: the baseline the rules must beat
        "majority_class": majority_class([v.customer_type for v in visitors]),
        "customer_type_recall": {
            kind: round(
                float(np.mean([a == b for a, b in typed if b == kind])) if typed else 0.0, 3
            )
            for kind in customer_types.TYPES
        },
        "mean_conversion_potential": round(float(p.mean()), 4),
        "persuasion_rule": f"min {persuasion.MIN_SHOWN} exposures, confidence "
        f"{persuasion.MIN_CONFIDENCE}",
        "scored": len(scores),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=artifact.DEFAULT_DIR)
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="recompute the served backtest, customer-type thresholds and ground-truth figures "
        "in the packaged default's metadata, without retraining",
    )
    parser.add_argument(
        "--types-only",
        action="store_true",
        help="recompute only the customer-type thresholds and ground-truth figures",
    )
    args = parser.parse_args(argv)
    if args.card_only or args.types_only:
        print(json.dumps(refresh_metadata(args.out, backtest=args.card_only), indent=2))
        return
    model = build()
    metadata = artifact.save(model, args.out, "default")
    print(
        json.dumps(
            {
                k: metadata[k]
                for k in (
                    "version",
                    "backtest",
                    "synthetic_ground_truth",
                    "clv_reference",
                    "training_seconds",
                )
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
