// The segment builder: the rule tree on screen, its live preview and saving. What a rule may say
// (fields, operators, value shapes, matches, limits) comes from the catalogue (GET /fields); the
// tree's logic is in rules.js and values.js, this module only draws it and wires the clicks.
import { api } from "./api.js";
import { histogram } from "./charts.js";
import { EVENT_GROUP, fieldOf, operatorLabel, valueShape } from "./catalogue.js";
import { banner, fill, h, view } from "./dom.js";
import { fmt } from "./format.js";
import {
  DID, DID_NOT, canNest, chooseEvent, chooseEventOperator, chooseField, chooseGroup, chooseOperator,
  choosePropertyOperator, chooseWindow, defaultMatch, fromApiGroup, hasEvents, incompleteRules, newCondition,
  newGroup, nodeAt, saveHints, toApiGroup,
} from "./rules.js";
import { editorOf } from "./values.js";
import { deleteButton } from "./segments.js";

const PREVIEW_DELAY_MS = 300; // after the last change

export async function builderView(segmentId, { catalogue, stillCurrent, onDispose }) {
  const existing = segmentId ? await api("GET", `/segments/${encodeURIComponent(segmentId)}`) : null;
  if (!stillCurrent()) return;
  const limits = catalogue.limits;
  const root = existing ? fromApiGroup(catalogue, existing) : newGroup(defaultMatch(catalogue, "all"));
  let errors = new Map(); // node id (or "name", "description") -> message
  const errorSlots = new Map();
  let timer = null;
  let sequence = 0;

  const name = h("input", { id: "segment-name", value: existing ? existing.name : "", placeholder: "e.g. High potential", maxlength: limits.max_name });
  const description = h("input", { id: "segment-description", value: existing ? existing.description || "" : "", placeholder: "optional", maxlength: limits.max_description });
  const nameError = h("div", { class: "rule-error", "data-error-for": "name" });
  const descriptionError = h("div", { class: "rule-error", "data-error-for": "description" });
  name.addEventListener("input", () => { errors.delete("name"); showErrors(); });
  description.addEventListener("input", () => { errors.delete("description"); showErrors(); });
  const tree = h("div", { class: "tree" });
  const saveButton = h("button", { type: "button", class: "primary", id: "save-segment", text: existing ? "Save changes" : "Save segment" });
  const preview = h("aside", { class: "card preview", id: "preview", "data-state": "idle" });

  function rerender() {
    errorSlots.clear();
    errorSlots.set("name", nameError);
    errorSlots.set("description", descriptionError);
    fill(tree, renderGroup(root, null, 1));
    showErrors();
  }

  function changed({ structure = false } = {}) {
    if (structure) rerender();
    clearTimeout(timer);
    timer = setTimeout(runPreview, PREVIEW_DELAY_MS);
  }

  function showErrors() {
    for (const [id, slot] of errorSlots) {
      const message = errors.get(id) || "";
      slot.textContent = message;
      slot.closest(".rule-wrap, .group, .field-row")?.classList.toggle("invalid", Boolean(message));
    }
  }

  function setApiError(error, where) {
    errors = new Map();
    if (error.path === "/name" || error.path === "/description") {
      errors.set(error.path.slice(1), error.message);
    } else {
      const node = nodeAt(where, error.path || "");
      errors.set(node ? node.id : root.id, error.message);
    }
    showErrors();
  }

  function renderGroup(group, parent, depth) {
    const box = h("div", { class: `group depth-${depth}`, "data-group-id": group.id });
    const match = h("select", { class: "match", "aria-label": "Match" },
      catalogue.matches.map((m) => h("option", { value: m.name, text: m.label, selected: group.match === m.name })));
    match.addEventListener("change", () => { group.match = match.value; changed({ structure: true }); });
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
      canNest(catalogue, depth) ? h("button", { type: "button", class: "add-group", text: "+ Add group",
        onclick: () => { const g = newGroup(defaultMatch(catalogue, "any")); g.rules.push(newCondition()); group.rules.push(g); changed({ structure: true }); } }) : null);
    box.append(head, error, list, actions);
    return box;
  }

  function renderRule(rule, parent) {
    const row = h("div", { class: "rule", "data-rule-id": rule.id });
    const field = fieldOf(catalogue, rule);
    const groupPick = h("select", { class: "pick-group", "aria-label": "Group" },
      h("option", { value: "", text: "Choose a group…", selected: !rule.group }),
      catalogue.groups.map((g) => h("option", { value: g.name, text: g.label, selected: rule.group === g.name })));
    groupPick.addEventListener("change", () => { chooseGroup(rule, groupPick.value); changed({ structure: true }); });
    row.append(groupPick);
    if (rule.group) {
      const choices = catalogue.fields.filter((f) => f.group === rule.group);
      if (field && !catalogue.byPath.has(field.path)) choices.push(field);
      const events = rule.group === EVENT_GROUP && hasEvents(catalogue)
        ? [[DID, "did …", rule.event && rule.event.did], [DID_NOT, "did not …", rule.event && !rule.event.did]] : [];
      const fieldPick = h("select", { class: "pick-field", "aria-label": "Field" },
        h("option", { value: "", text: "Choose a field…", selected: !rule.field && !rule.event }),
        events.map(([value, text, selected]) => h("option", { value, text, selected: Boolean(selected) })),
        choices.map((f) => h("option", { value: f.path, text: f.label, selected: rule.field === f.path })));
      fieldPick.addEventListener("change", () => {
        if (fieldPick.value === DID || fieldPick.value === DID_NOT) chooseEvent(rule, fieldPick.value);
        else { rule.event = undefined; chooseField(catalogue, rule, fieldPick.value); }
        changed({ structure: true });
      });
      row.append(fieldPick);
    }
    if (rule.event) row.append(...eventEditor(rule.event));
    if (field) {
      const operatorPick = h("select", { class: "pick-operator", "aria-label": "Operator" },
        field.operators.map((op) => h("option", { value: op, text: operatorLabel(catalogue, op), selected: rule.operator === op })));
      operatorPick.addEventListener("change", () => { chooseOperator(catalogue, rule, operatorPick.value); changed({ structure: true }); });
      row.append(operatorPick, valueEditor(rule, field));
    }
    row.append(h("button", { type: "button", class: "link remove-rule", title: "Remove rule", "aria-label": "Remove rule", text: "✕",
      onclick: () => { parent.rules.splice(parent.rules.indexOf(rule), 1); changed({ structure: true }); } }));
    const error = h("div", { class: "rule-error" });
    errorSlots.set(rule.id, error);
    return h("div", { class: "rule-wrap" }, row, error);
  }

  // "did / did not [event] [name] [with property …] [at least N times | spent …] [in the last N days]"
  function eventEditor(draft) {
    const language = catalogue.events;
    const pick = (cls, label, options, selected, onChange) => {
      const el = h("select", { class: cls, "aria-label": label },
        options.map(([value, text]) => h("option", { value, text, selected: selected === value })));
      el.addEventListener("change", () => { onChange(el.value); changed({ structure: true }); });
      return el;
    };
    const typed = (attrs, get, put) => {
      const el = h("input", { class: "value", ...attrs, value: get() });
      el.addEventListener("input", () => { put(el.value); changed(); });
      return el;
    };
    // one value, or a [from, to] pair; `key` names the draft's entry, read afresh on each input
    const numbers = (key, type = "number") => {
      const put = (v) => { draft[key] = v; };
      return Array.isArray(draft[key])
        ? h("span", { class: "value-pair" },
          typed({ type, "aria-label": "From" }, () => draft[key][0], (v) => put([v, draft[key][1]])), " and ",
          typed({ type, "aria-label": "To" }, () => draft[key][1], (v) => put([draft[key][0], v])))
        : typed({ type, ...(type === "number" ? { min: 0, step: "any" } : {}), "aria-label": "Value" }, () => draft[key], put);
    };
    const parts = [pick("pick-event", "Event", language.events.map((e) => [e.name, e.label]), draft.event, (v) => {
      draft.event = v;
      if (v !== language.summed_event) draft.measure = "count";
    })];
    if (draft.event === "custom") {
      parts.push(typed({ type: "text", class: "value event-name", "aria-label": "Custom event name", placeholder: "name (any)", maxlength: 64 },
        () => draft.name, (v) => { draft.name = v; }));
    }
    if (language.properties.length) {
      parts.push(pick("pick-property", "Property", [["", "(any properties)"], ...language.properties.map((p) => [p, `with ${p}`])],
        draft.property, (v) => { draft.property = v; }));
      if (draft.property) {
        parts.push(pick("pick-property-operator", "Property operator",
          language.property_operators.map((op) => [op, operatorLabel(catalogue, op)]), draft.propertyOperator,
          (v) => choosePropertyOperator(draft, v)),
        Array.isArray(draft.propertyValue)
          ? numbers("propertyValue")
          : typed({ type: "text", "aria-label": "Property value", placeholder: "e.g. vinyl" }, () => draft.propertyValue, (v) => { draft.propertyValue = v; }));
      }
    }
    if (draft.did) {
      const measures = draft.event === language.summed_event ? [["count", "times:"], ["sum", "spent:"]] : [["count", "times:"]];
      parts.push(pick("pick-measure", "Count or sum", measures, draft.measure, (v) => { draft.measure = v; }),
        pick("pick-event-operator", "Operator", language.measure_operators.map((op) => [op, operatorLabel(catalogue, op)]),
          draft.operator, (v) => chooseEventOperator(draft, v)),
        numbers("value"));
    }
    parts.push(pick("pick-window", "Window", [["", "at any time"], ...language.windows.map((w) => [w.name, w.label])],
      draft.window, (v) => chooseWindow(draft, v)));
    if (draft.window === "within_last_days") {
      parts.push(h("span", { class: "value-pair" }, typed({ type: "number", min: 1, max: language.max_days, "aria-label": "Days" },
        () => draft.windowValue, (v) => { draft.windowValue = v; }), " days"));
    } else if (draft.window) parts.push(numbers("windowValue", "date"));
    parts.push(h("span", { class: "muted small", text: ` (days in ${language.time_zone})` }));
    return parts;
  }

  function valueEditor(rule, field) {
    const editor = editorOf(valueShape(catalogue, rule.operator), field, rule.value, limits);
    const set = (value) => { rule.value = value; errors.delete(rule.id); changed(); };
    const input = (attrs, get, put) => {
      const el = h("input", { class: "value", step: editor.type === "number" ? "any" : null, ...attrs, value: get() });
      el.addEventListener("input", () => put(el.value));
      return el;
    };
    const select = (options) => {
      const el = h("select", { class: "value", "aria-label": "Value" },
        options.map(([value, text]) => h("option", { value, text, selected: rule.value === value })));
      el.addEventListener("change", () => set(el.value));
      return el;
    };
    const { type, min, max, label, placeholder, maxlength } = editor;
    switch (editor.kind) {
      case "none": return h("span", { class: "value none" });
      case "select": return select(editor.options);
      case "days":
        return h("span", { class: "value-pair" }, input({ type, min, max, "aria-label": label, placeholder }, () => rule.value, set), " days");
      case "pair":
        return h("span", { class: "value-pair" },
          input({ type, min, max, "aria-label": "From", placeholder: "from" }, () => rule.value[0], (v) => set([v, rule.value[1]])),
          " and ",
          input({ type, min, max, "aria-label": "To", placeholder: "to" }, () => rule.value[1], (v) => set([rule.value[0], v])));
      case "checkboxes":
        return h("span", { class: "value enum-choices", role: "group", "aria-label": "Values" }, editor.options.map((v) => {
          const box = h("input", { type: "checkbox", value: v, checked: rule.value.includes(v) });
          box.addEventListener("change", () => set(editor.options.filter((x) => (x === v ? box.checked : rule.value.includes(x)))));
          return h("label", { class: "choice" }, box, v);
        }));
      default:
        return input({ type, min, max, maxlength, "aria-label": label, placeholder }, () => rule.value, set);
    }
  }

  async function runPreview() {
    const where = new Map();
    const body = toApiGroup(catalogue, root, { where, skipIncomplete: true });
    const mine = ++sequence;
    preview.dataset.state = "loading";
    preview.classList.add("loading");
    try {
      const result = await api("POST", "/segments/preview", body);
      if (mine !== sequence || !stillCurrent()) return;
      errors.delete(root.id);
      for (const node of where.values()) errors.delete(node.id);
      showErrors();
      renderPreview(result, body);
    } catch (error) {
      if (mine !== sequence || !stillCurrent()) return;
      if (error.status === 400) setApiError(error, where);
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
    errors = saveHints(catalogue, root, { name: name.value, description: description.value });
    if (errors.size) { showErrors(); return; }
    const where = new Map();
    const body = { name: name.value.trim(), ...toApiGroup(catalogue, root, { where }) };
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
      if (error.status === 400) setApiError(error, where);
      else banner(error.message, "error");
    }
  }
  saveButton.addEventListener("click", save);

  rerender();
  fill(view(), h("div", { class: "builder-layout" },
    h("section", { class: "card builder", "data-testid": "builder" },
      h("div", { class: "card-head" }, h("h1", { text: existing ? `Edit “${existing.name}”` : "New segment" })),
      h("div", { class: "field-row" }, h("label", { for: "segment-name", text: "Name" }), name, nameError),
      h("div", { class: "field-row" }, h("label", { for: "segment-description", text: "Description" }), description, descriptionError),
      tree,
      h("div", { class: "form-actions" }, saveButton,
        h("a", { href: existing ? `#/segments/${encodeURIComponent(existing.segment_id)}` : "#/segments", class: "button", text: "Cancel" }),
        existing ? deleteButton(existing, () => { location.hash = "#/segments"; }) : null)),
    preview));
  onDispose(() => { clearTimeout(timer); sequence += 1; });
  runPreview();
}
