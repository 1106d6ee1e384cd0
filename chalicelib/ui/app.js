// The segment builder: plain JavaScript, no framework, no build step. It talks to the API on the
// same origin with the project's key (kept in localStorage). Everything that comes from the API is
// put on the page as text (textContent / attributes), never as HTML.
"use strict";

// --- small helpers ---------------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else if (name === "value") el.value = value;
    else if (name === "checked" || name === "selected") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

// Replace an element's content (null, false and undefined children are left out).
function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

const view = () => document.getElementById("view");

function banner(message, kind = "info") {
  const el = document.getElementById("banner");
  el.textContent = message;
  el.className = `banner ${kind}`;
  el.hidden = !message;
  clearTimeout(banner.timer);
  if (message && kind === "ok") banner.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

// --- settings and the API --------------------------------------------------------------------

const settings = {
  get project() { return localStorage.getItem("segments.project") || ""; },
  get key() { return localStorage.getItem("segments.key") || ""; },
  save(project, key) {
    localStorage.setItem("segments.project", project);
    localStorage.setItem("segments.key", key);
  },
};

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.path = error.path;
  }
}

async function api(method, path, body) {
  const headers = { "x-api-key": settings.key };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/projects/${encodeURIComponent(settings.project)}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = (data && data.error) || { code: `http_${response.status}`, message: response.statusText };
    if (response.status === 401 || response.status === 403) {
      banner(`${error.message}: check the project and API key above.`, "error");
    }
    throw new ApiError(response.status, error);
  }
  return data;
}

// --- the field catalogue ---------------------------------------------------------------------

const GROUPS = [["profile", "Profile"], ["behaviour", "Behaviour"], ["predictive", "Predictive"]];
const MATCHES = [["all", "all the rules"], ["any", "one or more rules"], ["none", "none of the rules"]];
const OPERATOR_LABELS = {
  eq: "is", neq: "is not", gt: "greater than", gte: "at least", lt: "less than", lte: "at most",
  between: "between", in: "is one of", not_in: "is none of", contains: "contains",
  not_contains: "does not contain", starts_with: "starts with", ends_with: "ends with",
  before: "before", after: "after", within_last_days: "in the last (days)",
  more_than_days_ago: "more than (days) ago", exists: "has a value", not_exists: "has no value",
};

const catalogue = { project: null, fields: [], byPath: new Map() };

async function loadFields() {
  if (catalogue.project === settings.project && catalogue.fields.length) return catalogue;
  const { fields } = await api("GET", "/fields");
  catalogue.project = settings.project;
  catalogue.fields = fields;
  catalogue.byPath = new Map(fields.map((f) => [f.path, f]));
  return catalogue;
}

function groupOfPath(path) {
  if (path.startsWith("attributes.")) return "profile";
  return path.split(".")[0];
}

function fieldOf(condition) {
  if (!condition.field) return null;
  return catalogue.byPath.get(condition.field) || {
    path: condition.field, label: `${condition.field} (not in the catalogue)`,
    group: groupOfPath(condition.field), type: "text", operators: [condition.operator],
  };
}

function labelOf(path) {
  const field = catalogue.byPath.get(path);
  return field ? field.label : path;
}

// How an operator of a field type takes its value, in the builder.
function valueKind(field, operator) {
  if (!field || !operator || operator === "exists" || operator === "not_exists") return "none";
  const many = operator === "in" || operator === "not_in";
  switch (field.type) {
    case "number": return operator === "between" ? "numpair" : many ? "numlist" : "number";
    case "enum": return many ? "enums" : "enum";
    case "text": return many ? "textlist" : "text";
    case "boolean": return "bool";
    case "date":
      if (operator === "between") return "datepair";
      return operator === "within_last_days" || operator === "more_than_days_ago" ? "days" : "date";
    default: return "text"; // list: contains / not_contains take one element
  }
}

function defaultValue(kind, field) {
  switch (kind) {
    case "none": return undefined;
    case "enum": return field.values[0];
    case "enums": return [];
    case "bool": return "true";
    case "numpair": case "datepair": return ["", ""];
    default: return "";
  }
}

function number(text) {
  const t = String(text).trim();
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t; // the API names what is wrong with a non-number
}

