// A segment's control group and measured uplift (GET /segments/{id}/uplift): the two groups, the
// 95 % intervals as a chart, and the verdict. The layout helpers are pure (unit-tested in Node).
import { h, svg } from "./dom.js";
import { fmt } from "./format.js";

// The report's three comparisons as chart rows: difference (treated - control) and its interval.
export function upliftRows(report) {
  const rows = [
    ["Conversion rate", report.conversion, 100, " pts"],
    ["Revenue per member", report.revenue_per_member, 1, ""],
    ["Orders per member", report.orders_per_member, 1, ""],
  ];
  return rows.filter(([, metric]) => metric).map(([label, metric, scale, unit]) => ({
    label, unit,
    value: metric.difference * scale,
    low: metric.difference_interval[0] * scale,
    high: metric.difference_interval[1] * scale,
    treated: metric.treated * scale,
    control: metric.control * scale,
  }));
}

// Where a row's interval lies on a shared axis from -limit to +limit (0 in the middle), as
// fractions 0..1 of the axis; each row on its own scale, since their units differ.
export function intervalLayout(row) {
  const limit = Math.max(Math.abs(row.low), Math.abs(row.high), Math.abs(row.value), 1e-9) * 1.1;
  const at = (v) => 0.5 + v / (2 * limit);
  return { low: at(row.low), high: at(row.high), value: at(row.value), zero: 0.5, limit,
    side: row.low > 0 ? "above" : row.high < 0 ? "below" : "spans" };
}

export function intervalChart(rows) {
  const width = 560, rowHeight = 44, left = 150, right = 20, top = 10;
  const height = top + rows.length * rowHeight + 10;
  const inner = width - left - right;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart interval-chart", role: "img",
    "aria-label": "Difference between treated and control members, with 95 % intervals", "data-testid": "uplift-chart" });
  rows.forEach((row, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    const p = intervalLayout(row);
    const x = (f) => left + f * inner;
    chart.append(svg("text", { x: left - 8, y: y + 4, class: "axis", "text-anchor": "end", text: row.label }));
    chart.append(svg("line", { x1: x(0), x2: x(1), y1: y, y2: y, class: "grid" }));
    chart.append(svg("line", { x1: x(p.zero), x2: x(p.zero), y1: y - 14, y2: y + 14, class: "baseline" }));
    chart.append(svg("line", { x1: x(p.low), x2: x(p.high), y1: y, y2: y, class: `interval ${p.side}`, "stroke-width": 4 },
      svg("title", { text: `${row.label}: ${fmt(row.value, 2)}${row.unit} (95 % interval ${fmt(row.low, 2)} to ${fmt(row.high, 2)})` })));
    chart.append(svg("circle", { cx: x(p.value), cy: y, r: 5, class: "dot" }));
    chart.append(svg("text", { x: x(p.low), y: y + 18, class: "axis", "text-anchor": "middle", text: fmt(row.low, 2) }));
    chart.append(svg("text", { x: x(p.high), y: y + 18, class: "axis", "text-anchor": "middle", text: fmt(row.high, 2) }));
  });
  return chart;
}

// The panel's content: the groups, the chart, the verdict (or why there is none).
export function upliftPanel(report) {
  const g = report.groups;
  const rows = upliftRows(report);
  return [
    h("p", { class: report.enough_data ? "verdict" : "verdict muted", "data-testid": "uplift-verdict", text: report.verdict }),
    h("table", { class: "table compact", id: "uplift-groups" },
      h("thead", {}, h("tr", {}, [["Group"], ["Members", "num"], ["Converted", "num"], ["Conversion", "num"], ["Revenue / member", "num"]].map(([t, c]) => h("th", { text: t, class: c })))),
      h("tbody", {}, ["treated", "control"].map((name) => h("tr", { "data-group": name },
        h("td", { text: name === "treated" ? "Treated (activated)" : "Control (held out)" }),
        h("td", { class: "num", text: fmt(g[name].members) }),
        h("td", { class: "num", text: fmt(g[name].converted) }),
        h("td", { class: "num", text: report.conversion ? `${fmt(report.conversion[name] * 100, 1)} %` : "–" }),
        h("td", { class: "num", text: report.revenue_per_member ? fmt(report.revenue_per_member[name], 2) : "–" }))))),
    rows.length ? intervalChart(rows) : null,
    h("p", { class: "muted small", text: `Members who entered ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}, ` +
      `purchases within ${report.window_days} days after entry (as of ${report.as_of.slice(0, 16).replace("T", " ")}). ` +
      "Intervals: Newcombe (conversion), Welch (revenue, orders)." }),
  ];
}
