"""The documents of scripts/model_report.py: the Markdown report from the collected arrays, the same
as self-contained HTML (the plots inlined), and writing both with the PNG plots into a folder.
Imported by plain name from model_report.py, which puts the repository and bench/ on sys.path
first."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from model_report_metrics import (
    BASELINE,
    DEFAULT,
    NO_TYPE,
    OURS,
    agreement,
    format_metric,
    format_share,
    gains,
    importance_order,
    metrics_rows,
    targeted_share,
    type_distribution,
)
from model_report_plots import DPI, PLOTS


def markdown(data: dict) -> str:
    md, w = data["metadata"], data["window"]
    columns, rows = metrics_rows(data)
    lines = [f"# Model report: {md.get('version', 'unsaved')}", ""]
    lines += [
        "## Model",
        "",
        "| | |",
        "|---|---|",
        f"| version | `{md.get('version', 'unsaved')}` |",
        f"| trained at | {md.get('trained_at', 'n/a')} |",
        f"| horizons (days) | conversion {md.get('conversion_horizon_days')}, "
        f"CLV {md.get('clv_horizon_days')} (label windows "
        f"{md.get('conversion_label_days')}, {md.get('clv_label_days')}) |",
        "| BG/NBD parameters | "
        + ", ".join(f"{k} = {v:.3f}" for k, v in (md.get("bgnbd") or {}).items())
        + " |",
        "| libraries | "
        + ", ".join(f"{k} {v}" for k, v in (md.get("libraries") or {}).items())
        + " |",
    ]
    for name, text in (md.get("training_data") or {}).items():
        lines.append(f"| training data: {name} | {text} |")
    backtest = md.get("backtest") or {}
    if backtest:
        lines += [
            "",
            "Backtest recorded in the metadata (held-out 20 % of each training "
            "population, both predicting the label window):",
            "",
            "| population | profiles | buyers | conversion AUC | CLV Gini | days |",
            "|---|---|---|---|---|---|",
        ]
        for name, b in backtest.items():
            lines.append(
                f"| {name} | {b.get('profiles')} | {b.get('buyers')} | "
                f"{format_metric(b.get('conversion_auc'))} | "
                f"{format_metric(b.get('clv_gini'))} | {b.get('label_days')} |"
            )
    lines += [
        "",
        "## Data window (CDNOW holdout evaluation)",
        "",
        f"- {w['transactions']} transactions of the CDNOW sample "
        f"(`data/cdnow/CDNOW_sample.txt`), from {w['first_day']}.",
        f"- Calibration period: to **{w['calibration_end']}**; {w['customers']} customers.",
        f"- Holdout: **{w['holdout_days']} days** to {w['holdout_end']}; "
        f"{w['buyers']} of {w['customers']} customers bought, spend {w['spend']:,.2f}.",
        f"- **{OURS}**: the CLI protocol of `bench/accuracy_cdnow.py --cli-protocol` "
        "(bench/accuracy_cli_protocol.py): "
        "only calibration rows imported through the CLI into a fresh local store, "
        "`train` (the backtest decides between a new model and the default), `rescore`, "
        f"`export`, both horizons = the holdout length; the model that scored: "
        f"`{w.get('ours_version', 'n/a')}`.",
        f"- **{DEFAULT}**: the packaged artifact (`{md.get('version', 'unsaved')}`, "
        "trained on "
        "the calibration period only) scoring the same customers as of the calibration end "
        "for the holdout length.",
        f"- **{BASELINE}**: `lifetimes` BG/NBD + Gamma-Gamma fitted on the calibration rows"
        + (
            f" ({', '.join(f'{k} = {v}' for k, v in w['baseline_params'].items())})"
            if w.get("baseline_params")
            else ""
        )
        + ".",
    ]
    lines += [
        "",
        "## Metrics on the holdout",
        "",
        "| metric | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, values in rows:
        lines.append(f"| {name} | " + " | ".join(format_metric(v) for v in values) + " |")
    lines += [
        "",
        'AUC: conversion probability against "bought in the holdout" (the baseline\'s: '
        "the better of its P(purchase) and its expected purchases). Gini and Spearman: "
        "predicted spend against holdout spend. Expected calibration error: 10 equal-width "
        "bins of the conversion probability.",
    ]
    lines += [
        "",
        "## Plots",
        "",
        "### Calibration",
        "",
        "![calibration](calibration.png)",
        "",
        "Predicted probability of a purchase in the holdout, in 10 equal-width bins, "
        "against the share of the bin's customers that bought; below, how many customers "
        "each model puts in each bin (log scale).",
        "",
        "### Cumulative gains",
        "",
        "![gains](gains.png)",
        "",
        "Customers ranked by each model from the highest score: the share of holdout "
        "buyers (left, by conversion probability) and of holdout spend (right, by "
        "predicted spend) in the top x %. Tied scores are one straight step.",
        "",
    ]
    gain_rows = []
    for name, pred in data["predictions"].items():
        xb, yb = gains(data["bought"], pred["p"])
        xs, ys = gains(data["spend"], pred["clv"])
        gain_rows.append(
            f"| {name} | {targeted_share(xb, yb, 0.1):.1%} | "
            f"{targeted_share(xb, yb, 0.2):.1%} | {targeted_share(xs, ys, 0.1):.1%} | "
            f"{targeted_share(xs, ys, 0.2):.1%} |"
        )
    lines += [
        "| model | buyers in top 10 % | buyers in top 20 % | spend in top 10 % | "
        "spend in top 20 % |",
        "|---|---:|---:|---:|---:|",
        *gain_rows,
        "| random | 10.0% | 20.0% | 10.0% | 20.0% |",
        "",
    ]
    imp = data["importance"]
    lines += [
        "### Feature importance (conversion)",
        "",
        "![feature importance](feature-importance.png)",
        "",
        f"Method: {imp['method']}. Populations: "
        + ", ".join(imp["spread"])
        + ". Correlated features (spend, orders, average "
        "order value) carry coefficients of opposite signs whose contributions partly "
        "cancel, so a large spread is not a large net effect on its own.",
        "",
        "| feature | coefficient | " + " | ".join(imp["spread"]) + " |",
        "|---|---:|" + "---:|" * len(imp["spread"]),
    ]
    for i in importance_order(imp, 10):
        lines.append(
            f"| {imp['features'][i]} | {imp['coef'][i]:+.3f} | "
            + " | ".join(f"{v[i]:.3f}" for v in imp["spread"].values())
            + " |"
        )
    types = data["types"]
    pops = [k for k in types if isinstance(types[k], dict)]
    lines += [
        "",
        "### Customer and persuasion types",
        "",
        "![types](types.png)",
        "",
        "| type | " + " | ".join(pops) + " |",
        "|---|" + "---:|" * len(pops),
    ]
    for kind, names in (
        ("customer", types["customer_types"]),
        ("persuasion", types["persuasion_types"]),
    ):
        dists = [type_distribution(types[p][kind], names) for p in pops]
        for t in names + [NO_TYPE]:
            lines.append(f"| {kind}: {t} | " + " | ".join(f"{d[t]:.1%}" for d in dists) + " |")
    gen = types.get("generated visitors")
    if gen:
        c = agreement(gen["customer"], gen["true_customer"])
        p = agreement(gen["persuasion"], gen["true_persuasion"])
        lines += [
            "",
            "![types against ground truth](types-ground-truth.png)",
            "",
            f"Generated visitors (`chalicelib/synthetic.py`, seed {gen.get('seed')}, "
            f"{c['scored']} visitors, scored as of {gen.get('as_of')}; the model's own "
            "visitors were seed 11): "
            f"customer type given to {c['coverage']:.1%} and right for {c['accuracy']:.1%} "
            f"of them (chance {1 / len(types['customer_types']):.0%}); persuasion type "
            f"given to {p['coverage']:.1%} ({p['typed']} visitors) and right for "
            f"{format_share(p['accuracy'])} of them (chance "
            f"{1 / len(types['persuasion_types']):.0%}). CDNOW customers have purchases "
            "only (no web activity, no persuasion events), so their only possible type is "
            "Believer.",
        ]
    return "\n".join(lines) + "\n"


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
            rest = "".join(
                "<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
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
            body.append(
                f'<p><img alt="{html.escape(image.group(1))}" '
                f'src="data:image/png;base64,{data}"></p>'
            )
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    flush()
    title = inline(text.splitlines()[0].lstrip("# "))
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.4}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid "
        "#ccc;padding:3px 8px;font-size:14px}td{text-align:right}td:first-child{text-align:"
        "left}img{max-width:100%}code{background:#f4f4f4}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


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
