"""The PNG plots of scripts/model_report.py, drawn from the collected arrays with matplotlib
(imported only when a plot is drawn: requirements-report.txt). Imported by plain name from
model_report.py, which puts the repository and bench/ on sys.path first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from model_report_metrics import (
    BASELINE,
    CALIBRATION_BINS,
    DEFAULT,
    NO_TYPE,
    OURS,
    agreement,
    confusion,
    format_share,
    gains,
    importance_order,
    reliability,
    targeted_share,
    type_distribution,
)

from chalicelib.predict import metrics

DPI = 110
COLORS = {OURS: "#1f77b4", DEFAULT: "#2ca02c", BASELINE: "#d62728", "random": "#7f7f7f"}


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
        hist.hist(
            pred["p"], bins=bins, histtype="step", linewidth=1.5, color=COLORS.get(name), label=name
        )
    w = data["window"]
    ax.set_title(
        f"Reliability: P(purchase within {w['holdout_days']} days) on the CDNOW holdout\n"
        f"{w['customers']} customers, {w['buyers']} bought; 10 equal-width bins, "
        "marker area ~ customers in the bin",
        fontsize=10,
    )
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
    panels = [
        (
            axes[0],
            data["bought"],
            "p",
            "holdout buyers",
            "targeting by predicted conversion probability",
        ),
        (axes[1], data["spend"], "clv", "holdout spend", "targeting by predicted spend (CLV)"),
    ]
    for ax, actual, key, what, how in panels:
        x, y = gains(actual, actual)
        ax.plot(x, y, color="#bbbbbb", linestyle=":", label="perfect")
        for name, pred in data["predictions"].items():
            x, y = gains(actual, pred[key])
            ax.plot(
                x,
                y,
                color=COLORS.get(name),
                label=f"{name} (top 20 %: {targeted_share(x, y, 0.2):.0%})",
            )
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
        ax.barh(
            y + (k - (len(populations) - 1) / 2) * height,
            imp["spread"][name][order],
            height=height,
            label=name,
            color=palette[k % len(palette)],
        )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("|coefficient| x std of the standardised feature (log-odds)")
    ax.set_title(
        f"Conversion model feature importance (default model, top {len(order)})\n"
        "spread of each feature's contribution to the log-odds; (+)/(-): direction",
        fontsize=10,
    )
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
    for ax, kind, names in (
        (axes[0], "customer", types["customer_types"]),
        (axes[1], "persuasion", types["persuasion_types"]),
    ):
        cats = names + [NO_TYPE]
        x = np.arange(len(cats))
        width = 0.8 / len(pops)
        for k, pop in enumerate(pops):
            dist = type_distribution(types[pop][kind], names)
            shares = [dist[c] for c in cats]
            bars = ax.bar(
                x + (k - (len(pops) - 1) / 2) * width,
                shares,
                width=width,
                label=f"{pop} (n={len(types[pop][kind])})",
            )
            for b, s in zip(bars, shares):
                ax.annotate(
                    f"{s:.0%}" if s >= 0.005 else ("<1%" if s > 0 else ""),
                    (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
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
    for ax, kind, names in (
        (axes[0], "customer", data["types"]["customer_types"]),
        (axes[1], "persuasion", data["types"]["persuasion_types"]),
    ):
        m = confusion(gen[kind], gen[f"true_{kind}"], names)
        columns = names + [NO_TYPE]
        a = agreement(gen[kind], gen[f"true_{kind}"])
        if a["coverage"] < 0.5:  # mostly untyped (persuasion): the typed visitors only
            m, columns = m[:, :-1], names
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{share[i, j]:.0%}\n({m[i, j]})",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if share[i, j] > 0.6 else "black",
                )
        ax.set_xticks(range(m.shape[1]), columns, rotation=25, ha="right", fontsize=8)
        ax.set_yticks(range(m.shape[0]), names, fontsize=8)
        ax.set_xlabel("assigned type")
        ax.set_ylabel("generator's (true) type")
        rows = "rows: share of the true type" + (
            f"'s typed visitors ({a['typed']} typed)" if len(columns) == len(names) else ""
        )
        ax.set_title(
            f"{kind.capitalize()} type vs ground truth, generated visitors\n"
            f"coverage {a['coverage']:.1%}, right {format_share(a['accuracy'])} of typed "
            f"(chance {1 / len(names):.0%})\n{rows}",
            fontsize=9,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


PLOTS = [
    ("calibration.png", "Calibration (reliability diagram)", plot_calibration),
    ("gains.png", "Cumulative gains", plot_gains),
    ("feature-importance.png", "Feature importance (conversion)", plot_importance),
    ("types.png", "Customer and persuasion types", plot_types),
    ("types-ground-truth.png", "Types against the generator's ground truth", plot_agreement),
]
