// The Model page: the model card of the project (GET /model). Which model scores the project,
// trained on what and when, its served-horizon backtest against the classic model (figures
// recorded when the model was trained), a quality band, the reliability diagram and the gains
// curve, and whether the project has the data for a model of its own.
import { api } from "./api.js";
import { unitCurves } from "./charts.js";
import { fill, h, view } from "./dom.js";
import { fmt, fmtTime } from "./format.js";

const METRICS = [
  ["auc", "AUC (conversion ranking, higher is better)"],
  ["brier", "Brier score (lower is better)"],
  ["log_loss", "Log loss (lower is better)"],
  ["ece", "Calibration error (lower is better)"],
  ["gini", "Normalised Gini of spend (higher is better)"],
  ["spend_ratio", "Predicted / actual spend (1 is exact)"],
];

const interval = (d) => (d ? `${signed(d[0])} [${signed(d[1])}, ${signed(d[2])}]` : "–");
const signed = (v) => (v === null || v === undefined ? "–" : `${v >= 0 ? "+" : ""}${fmt(v, 4)}`);
const kv = (rows) => h("table", { class: "table kv" }, h("tbody", {},
  rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v })))));

function trainingData(data) {
  if (!data) return "–";
  if (typeof data === "string") return data;
  return Object.entries(data).map(([k, v]) => `${k}: ${v}`).join("; ");
}

function backtestSection(backtest, quality) {
  if (!backtest) {
    return h("section", { class: "card", "data-testid": "model-backtest" }, h("h2", { text: "Backtest" }),
      h("p", { class: "muted", text: quality.message }));
  }
  const lift = backtest.lift_over_classic || {};
  const customers = backtest.customers || {};
  const rows = METRICS.map(([key, label]) => h("tr", {},
    h("th", { text: label }),
    h("td", { text: fmt(backtest.model[key], 4) }),
    h("td", { text: fmt((customers.model || {})[key], 4) }),
    h("td", { text: fmt((customers.classic || {})[key], 4) }),
    h("td", { text: interval(lift[key]) })));
  const folds = backtest.folds.map((f) => `${f.window_start}: ${fmt(f.profiles)} profiles, ${fmt(f.buyers)} buyers`);
  return h("section", { class: "card", "data-testid": "model-backtest" },
    h("div", { class: "card-head" }, h("h2", { text: "Backtest at the served horizon" }),
      h("span", { class: `band band-${quality.band}`, "data-testid": "quality-band", text: quality.band.replace("_", " ") })),
    h("p", { text: quality.message }),
    h("p", { class: "muted small", text: `Judged on ${backtest.judged}; differences with 95 % intervals from a paired bootstrap (${fmt(backtest.bootstrap)} resamples). Windows: ${folds.join("; ")}.` }),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", { text: "metric" }), h("th", { text: "model, all profiles" }),
        h("th", { text: "model, customers" }), h("th", { text: "classic (BG/NBD), customers" }),
        h("th", { text: "model − classic [95 %]" }))),
      h("tbody", {}, rows)),
    h("div", { class: "two-columns" },
      backtest.reliability ? unitCurves("Reliability: predicted probability vs observed rate (bins of 10+ profiles)", [
        // a bin of a handful of profiles shows noise, not calibration
        { name: "model", points: backtest.reliability.filter((b) => b.profiles >= 10).map((b) => [b.predicted, b.observed]), dots: true },
      ], { testid: "reliability-chart", xLabel: "predicted", yLabel: "observed",
        maxValue: Math.min(1, Math.max(0.1, ...backtest.reliability.filter((b) => b.profiles >= 10).flatMap((b) => [b.predicted, b.observed])) * 1.1) }) : null,
      backtest.gains ? unitCurves("Gains: top share of profiles by score", [
        { name: "buyers (by conversion potential)", points: [[0, 0], ...backtest.gains.map((g) => [g.profiles, g.buyers])] },
        { name: "spend (by predicted spend)", points: [[0, 0], ...backtest.gains.map((g) => [g.profiles, g.spend])] },
      ], { testid: "gains-chart", xLabel: "share of profiles", yLabel: "share captured" }) : null));
}

export async function modelView({ stillCurrent }) {
  const card = await api("GET", "/model");
  if (!stillCurrent()) return;
  const m = card.model;
  const reqs = card.data_requirements;
  fill(view(),
    h("section", { class: "card", "data-testid": "model-card" },
      h("div", { class: "card-head" }, h("h1", { text: `Model ${m.version}` }),
        h("span", { class: "muted", text: m.source === "project" ? "this project's own model" : "the default model" })),
      kv([
        ["Trained", fmtTime(m.trained_at)],
        ["Trained on", trainingData(m.training_data)],
        ["Served horizons", `conversion within ${m.served_horizons.conversion_days} days, CLV over ${m.served_horizons.clv_days} days`],
        ["Learned from windows of", `${m.label_days.conversion} days (conversion), ${m.label_days.clv} days (spend)`],
        ["Fields", card.fields.map((f) => f.label).join(", ")],
      ])),
    h("section", { class: "card", "data-testid": "model-requirements" }, h("h2", { text: "This project's data" }),
      h("p", { class: reqs.meets === false ? "error" : "", "data-testid": "requirements-message", text: reqs.message }),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", { text: "requirement" }), h("th", { text: "needed" }),
          h("th", { text: "this project" }), h("th", { text: "met" }))),
        h("tbody", {}, reqs.items.map((i) => h("tr", { "data-requirement": i.name },
          h("th", { text: i.label }), h("td", { text: fmt(i.needed) }), h("td", { text: fmt(i.actual) }),
          h("td", { text: i.met === null ? "not measured" : i.met ? "yes" : "no" }))))),
      reqs.measured_at ? h("p", { class: "muted small", text: `Measured on the snapshot of ${fmtTime(reqs.measured_at)}.` }) : null),
    backtestSection(card.backtest, card.quality));
}
