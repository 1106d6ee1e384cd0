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
