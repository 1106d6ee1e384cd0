"""A report of the current (default) model: `make model-report` writes reports/model-report.md,
reports/model-report.html (self-contained: the plots inlined) and the PNG plots beside them.

What it holds:
- the default model's metadata: version, training data, library versions, its backtest;
- the CDNOW holdout evaluation of bench/accuracy_cdnow.py (its functions, imported): the sample
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
import base64
import html
import re
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_cdnow as bench  # noqa: E402
from chalicelib.predict import metrics  # noqa: E402

CAL_END = date(1997, 9, 30)
HOLD_END = date(1998, 6, 30)
VISITOR_SEED = 29  # the default model's visitors are seed 11: these are unseen
NO_TYPE = "no type"
CALIBRATION_BINS = 10  # as metrics.expected_calibration_error
DPI = 110
# the models of the holdout comparison, in table order; the baseline is always last
OURS, DEFAULT, BASELINE = "ours (CLI-trained)", "default model", "BG/NBD + GG"
COLORS = {OURS: "#1f77b4", DEFAULT: "#2ca02c", BASELINE: "#d62728", "random": "#7f7f7f"}
IMPORTANCE_METHOD = (
    "standardised coefficient x feature spread: for each feature, |coefficient| of the default "
    "model's logistic regression (on log-scaled, standardised features) times the standard "
    "deviation of the standardised feature over a population, i.e. the spread of that feature's "
    "contribution to the log-odds of conversion; sign = direction of the coefficient")


# ---------------------------------------------------------------------------------------------
# collecting the figures (slow: the CLI run of the benchmark, about four minutes)

def collect(visitors: int = 5000) -> dict:
    from chalicelib.predict import artifact, customer_types
    from chalicelib.predict.features import History
    from chalicelib.predict.model import MODEL_FEATURES, model_matrix, transform
    from chalicelib.predict.scoring import cut_of, score
    from chalicelib.predict.train_default import SYNTHETIC_END, synthetic_population
    from chalicelib.predict import transactions

    model = artifact.default_model()
    md = model.metadata
    rows = transactions.read_cdnow(ROOT / "data" / "cdnow" / "CDNOW_sample.txt")
    ev = bench.holdout_evaluation(rows, CAL_END, HOLD_END)
    horizon = ev["horizon"]
    customers = ev["customers"]

    # the default model on the same customers, as of the calibration end, for the holdout length
    ids, behaviours = transactions.behaviours([r for r in rows if r[1] <= CAL_END])
    assert ids == customers
    cd_scores = score(behaviours, model, CAL_END, with_explanations=False,
                      conversion_horizon=horizon, clv_horizon=horizon)
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
    for name, bs, as_of in (("CDNOW customers", behaviours, CAL_END),
                            ("generated visitors", web_behaviours, SYNTHETIC_END.date())):
        X = model_matrix(History.from_behaviours(bs), cut_of(as_of),
                         model.conversion_label_days, model.bg)
        Z = scaler.transform(transform(X))
        spreads[name] = np.abs(coef) * Z.std(axis=0)

    exported = ev["exported"]
    return {
        "metadata": md,
        "window": {
            "transactions": ev["transactions"], "first_day": min(r[1] for r in rows).isoformat(),
            "calibration_end": CAL_END.isoformat(), "holdout_end": HOLD_END.isoformat(),
            "holdout_days": horizon, "customers": len(customers),
            "buyers": int(ev["bought"].sum()), "spend": float(ev["spend"].sum()),
            "ours_version": next(iter(exported.values()))["model_version"],
            "baseline_params": ev["base"]["params"],
        },
        "bought": ev["bought"], "spend": ev["spend"],
        "predictions": {
            OURS: {"p": ev["conv"], "clv": ev["clv_pred"]},
            DEFAULT: {"p": default_p, "clv": default_clv},
            BASELINE: {"p": ev["base"]["p_purchase"], "clv": ev["base"]["clv"],
                       "expected": ev["base"]["expected"]},
        },
        "importance": {"features": list(MODEL_FEATURES), "coef": coef, "spread": spreads,
                       "method": IMPORTANCE_METHOD},
        "types": {
            "customer_types": list(customer_types.TYPES),
            "persuasion_types": _persuasion_types(),
            "CDNOW customers": {
                "customer": [s.get("customer_type") for s in cd_scores],
                "persuasion": [s.get("persuasion_type") for s in cd_scores]},
            "generated visitors": {
                "customer": [s.get("customer_type") for s in web_scores],
                "persuasion": [s.get("persuasion_type") for s in web_scores],
                "true_customer": [v.customer_type for v in visitors_list],
                "true_persuasion": [v.persuasion_type for v in visitors_list],
                "seed": VISITOR_SEED,
                "as_of": SYNTHETIC_END.date().isoformat()},
        },
    }


def _persuasion_types() -> list[str]:
    from chalicelib.predict.fields import PERSUASION_TYPES
    return list(PERSUASION_TYPES)


# ---------------------------------------------------------------------------------------------
# computing what the report shows from the collected arrays (fast, tested)

def metrics_rows(data: dict) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Column names and (metric, values per column) rows: bench.metrics_table for each of our
    models against the baseline (whose column comes from the first call)."""
    preds = data["predictions"]
    ours = [k for k in preds if k != BASELINE]
    base = {"p_purchase": preds[BASELINE]["p"], "clv": preds[BASELINE]["clv"],
            "expected": preds[BASELINE].get("expected", preds[BASELINE]["p"])}
    tables = [bench.metrics_table(data["bought"], data["spend"], preds[k]["p"], preds[k]["clv"],
                                  base) for k in ours]
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
    return [(float(p[which == b].mean()), float(labels[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


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
    return {"coverage": len(typed) / max(len(assigned), 1),
            "accuracy": (sum(a == t for a, t in typed) / len(typed)) if typed else float("nan"),
            "typed": len(typed), "scored": len(assigned)}


def confusion(assigned: list, truth: list, names: list[str]) -> np.ndarray:
    """Rows: the generator's type; columns: the assigned type, then 'no type'."""
    m = np.zeros((len(names), len(names) + 1), dtype=int)
    col = {n: i for i, n in enumerate(names)}
    for a, t in zip(assigned, truth):
        m[col[t], col.get(a, len(names)) if a is not None else len(names)] += 1
    return m


# ---------------------------------------------------------------------------------------------
# plots

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_calibration(data: dict, path: Path, dpi: int = DPI) -> None:
    plt = _pyplot()
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(7, 7.5), height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect")
    bins = np.linspace(0, 1, CALIBRATION_BINS + 1)
    for name, pred in data["predictions"].items():
        points = reliability(data["bought"], pred["p"])
        x, y, n = (np.array(v) for v in zip(*points))
        ece = metrics.expected_calibration_error(data["bought"], pred["p"])
        ax.plot(x, y, marker="o", color=COLORS.get(name), label=f"{name} (ECE {ece:.3f})")
        ax.scatter(x, y, s=12 + 300 * n / n.sum(), color=COLORS.get(name), alpha=0.35)
        hist.hist(pred["p"], bins=bins, histtype="step", linewidth=1.5, color=COLORS.get(name),
                  label=name)
    w = data["window"]
    ax.set_title(f"Reliability: P(purchase within {w['holdout_days']} days) on the CDNOW holdout\n"
                 f"{w['customers']} customers, {w['buyers']} bought; 10 equal-width bins, "
                 "marker area ~ customers in the bin", fontsize=10)
    ax.set_ylabel("observed share that bought in the holdout")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    hist.set_xlabel("predicted probability of a purchase in the holdout")
    hist.set_ylabel("customers")
    hist.set_yscale("log")
    hist.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_gains(data: dict, path: Path, dpi: int = DPI) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    panels = [(axes[0], data["bought"], "p", "holdout buyers",
               "targeting by predicted conversion probability"),
              (axes[1], data["spend"], "clv", "holdout spend",
               "targeting by predicted spend (CLV)")]
    for ax, actual, key, what, how in panels:
        x, y = gains(actual, actual)
        ax.plot(x, y, color="#bbbbbb", linestyle=":", label="perfect")
        for name, pred in data["predictions"].items():
            x, y = gains(actual, pred[key])
            ax.plot(x, y, color=COLORS.get(name),
                    label=f"{name} (top 20 %: {targeted_share(x, y, 0.2):.0%})")
        ax.plot([0, 1], [0, 1], color=COLORS["random"], linestyle="--", label="random")
        ax.set_title(f"Cumulative gains, {what}\n{how}", fontsize=10)
        ax.set_xlabel("share of customers targeted")
        ax.set_ylabel(f"share of {what} captured")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def importance_order(imp: dict, top: int = 15) -> list[int]:
    total = np.max(np.vstack(list(imp["spread"].values())), axis=0)
    return [int(i) for i in np.argsort(-total, kind="stable")[:top]]


def plot_importance(data: dict, path: Path, dpi: int = DPI, top: int = 15) -> None:
    plt = _pyplot()
    imp = data["importance"]
    order = importance_order(imp, top)[::-1]
    labels = [f"{imp['features'][i]} ({'+' if imp['coef'][i] >= 0 else '-'})" for i in order]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(order) + 1.8))
    populations = list(imp["spread"])
    height = 0.8 / len(populations)
    y = np.arange(len(order))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c"]
    for k, name in enumerate(populations):
        ax.barh(y + (k - (len(populations) - 1) / 2) * height, imp["spread"][name][order],
                height=height, label=name, color=palette[k % len(palette)])
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("|coefficient| x std of the standardised feature (log-odds)")
    ax.set_title(f"Conversion model feature importance (default model, top {len(order)})\n"
                 "spread of each feature's contribution to the log-odds; (+)/(-): direction",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_types(data: dict, path: Path, dpi: int = DPI) -> None:
    plt = _pyplot()
    types = data["types"]
    pops = [k for k in types if isinstance(types[k], dict)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, kind, names in ((axes[0], "customer", types["customer_types"]),
                            (axes[1], "persuasion", types["persuasion_types"])):
        cats = names + [NO_TYPE]
        x = np.arange(len(cats))
        width = 0.8 / len(pops)
        for k, pop in enumerate(pops):
            dist = type_distribution(types[pop][kind], names)
            shares = [dist[c] for c in cats]
            bars = ax.bar(x + (k - (len(pops) - 1) / 2) * width, shares, width=width,
                          label=f"{pop} (n={len(types[pop][kind])})")
            for b, s in zip(bars, shares):
                ax.annotate(f"{s:.0%}" if s >= 0.005 else ("<1%" if s > 0 else ""),
                            (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, cats, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("share of profiles")
        ax.set_ylim(0, 1.08)
        ax.set_title(f"{kind.capitalize()} types (default model)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_agreement(data: dict, path: Path, dpi: int = DPI) -> None:
    plt = _pyplot()
    gen = data["types"]["generated visitors"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=[1, 1.1])
    for ax, kind, names in ((axes[0], "customer", data["types"]["customer_types"]),
                            (axes[1], "persuasion", data["types"]["persuasion_types"])):
        m = confusion(gen[kind], gen[f"true_{kind}"], names)
        columns = names + [NO_TYPE]
        a = agreement(gen[kind], gen[f"true_{kind}"])
        if a["coverage"] < 0.5:  # mostly untyped (persuasion): the typed visitors only
            m, columns = m[:, :-1], names
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{share[i, j]:.0%}\n({m[i, j]})", ha="center", va="center",
                        fontsize=6.5, color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(m.shape[1]), columns, rotation=25, ha="right", fontsize=8)
        ax.set_yticks(range(m.shape[0]), names, fontsize=8)
        ax.set_xlabel("assigned type")
        ax.set_ylabel("generator's (true) type")
        rows = "rows: share of the true type" + (
            f"'s typed visitors ({a['typed']} typed)" if len(columns) == len(names) else "")
        ax.set_title(f"{kind.capitalize()} type vs ground truth, generated visitors\n"
                     f"coverage {a['coverage']:.1%}, right {_pct(a['accuracy'])} of typed "
                     f"(chance {1 / len(names):.0%})\n{rows}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


PLOTS = [("calibration.png", "Calibration (reliability diagram)", plot_calibration),
         ("gains.png", "Cumulative gains", plot_gains),
         ("feature-importance.png", "Feature importance (conversion)", plot_importance),
         ("types.png", "Customer and persuasion types", plot_types),
         ("types-ground-truth.png", "Types against the generator's ground truth", plot_agreement)]


# ---------------------------------------------------------------------------------------------
# the report

def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4f}"


def markdown(data: dict) -> str:
    md, w = data["metadata"], data["window"]
    columns, rows = metrics_rows(data)
    lines = [f"# Model report: {md.get('version', 'unsaved')}", ""]
    lines += ["## Model", "",
              "| | |", "|---|---|",
              f"| version | `{md.get('version', 'unsaved')}` |",
              f"| trained at | {md.get('trained_at', 'n/a')} |",
              f"| horizons (days) | conversion {md.get('conversion_horizon_days')}, "
              f"CLV {md.get('clv_horizon_days')} (label windows "
              f"{md.get('conversion_label_days')}, {md.get('clv_label_days')}) |",
              "| BG/NBD parameters | " + ", ".join(
                  f"{k} = {v:.3f}" for k, v in (md.get("bgnbd") or {}).items()) + " |",
              "| libraries | " + ", ".join(
                  f"{k} {v}" for k, v in (md.get("libraries") or {}).items()) + " |"]
    for name, text in (md.get("training_data") or {}).items():
        lines.append(f"| training data: {name} | {text} |")
    backtest = md.get("backtest") or {}
    if backtest:
        lines += ["", "Backtest recorded in the metadata (held-out 20 % of each training "
                  "population, both predicting the label window):", "",
                  "| population | profiles | buyers | conversion AUC | CLV Gini | days |",
                  "|---|---|---|---|---|---|"]
        for name, b in backtest.items():
            lines.append(f"| {name} | {b.get('profiles')} | {b.get('buyers')} | "
                         f"{_fmt(b.get('conversion_auc'))} | {_fmt(b.get('clv_gini'))} | "
                         f"{b.get('label_days')} |")
    lines += ["", "## Data window (CDNOW holdout evaluation)", "",
              f"- {w['transactions']} transactions of the CDNOW sample "
              f"(`data/cdnow/CDNOW_sample.txt`), from {w['first_day']}.",
              f"- Calibration period: to **{w['calibration_end']}**; {w['customers']} customers.",
              f"- Holdout: **{w['holdout_days']} days** to {w['holdout_end']}; "
              f"{w['buyers']} of {w['customers']} customers bought, spend {w['spend']:,.2f}.",
              f"- **{OURS}**: the protocol of `make bench-accuracy` (bench/accuracy_cdnow.py): "
              "only calibration rows imported through the CLI into a fresh local store, "
              "`train` (the backtest decides between a new model and the default), `rescore`, "
              f"`export`, both horizons = the holdout length; the model that scored: "
              f"`{w.get('ours_version', 'n/a')}`.",
              f"- **{DEFAULT}**: the packaged artifact (`{md.get('version', 'unsaved')}`, "
              "trained on "
              "the calibration period only) scoring the same customers as of the calibration end "
              "for the holdout length.",
              f"- **{BASELINE}**: `lifetimes` BG/NBD + Gamma-Gamma fitted on the calibration rows"
              + (f" ({', '.join(f'{k} = {v}' for k, v in w['baseline_params'].items())})"
                 if w.get("baseline_params") else "") + "."]
    lines += ["", "## Metrics on the holdout", "",
              "| metric | " + " | ".join(columns) + " |",
              "|---|" + "---:|" * len(columns)]
    for name, values in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(v) for v in values) + " |")
    lines += ["", "AUC: conversion probability against \"bought in the holdout\" (the baseline's: "
              "the better of its P(purchase) and its expected purchases). Gini and Spearman: "
              "predicted spend against holdout spend. Expected calibration error: 10 equal-width "
              "bins of the conversion probability."]
    lines += ["", "## Plots", "",
              "### Calibration", "", "![calibration](calibration.png)", "",
              "Predicted probability of a purchase in the holdout, in 10 equal-width bins, "
              "against the share of the bin's customers that bought; below, how many customers "
              "each model puts in each bin (log scale).", "",
              "### Cumulative gains", "", "![gains](gains.png)", "",
              "Customers ranked by each model from the highest score: the share of holdout "
              "buyers (left, by conversion probability) and of holdout spend (right, by "
              "predicted spend) in the top x %. Tied scores are one straight step.", ""]
    gain_rows = []
    for name, pred in data["predictions"].items():
        xb, yb = gains(data["bought"], pred["p"])
        xs, ys = gains(data["spend"], pred["clv"])
        gain_rows.append(f"| {name} | {targeted_share(xb, yb, 0.1):.1%} | "
                         f"{targeted_share(xb, yb, 0.2):.1%} | {targeted_share(xs, ys, 0.1):.1%} | "
                         f"{targeted_share(xs, ys, 0.2):.1%} |")
    lines += ["| model | buyers in top 10 % | buyers in top 20 % | spend in top 10 % | "
              "spend in top 20 % |", "|---|---:|---:|---:|---:|", *gain_rows,
              "| random | 10.0% | 20.0% | 10.0% | 20.0% |", ""]
    imp = data["importance"]
    lines += ["### Feature importance (conversion)", "",
              "![feature importance](feature-importance.png)", "",
              f"Method: {imp['method']}. Populations: "
              + ", ".join(imp["spread"]) + ". Correlated features (spend, orders, average "
              "order value) carry coefficients of opposite signs whose contributions partly "
              "cancel, so a large spread is not a large net effect on its own.", "",
              "| feature | coefficient | " + " | ".join(imp["spread"]) + " |",
              "|---|---:|" + "---:|" * len(imp["spread"])]
    for i in importance_order(imp, 10):
        lines.append(f"| {imp['features'][i]} | {imp['coef'][i]:+.3f} | "
                     + " | ".join(f"{v[i]:.3f}" for v in imp["spread"].values()) + " |")
    types = data["types"]
    pops = [k for k in types if isinstance(types[k], dict)]
    lines += ["", "### Customer and persuasion types", "", "![types](types.png)", "",
              "| type | " + " | ".join(pops) + " |", "|---|" + "---:|" * len(pops)]
    for kind, names in (("customer", types["customer_types"]),
                        ("persuasion", types["persuasion_types"])):
        dists = [type_distribution(types[p][kind], names) for p in pops]
        for t in names + [NO_TYPE]:
            lines.append(f"| {kind}: {t} | " + " | ".join(f"{d[t]:.1%}" for d in dists) + " |")
    gen = types.get("generated visitors")
    if gen:
        c = agreement(gen["customer"], gen["true_customer"])
        p = agreement(gen["persuasion"], gen["true_persuasion"])
        lines += ["", "![types against ground truth](types-ground-truth.png)", "",
                  f"Generated visitors (`chalicelib/synthetic.py`, seed {gen.get('seed')}, "
                  f"{c['scored']} visitors, scored as of {gen.get('as_of')}; the model's own "
                  "visitors were seed 11): "
                  f"customer type given to {c['coverage']:.1%} and right for {c['accuracy']:.1%} "
                  f"of them (chance {1 / len(types['customer_types']):.0%}); persuasion type "
                  f"given to {p['coverage']:.1%} ({p['typed']} visitors) and right for "
                  f"{_pct(p['accuracy'])} of them (chance "
                  f"{1 / len(types['persuasion_types']):.0%}). CDNOW customers have purchases "
                  "only (no web activity, no persuasion events), so their only possible type is "
                  "Believer."]
    return "\n".join(lines) + "\n"


def _pct(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.1%}"


def to_html(text: str, out: Path) -> str:
    """The Markdown above as self-contained HTML (a converter for exactly what it uses: headings,
    lists, tables, images (inlined as base64), bold and code)."""
    def inline(s: str) -> str:
        s = html.escape(s, quote=False)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    body, table, items = [], [], []

    def flush():
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{inline(c)}</th>" for c in cells[0])
            rest = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>"
                           for r in cells[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rest}</tbody></table>")
            table.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        image = re.fullmatch(r"!\[(.*?)\]\((.+?)\)", line)
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if image:
            data = base64.b64encode((out / image.group(2)).read_bytes()).decode()
            body.append(f'<p><img alt="{html.escape(image.group(1))}" '
                        f'src="data:image/png;base64,{data}"></p>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    flush()
    title = inline(text.splitlines()[0].lstrip("# "))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
             "line-height:1.4}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid "
             "#ccc;padding:3px 8px;font-size:14px}td{text-align:right}td:first-child{text-align:"
             "left}img{max-width:100%}code{background:#f4f4f4}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(data: dict, out: Path, dpi: int = DPI) -> dict[str, Path]:
    """The PNG plots, model-report.md and model-report.html in `out`; their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, _, plot in PLOTS:
        plot(data, out / name, dpi=dpi)
        written[name] = out / name
    text = markdown(data)
    (out / "model-report.md").write_text(text)
    (out / "model-report.html").write_text(to_html(text, out))
    written["model-report.md"] = out / "model-report.md"
    written["model-report.html"] = out / "model-report.html"
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--visitors", type=int, default=5000,
                        help="generated visitors to score for the type distributions")
    args = parser.parse_args(argv)
    data = collect(args.visitors)
    written = write_report(data, args.out)
    columns, rows = metrics_rows(data)
    print(f"\n{'metric':34} " + " ".join(f"{c:>20}" for c in columns))
    for name, values in rows:
        print(f"{name:34} " + " ".join(f"{_fmt(v):>20}" for v in values))
    print("\nwrote " + ", ".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
                                 for p in written.values()))


if __name__ == "__main__":
    main()
