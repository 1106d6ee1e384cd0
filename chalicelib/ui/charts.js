// The preview's histograms and a segment's size over time, as inline SVG.
import { h, svg } from "./dom.js";
import { compact, fmt, fmtTime } from "./format.js";

export function histogram(title, bins, { testid }) {
  const width = 340, height = 150, left = 8, bottom = 28, top = 16;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const step = (width - left * 2) / bins.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": title, "data-testid": testid });
  bins.forEach((bin, i) => {
    const barHeight = ((height - bottom - top) * bin.count) / max;
    const x = left + i * step;
    const label = bin.to === null ? `${fmt(bin.from)}+` : `${fmt(bin.from)}–${fmt(bin.to)}`;
    chart.append(svg("rect", {
      x: x + 2, y: height - bottom - barHeight, width: step - 4, height: Math.max(barHeight, 0.5),
      class: "bar", "data-count": bin.count,
    }, svg("title", { text: `${label}: ${fmt(bin.count)} profiles` })));
    if (bin.count) {
      chart.append(svg("text", { x: x + step / 2, y: height - bottom - barHeight - 4,
        class: "bar-value", "text-anchor": "middle", text: fmt(bin.count) }));
    }
    chart.append(svg("text", { x: x + step / 2, y: height - bottom + 12, class: "axis",
      "text-anchor": "middle", text: bin.to === null ? `${compact(bin.from)}+` : compact(bin.from) }));
  });
  chart.append(svg("line", { x1: left, x2: width - left, y1: height - bottom, y2: height - bottom, class: "baseline" }));
  return h("figure", { class: "histogram" }, h("figcaption", { text: title }), chart);
}

export function lineChart(points) {
  // points: [{at, size}], oldest first
  const width = 560, height = 170, left = 44, right = 16, top = 14, bottom = 30;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart line-chart", role: "img",
    "aria-label": "Segment size over time", "data-testid": "size-chart" });
  if (!points.length) return chart;
  const times = points.map((p) => new Date(p.at).getTime());
  const sizes = points.map((p) => p.size);
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const s1 = Math.max(1, ...sizes);
  const x = (t) => (t1 === t0 ? (left + width - right) / 2 : left + ((t - t0) / (t1 - t0)) * (width - left - right));
  const y = (s) => height - bottom - (s / s1) * (height - top - bottom);
  for (const s of [0, s1 / 2, s1]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(s), y2: y(s), class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y(s) + 4, class: "axis", "text-anchor": "end", text: fmt(s) }));
  }
  chart.append(svg("polyline", { points: points.map((p, i) => `${x(times[i])},${y(p.size)}`).join(" "), class: "line" }));
  points.forEach((p, i) => chart.append(svg("circle", { cx: x(times[i]), cy: y(p.size), r: 3.5, class: "dot" },
    svg("title", { text: `${fmtTime(p.at)}: ${fmt(p.size)} members` }))));
  chart.append(svg("text", { x: left, y: height - 8, class: "axis", text: fmtTime(points[0].at) }));
  if (points.length > 1) {
    chart.append(svg("text", { x: width - right, y: height - 8, class: "axis", "text-anchor": "end",
      text: fmtTime(points[points.length - 1].at) }));
  }
  return chart;
}

// Curves on the unit square (x, y in 0..1) with the diagonal as reference: the model card's
// reliability diagram (predicted vs observed rate) and gains curve (share of profiles vs share
// of buyers or spend). series: [{name, points: [[x, y], ...], dots}]
export function unitCurves(title, series, { testid, xLabel, yLabel, maxValue = 1 }) {
  const width = 340, height = 250, left = 40, right = 12, top = 12, bottom = 40;
  const x = (v) => left + (Math.min(v, maxValue) / maxValue) * (width - left - right);
  const y = (v) => height - bottom - (Math.min(v, maxValue) / maxValue) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart unit-curves", role: "img",
    "aria-label": title, "data-testid": testid });
  for (const v of [0, maxValue / 2, maxValue]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end", text: fmt(v, 2) }));
    chart.append(svg("text", { x: x(v), y: height - bottom + 14, class: "axis", "text-anchor": "middle", text: fmt(v, 2) }));
  }
  chart.append(svg("line", { x1: x(0), y1: y(0), x2: x(maxValue), y2: y(maxValue), class: "diagonal" }));
  series.forEach((s, i) => {
    chart.append(svg("polyline", { class: `line series-${i}`, "data-series": s.name,
      points: s.points.map(([px, py]) => `${x(px)},${y(py)}`).join(" ") }));
    if (s.dots) {
      s.points.forEach(([px, py]) => chart.append(svg("circle", { cx: x(px), cy: y(py), r: 3, class: `dot series-${i}` },
        svg("title", { text: `${s.name}: ${fmt(px, 3)} → ${fmt(py, 3)}` }))));
    }
  });
  chart.append(svg("text", { x: (left + width - right) / 2, y: height - 6, class: "axis", "text-anchor": "middle", text: xLabel }));
  chart.append(svg("text", { x: 10, y: (top + height - bottom) / 2, class: "axis", "text-anchor": "middle",
    transform: `rotate(-90 10 ${(top + height - bottom) / 2})`, text: yLabel }));
  const legend = h("p", { class: "legend small" }, series.map((s, i) => h("span", { class: `key series-${i}`, text: s.name })));
  return h("figure", { class: "unit-curves" }, h("figcaption", { text: title }), chart, legend);
}