function splitList(text) {
  return String(text).split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function toApiValue(kind, value) {
  switch (kind) {
    case "number": case "days": return number(value);
    case "numpair": return value.map(number);
    case "numlist": return splitList(value).map(number);
    case "textlist": return splitList(value);
    case "bool": return value === "true";
    case "enums": return [...value];
    default: return value; // text, enum, date, datepair
  }
}

function fromApiValue(kind, value) {
  if (value === undefined || value === null) return kind === "none" ? undefined : "";
  switch (kind) {
    case "number": case "days": return String(value);
    case "numpair": case "datepair": return Array.isArray(value) ? value.map(String) : ["", ""];
    case "numlist": case "textlist": return Array.isArray(value) ? value.join(", ") : String(value);
    case "bool": return String(value);
    case "enums": return Array.isArray(value) ? [...value] : [];
    default: return String(value);
  }
}

// --- the rule tree ---------------------------------------------------------------------------

let nextId = 0;
const newGroup = (match = "all") => ({ kind: "group", id: ++nextId, match, rules: [] });
const newCondition = () => ({ kind: "rule", id: ++nextId, group: "", field: "", operator: "", value: undefined });

function fromApiGroup(group) {
  const g = newGroup(group.match || "all");
  g.rules = (group.rules || []).map((r) => (r && "rules" in r ? fromApiGroup(r) : fromApiRule(r)));
  return g;
}

function fromApiRule(rule) {
  const c = newCondition();
  c.field = rule.field;
  c.operator = rule.operator;
  const field = fieldOf(c);
  c.group = field.group;
  c.value = fromApiValue(valueKind(field, c.operator), rule.value);
  return c;
}

// The API body of a group; `where` maps each JSON pointer to the builder node it came from, so an
// error's path finds its rule. Conditions without a field yet are left out when `skipIncomplete`.
function toApiGroup(group, path, where, skipIncomplete) {
  where.set(path, group);
  const rules = [];
  for (const node of group.rules) {
    const at = `${path}/rules/${rules.length}`;
    if (node.kind === "group") {
      rules.push(toApiGroup(node, at, where, skipIncomplete));
    } else if (node.field || !skipIncomplete) {
      where.set(at, node);
      const field = fieldOf(node);
      const rule = { field: node.field || null, operator: node.operator || null };
      const kind = valueKind(field, node.operator);
      if (kind !== "none") rule.value = toApiValue(kind, node.value);
      rules.push(rule);
    }
  }
  return { match: group.match, rules };
}

function incompleteRules(group, out = []) {
  for (const node of group.rules) {
    if (node.kind === "group") incompleteRules(node, out);
    else if (!node.field) out.push(node);
  }
  return out;
}

// The node an error's JSON pointer points into: the longest mapped prefix.
function nodeAt(where, pointer) {
  let best = null;
  for (const [path, node] of where) {
    if ((pointer === path || pointer.startsWith(`${path}/`)) && (!best || path.length > best[0].length)) {
      best = [path, node];
    }
  }
  return best ? best[1] : null;
}

function describe(group) {
  const joiner = { all: " and ", any: " or ", none: " nor " }[group.match] || " and ";
  const parts = (group.rules || []).map((r) => ("rules" in r ? `(${describe(r)})` : describeRule(r)));
  if (!parts.length) return group.match === "any" ? "no one" : "everyone";
  return group.match === "none" ? `none of: ${parts.join("; ")}` : parts.join(joiner);
}

function describeRule(rule) {
  const op = OPERATOR_LABELS[rule.operator] || rule.operator;
  let value = "";
  if (Array.isArray(rule.value)) value = rule.operator === "between" ? ` ${rule.value[0]} and ${rule.value[1]}` : ` ${rule.value.join(", ")}`;
  else if (rule.value !== undefined && rule.value !== null) value = ` ${rule.value}`;
  return `${labelOf(rule.field)} ${op}${value}`;
}

// --- charts ----------------------------------------------------------------------------------

function histogram(title, bins, { testid }) {
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

function compact(n) {
  return n >= 1000 ? `${fmt(n / 1000)}k` : fmt(n);
}

function lineChart(points) {
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

// --- views -----------------------------------------------------------------------------------

let current = { dispose() {} }; // the view on screen; disposed when another one is rendered
let renderToken = 0;

async function route() {
  current.dispose();
  current = { dispose() {} };
  const token = ++renderToken;
  const hash = location.hash.replace(/^#/, "") || "/segments";
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active",
    (a.dataset.nav === "new" && hash === "/segments/new") || (a.dataset.nav === "segments" && hash === "/segments")));
  if (!settings.project || !settings.key) {
    fill(view(), h("section", { class: "card empty" },
      h("h1", { text: "Connect to a project" }),
      h("p", { text: "Enter a project id and one of its API keys at the top right. They are kept in this browser only." })));
    return;
  }
  const stillCurrent = () => token === renderToken;
  fill(view(), h("p", { class: "muted", text: "Loading…" }));
  try {
    await loadFields();
    if (parts[0] === "segments" && parts[1] === "new") await builderView(null, stillCurrent);
    else if (parts[0] === "segments" && parts[1] && parts[2] === "edit") await builderView(parts[1], stillCurrent);
    else if (parts[0] === "segments" && parts[1]) await segmentView(parts[1], stillCurrent);
    else if (parts[0] === "profiles" && parts[1]) await profileView(parts[1], stillCurrent);
    else await listView(stillCurrent);
  } catch (error) {
    if (!stillCurrent()) return;
    fill(view(), h("section", { class: "card" }, h("h1", { text: "Something went wrong" }),
      h("p", { class: "error", "data-testid": "view-error", text: error.message })));
  }
}

// Segment list ---------------------------------------------------------------------------------

async function listView(stillCurrent) {
  const { segments } = await api("GET", "/segments");
  if (!stillCurrent()) return;
  const rows = segments.map((segment) => {
    const size = h("td", { class: "num", text: "…" });
    const conversions = h("td", { class: "num", text: "…" });
    api("GET", `/segments/${encodeURIComponent(segment.segment_id)}/count`).then((c) => {
      size.textContent = fmt(c.count);
      conversions.textContent = fmt(c.expected_conversions, 1);
    }, () => { size.textContent = "?"; conversions.textContent = "?"; });
    return h("tr", { "data-segment-id": segment.segment_id },
      h("td", {}, h("a", { href: `#/segments/${encodeURIComponent(segment.segment_id)}`, class: "segment-name", text: segment.name })),
      h("td", { class: "rules-summary", text: describe(segment) }),
      size, conversions,
      h("td", { text: fmtTime(segment.updated_at) }),
      h("td", {}, h("div", { class: "actions" },
        h("a", { href: `#/segments/${encodeURIComponent(segment.segment_id)}/edit`, class: "button small", text: "Edit" }),
        deleteButton(segment, () => route()))));
  });
  fill(view(), h("section", { class: "card", "data-testid": "segment-list" },
    h("div", { class: "card-head" },
      h("h1", { text: `Segments of ${settings.project}` }),
      h("a", { href: "#/segments/new", class: "button primary", text: "New segment" })),
    segments.length
      ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, [["Name"], ["Rules"], ["Size", "num"], ["Expected conversions", "num"], ["Updated"], [""]].map(([t, c]) => h("th", { text: t, class: c })))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", text: "No segments yet: build the first one." })));
}

function deleteButton(segment, after) {
  const button = h("button", { type: "button", class: "small danger delete-segment", text: "Delete" });
  button.addEventListener("click", async () => {
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = "Really delete?";
      setTimeout(() => { button.classList.remove("confirm"); button.textContent = "Delete"; }, 4000);
      return;
    }
    button.disabled = true;
    try {
      await api("DELETE", `/segments/${encodeURIComponent(segment.segment_id)}`);
      banner(`Deleted segment “${segment.name}”.`, "ok");
      after();
    } catch (error) {
      button.disabled = false;
      banner(error.message, "error");
    }
  });
  return button;
}

// Builder --------------------------------------------------------------------------------------

async function builderView(segmentId, stillCurrent) {
  const existing = segmentId ? await api("GET", `/segments/${encodeURIComponent(segmentId)}`) : null;
  if (!stillCurrent()) return;
  const root = existing ? fromApiGroup(existing) : newGroup("all");
  const errors = new Map(); // node id (or "name") -> message
  const errorSlots = new Map();
  let where = new Map();
  let timer = null;
  let sequence = 0;

  const name = h("input", { id: "segment-name", value: existing ? existing.name : "", placeholder: "e.g. High potential", maxlength: 200 });
  const description = h("input", { id: "segment-description", value: existing ? existing.description || "" : "", placeholder: "optional" });
  const nameError = h("div", { class: "rule-error", "data-error-for": "name" });
  errorSlots.set("name", nameError);
  name.addEventListener("input", () => { errors.delete("name"); showErrors(); });
  const tree = h("div", { class: "tree" });
  const saveButton = h("button", { type: "button", class: "primary", id: "save-segment", text: existing ? "Save changes" : "Save segment" });
  const preview = h("aside", { class: "card preview", id: "preview", "data-state": "idle" });

  function rerender() {
    errorSlots.clear();
    errorSlots.set("name", nameError);
    fill(tree, renderGroup(root, null, 1));
    showErrors();
  }

  function changed({ structure = false } = {}) {
    if (structure) rerender();
    clearTimeout(timer);
    timer = setTimeout(runPreview, 300);
  }

  function showErrors() {
    for (const [id, slot] of errorSlots) {
      const message = errors.get(id) || "";
      slot.textContent = message;
      slot.closest(".rule-wrap, .group, .field-row")?.classList.toggle("invalid", Boolean(message));
    }
  }

  function setApiError(error, map) {
    errors.clear();
    if (error.path === "/name" || error.path === "/description") {
      errors.set("name", error.message);
    } else {
      const node = nodeAt(map, error.path || "");
      errors.set(node ? node.id : root.id, error.message);
    }
    showErrors();
  }

  function renderGroup(group, parent, depth) {
    const box = h("div", { class: `group depth-${depth}`, "data-group-id": group.id });
    const match = h("select", { class: "match", "aria-label": "Match" },
      MATCHES.map(([value, label]) => h("option", { value, text: label, selected: group.match === value })));
    match.addEventListener("change", () => { group.match = match.value; changed(); });
    const head = h("div", { class: "group-head" },
      h("span", { text: parent ? "Profiles in this group match" : "Profiles that match" }), match);
    if (parent) {
      head.append(h("button", { type: "button", class: "link remove-group", text: "Remove group",
        onclick: () => { parent.rules.splice(parent.rules.indexOf(group), 1); changed({ structure: true }); } }));
    }
    const error = h("div", { class: "rule-error" });
    errorSlots.set(group.id, error);
    const list = h("div", { class: "rules" }, group.rules.map((node) => (node.kind === "group"
      ? renderGroup(node, group, depth + 1) : renderRule(node, group))));
    if (!group.rules.length) list.append(h("p", { class: "muted hint", text: group.match === "any" ? "An empty “one or more” group matches no one." : "No rules yet: everyone matches." }));
    const actions = h("div", { class: "group-actions" },
      h("button", { type: "button", class: "add-rule", text: "+ Add rule",
        onclick: () => { group.rules.push(newCondition()); changed({ structure: true }); } }),
      depth < 5 ? h("button", { type: "button", class: "add-group", text: "+ Add group",
        onclick: () => { const g = newGroup("any"); g.rules.push(newCondition()); group.rules.push(g); changed({ structure: true }); } }) : null);
    box.append(head, error, list, actions);
    return box;
  }

  function renderRule(rule, parent) {
    const row = h("div", { class: "rule", "data-rule-id": rule.id });
    const field = fieldOf(rule);
    const groupPick = h("select", { class: "pick-group", "aria-label": "Group" },
      h("option", { value: "", text: "Choose a group…", selected: !rule.group }),
      GROUPS.map(([value, label]) => h("option", { value, text: label, selected: rule.group === value })));
    groupPick.addEventListener("change", () => {
      Object.assign(rule, { group: groupPick.value, field: "", operator: "", value: undefined });
      changed({ structure: true });
    });
    row.append(groupPick);
    if (rule.group) {
      const choices = catalogue.fields.filter((f) => f.group === rule.group);
      if (field && !catalogue.byPath.has(field.path)) choices.push(field);
      const fieldPick = h("select", { class: "pick-field", "aria-label": "Field" },
        h("option", { value: "", text: "Choose a field…", selected: !rule.field }),
        choices.map((f) => h("option", { value: f.path, text: f.label, selected: rule.field === f.path })));
      fieldPick.addEventListener("change", () => {
        const f = catalogue.byPath.get(fieldPick.value);
        rule.field = fieldPick.value;
        rule.operator = f ? f.operators[0] : "";
        rule.value = f ? defaultValue(valueKind(f, rule.operator), f) : undefined;
        changed({ structure: true });
      });
      row.append(fieldPick);
    }
    if (field) {
      const operatorPick = h("select", { class: "pick-operator", "aria-label": "Operator" },
        field.operators.map((op) => h("option", { value: op, text: OPERATOR_LABELS[op] || op, selected: rule.operator === op })));
      operatorPick.addEventListener("change", () => {
        const before = valueKind(field, rule.operator);
        rule.operator = operatorPick.value;
        const after = valueKind(field, rule.operator);
        if (after !== before) rule.value = defaultValue(after, field);
        changed({ structure: true });
      });
      row.append(operatorPick, valueEditor(rule, field));
    }
    row.append(h("button", { type: "button", class: "link remove-rule", title: "Remove rule", "aria-label": "Remove rule", text: "✕",
      onclick: () => { parent.rules.splice(parent.rules.indexOf(rule), 1); changed({ structure: true }); } }));
    const error = h("div", { class: "rule-error" });
    errorSlots.set(rule.id, error);
    return h("div", { class: "rule-wrap" }, row, error);
  }

  function valueEditor(rule, field) {
    const kind = valueKind(field, rule.operator);
    const set = (value) => { rule.value = value; errors.delete(rule.id); changed(); };
    const input = (attrs, get, put) => {
      const el = h("input", { class: "value", ...attrs, value: get() });
      el.addEventListener("input", () => put(el.value));
      return el;
    };
    const dateType = (v) => (v && v.length > 10 ? "text" : "date");
    switch (kind) {
      case "none": return h("span", { class: "value none" });
      case "number":
        return input({ type: "number", step: "any", min: field.minimum, max: field.maximum, "aria-label": "Value", placeholder: "number" }, () => rule.value, set);
      case "days":
        return h("span", { class: "value-pair" }, input({ type: "number", min: 0, step: "any", "aria-label": "Days", placeholder: "days" }, () => rule.value, set), " days");
      case "numpair": case "datepair": {
        const type = kind === "numpair" ? "number" : dateType(rule.value[0]);
        return h("span", { class: "value-pair" },
          input({ type, step: "any", "aria-label": "From", placeholder: "from" }, () => rule.value[0], (v) => set([v, rule.value[1]])),
          " and ",
          input({ type, step: "any", "aria-label": "To", placeholder: "to" }, () => rule.value[1], (v) => set([rule.value[0], v])));
      }
      case "numlist":
        return input({ type: "text", "aria-label": "Values", placeholder: "1, 2, 3" }, () => rule.value, set);
      case "textlist":
        return input({ type: "text", "aria-label": "Values", placeholder: "comma-separated, e.g. NL, BE" }, () => rule.value, set);
      case "date":
        return input({ type: dateType(rule.value), "aria-label": "Date", placeholder: "2026-11-01" }, () => rule.value, set);
      case "bool": {
        const el = h("select", { class: "value", "aria-label": "Value" },
          h("option", { value: "true", text: "yes", selected: rule.value === "true" }),
          h("option", { value: "false", text: "no", selected: rule.value === "false" }));
        el.addEventListener("change", () => set(el.value));
        return el;
      }
      case "enum": {
        const el = h("select", { class: "value", "aria-label": "Value" },
          field.values.map((v) => h("option", { value: v, text: v, selected: rule.value === v })));
        el.addEventListener("change", () => set(el.value));
        return el;
      }
      case "enums":
        return h("span", { class: "value enum-choices", role: "group", "aria-label": "Values" }, field.values.map((v) => {
          const box = h("input", { type: "checkbox", value: v, checked: rule.value.includes(v) });
          box.addEventListener("change", () => set(field.values.filter((x) => (x === v ? box.checked : rule.value.includes(x)))));
          return h("label", { class: "choice" }, box, v);
        }));
      default:
        return input({ type: "text", "aria-label": "Value", placeholder: field.type === "list" ? "an element, e.g. vinyl" : "text" }, () => rule.value, set);
    }
  }

  async function runPreview() {
    const map = new Map();
    const body = toApiGroup(root, "", map, true);
    const mine = ++sequence;
    preview.dataset.state = "loading";
    preview.classList.add("loading");
    try {
      const result = await api("POST", "/segments/preview", body);
      if (mine !== sequence || !stillCurrent()) return;
      errors.delete(root.id);
      for (const node of map.values()) errors.delete(node.id);
      showErrors();
      renderPreview(result, body);
    } catch (error) {
      if (mine !== sequence || !stillCurrent()) return;
      if (error.status === 400) setApiError(error, map);
      preview.classList.remove("loading");
      preview.dataset.state = "error";
      preview.dataset.rules = JSON.stringify(body);
      fill(preview, h("h2", { text: "Live preview" }),
        h("p", { class: "error", "data-testid": "preview-error", text: error.status === 400 ? "Fix the highlighted rule to see the preview." : error.message }));
    }
  }

  function renderPreview(result, body) {
    preview.classList.remove("loading");
    preview.dataset.state = "ready";
    preview.dataset.rules = JSON.stringify(body);
    const incomplete = incompleteRules(root).length;
    fill(preview,
      h("h2", { text: "Live preview" }),
      h("div", { class: "big" },
        h("span", { id: "preview-count", "data-count": result.count, text: fmt(result.count) }),
        h("span", { class: "unit", text: result.count === 1 ? " profile" : " profiles" })),
      h("p", { class: "muted small", text: `${fmt(result.scored)} of them scored` }),
      incomplete ? h("p", { class: "hint", text: `${incomplete} rule${incomplete > 1 ? "s" : ""} without a field ${incomplete > 1 ? "are" : "is"} left out.` }) : null,
      h("dl", { class: "figures" },
        h("div", {}, h("dt", { text: "Expected conversions" }),
          h("dd", { id: "preview-conversions", "data-value": result.expected_conversions, text: fmt(result.expected_conversions, 1) }),
          h("dd", { class: "muted small", text: "sum of the members’ conversion probabilities" })),
        h("div", {}, h("dt", { text: "Expected value" }),
          h("dd", { id: "preview-value", "data-value": result.expected_value, text: fmt(result.expected_value, 0) }),
          h("dd", { class: "muted small", text: "sum of the members’ predicted CLV" }))),
      histogram("Conversion potential (0–100)", result.histograms.conversion_potential, { testid: "histogram-conversion" }),
      histogram("Customer lifetime value", result.histograms.clv, { testid: "histogram-clv" }),
      result.sample && result.sample.length
        ? h("div", { class: "sample" }, h("h3", { text: "A few of them" }),
          h("p", {}, result.sample.map((p) => [h("a", { href: `#/profiles/${encodeURIComponent(p.profile_id)}`, text: p.profile_id }), " "])))
        : null);
  }

  async function save() {
    const missing = incompleteRules(root);
    errors.clear();
    if (!name.value.trim()) errors.set("name", "Give the segment a name.");
    for (const node of missing) errors.set(node.id, "Choose a group and a field, or remove this rule.");
    if (errors.size) { showErrors(); return; }
    const map = new Map();
    const body = { name: name.value.trim(), ...toApiGroup(root, "", map, false) };
    if (description.value.trim()) body.description = description.value.trim();
    saveButton.disabled = true;
    try {
      const saved = existing
        ? await api("PUT", `/segments/${encodeURIComponent(existing.segment_id)}`, body)
        : await api("POST", "/segments", body);
      banner(`Saved segment “${saved.name}”.`, "ok");
      location.hash = `#/segments/${encodeURIComponent(saved.segment_id)}`;
    } catch (error) {
      saveButton.disabled = false;
      if (error.status === 400) setApiError(error, map);
      else banner(error.message, "error");
    }
  }
  saveButton.addEventListener("click", save);

  rerender();
  fill(view(), h("div", { class: "builder-layout" },
    h("section", { class: "card builder", "data-testid": "builder" },
      h("div", { class: "card-head" }, h("h1", { text: existing ? `Edit “${existing.name}”` : "New segment" })),
      h("div", { class: "field-row" }, h("label", { for: "segment-name", text: "Name" }), name, nameError),
      h("div", { class: "field-row" }, h("label", { for: "segment-description", text: "Description" }), description),
      tree,
      h("div", { class: "form-actions" }, saveButton,
        h("a", { href: existing ? `#/segments/${encodeURIComponent(existing.segment_id)}` : "#/segments", class: "button", text: "Cancel" }),
        existing ? deleteButton(existing, () => { location.hash = "#/segments"; }) : null)),
    preview));
  current.dispose = () => { clearTimeout(timer); sequence += 1; };
  runPreview();
}

// A saved segment: members, size over time, entries and exits --------------------------------

const PAGE_SIZE = 20;

async function segmentView(segmentId, stillCurrent) {
  const id = encodeURIComponent(segmentId);
  const [segment, stats, worth, changes] = await Promise.all([
    api("GET", `/segments/${id}`), api("GET", `/segments/${id}/stats`), api("GET", `/segments/${id}/count`),
    latestChanges(id)]);
  if (!stillCurrent()) return;

  const membersBox = h("div", { class: "members", "data-testid": "members" });
  const cursors = [null]; // cursor of each page seen, to go back
  let page = 0;

  async function showPage() {
    membersBox.dataset.state = "loading";
    const cursor = cursors[page];
    const result = await api("GET", `/segments/${id}/members?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!stillCurrent()) return;
    if (result.next_cursor) cursors[page + 1] = result.next_cursor;
    const pages = Math.max(1, Math.ceil(result.count / PAGE_SIZE));
    const prev = h("button", { type: "button", class: "small", id: "members-prev", text: "← Previous", disabled: page === 0,
      onclick: () => { page -= 1; showPage(); } });
    const next = h("button", { type: "button", class: "small", id: "members-next", text: "Next →", disabled: !result.next_cursor,
      onclick: () => { page += 1; showPage(); } });
    fill(membersBox,
      h("div", { class: "card-head" }, h("h2", { text: "Members" }),
        h("span", { class: "muted", id: "members-count", "data-count": result.count, text: `${fmt(result.count)} profiles, page ${page + 1} of ${pages}` })),
      h("table", { class: "table", id: "members-table" },
        h("thead", {}, h("tr", {}, [["Profile"], ["Conversion potential", "num"], ["CLV", "num"], ["Customer type"], ["Persuasion type"], ["Orders", "num"], ["Last seen"]].map(([t, c]) => h("th", { text: t, class: c })))),
        h("tbody", {}, result.profiles.map((p) => h("tr", { "data-profile-id": p.profile_id },
          h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(p.profile_id)}`, text: p.profile_id })),
          h("td", { class: "num", text: fmt(p.predictive.conversion_potential, 1) }),
          h("td", { class: "num", text: fmt(p.predictive.clv, 2) }),
          h("td", { text: p.predictive.customer_type || "–" }),
          h("td", { text: p.predictive.persuasion_type || "–" }),
          h("td", { class: "num", text: fmt(p.behaviour.orders) }),
          h("td", { text: fmtTime(p.behaviour.last_seen) }))))),
      h("div", { class: "pager" }, prev, next));
    membersBox.dataset.state = "ready";
    membersBox.dataset.page = String(page + 1);
  }

  const history = [...stats.history].reverse().map((p) => ({ at: p.at, size: p.size }));
  fill(view(),
    h("section", { class: "card", "data-testid": "segment" },
      h("div", { class: "card-head" },
        h("div", {}, h("h1", { id: "segment-title", text: segment.name }),
          segment.description ? h("p", { class: "muted", text: segment.description }) : null),
        h("div", { class: "actions" },
          h("a", { href: `#/segments/${id}/edit`, class: "button", id: "edit-segment", text: "Edit" }),
          deleteButton(segment, () => { location.hash = "#/segments"; }))),
      h("p", { class: "rules-summary", text: describe(segment) }),
      h("dl", { class: "figures wide" },
        h("div", {}, h("dt", { text: "Size now" }), h("dd", { id: "stats-size", text: fmt(stats.size) })),
        h("div", {}, h("dt", { text: "Expected conversions" }), h("dd", { text: fmt(worth.expected_conversions, 1) })),
        h("div", {}, h("dt", { text: "Expected value" }), h("dd", { text: fmt(worth.expected_value, 0) })),
        h("div", {}, h("dt", { text: "Last full evaluation" }), h("dd", { class: "small", text: stats.last_computed_at ? `${fmtTime(stats.last_computed_at)} (${fmt(stats.last_duration_ms)} ms)` : "not yet" })))),
    h("div", { class: "two-columns" },
      h("section", { class: "card" }, h("h2", { text: "Size over time" }),
        history.length ? lineChart(history) : h("p", { class: "muted", text: "No full evaluation yet: one runs in the background after every save and rescore." }),
        h("p", { class: "muted small", text: `${history.length} full evaluation${history.length === 1 ? "" : "s"}` })),
      h("section", { class: "card", "data-testid": "changes" }, h("h2", { text: "Latest entries and exits" }),
        changes.length
          ? h("table", { class: "table compact", id: "changes-table" },
            h("thead", {}, h("tr", {}, ["When", "Profile", "Change"].map((t) => h("th", { text: t })))),
            h("tbody", {}, changes.map((c) => h("tr", {},
              h("td", { text: fmtTime(c.at) }),
              h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(c.profile_id)}`, text: c.profile_id })),
              h("td", {}, h("span", { class: `tag ${c.change}`, text: c.change }))))))
          : h("p", { class: "muted", text: "No entries or exits in the last 7 days." }))),
    h("section", { class: "card" }, membersBox));
  await showPage();
}

// The newest entries and exits of the last 7 days (the API lists them oldest first).
async function latestChanges(id, show = 15, maxPages = 5) {
  let all = [], cursor = null;
  for (let i = 0; i < maxPages; i += 1) {
    const result = await api("GET", `/segments/${id}/changes?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all = all.concat(result.changes).slice(-show);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all.reverse();
}

// Profile --------------------------------------------------------------------------------------

const PREDICTIVE = [
  ["conversion_potential", "Conversion potential", (v) => `${fmt(v, 1)} / 100`],
  ["clv", "Customer lifetime value", (v, p) => `${fmt(v, 2)} (spent ${fmt(p.clv_past, 2)}, predicted ${fmt(p.clv_predicted, 2)})`],
  ["customer_type", "Customer type", (v) => v],
  ["persuasion_type", "Persuasion type", (v) => v],
];

async function profileView(profileId, stillCurrent) {
  const [profile, memberOf] = await Promise.all([
    api("GET", `/profiles/${encodeURIComponent(profileId)}`),
    api("GET", `/profiles/${encodeURIComponent(profileId)}/segments`)]);
  if (!stillCurrent()) return;
  const show = (v) => (Array.isArray(v) ? v.join(", ") || "–" : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));
  const attributes = Object.entries(profile.attributes).sort(([a], [b]) => a.localeCompare(b));
  const behaviour = catalogue.fields.filter((f) => f.group === "behaviour")
    .map((f) => [f.label, profile.behaviour[f.path.slice("behaviour.".length)], f.type]);
  const persuasion = Object.entries(profile.behaviour.persuasion || {});
  const p = profile.predictive || {};
  const explanations = p.explanations || {};
  const kv = (rows) => h("table", { class: "table kv" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v })))));

  fill(view(),
    h("section", { class: "card", "data-testid": "profile" },
      h("div", { class: "card-head" }, h("h1", { id: "profile-title", text: `Profile ${profile.profile_id}` }),
        h("span", { class: "muted", text: `created ${fmtTime(profile.created_at)}, updated ${fmtTime(profile.updated_at)}` }))),
    h("div", { class: "two-columns" },
      h("section", { class: "card" }, h("h2", { text: "Attributes" }),
        attributes.length ? kv(attributes.map(([k, v]) => [k, show(v)])) : h("p", { class: "muted", text: "No attributes." })),
      h("section", { class: "card" }, h("h2", { text: "Behaviour" }),
        kv(behaviour.map(([label, v, type]) => [label, v === undefined || v === null ? "–" : type === "date" ? fmtTime(v) : fmt(v, Number.isInteger(v) ? 0 : 2)])),
        persuasion.length ? [h("h3", { text: "Persuasion principles shown (responded)" }),
          kv(persuasion.map(([principle, [shown, responded]]) => [principle, `${fmt(shown)} (${fmt(responded)})`]))] : null)),
    h("section", { class: "card", "data-testid": "predictive" }, h("h2", { text: "Predictive fields" }),
      p.scored_at
        ? [h("div", { class: "predictive-grid" }, PREDICTIVE.map(([key, label, render]) => h("div", { class: "predictive", "data-field": key },
            h("h3", { text: label }),
            h("p", { class: "predictive-value", text: p[key] === undefined || p[key] === null ? "–" : render(p[key], p) }),
            (explanations[key] || []).length
              ? h("ul", { class: "explanations" }, explanations[key].map((e) => h("li", { text: e })))
              : h("p", { class: "muted small", text: "no explanation" })))),
          h("p", { class: "muted small", text: `Scored ${fmtTime(p.scored_at)} with model ${p.model_version || "?"}, as of ${p.as_of || "?"}; conversion within ${p.conversion_horizon_days || "?"} days, CLV over ${p.clv_horizon_days || "?"} days.` })]
        : h("p", { class: "muted", text: "Not scored yet: profiles are scored a few seconds after they change." })),
    h("section", { class: "card", "data-testid": "profile-segments" }, h("h2", { text: "Segments" }),
      memberOf.segments.length
        ? h("ul", {}, memberOf.segments.map((sg) => h("li", {},
            h("a", { href: `#/segments/${encodeURIComponent(sg.segment_id)}`, text: sg.name || sg.segment_id }))))
        : h("p", { class: "muted", text: "In no saved segment (as of the last evaluation)." })));
}

// --- start -----------------------------------------------------------------------------------

function start() {
  const project = document.getElementById("project-id");
  const key = document.getElementById("api-key");
  project.value = settings.project;
  key.value = settings.key;
  document.getElementById("connect").addEventListener("submit", (event) => {
    event.preventDefault();
    settings.save(project.value.trim(), key.value.trim());
    catalogue.project = null;
    banner("");
    if (!location.hash || location.hash === "#/segments") route();
    else location.hash = "#/segments";
  });
  document.getElementById("profile-lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("profile-lookup-id").value.trim();
    if (id) location.hash = `#/profiles/${encodeURIComponent(id)}`;
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
