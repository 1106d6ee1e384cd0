// The builder's rule tree: groups and conditions as the page edits them, turned into the API's
// rule tree and back, the changes a click makes, and the hints shown before the API is asked.
// Pure: no DOM. A group is {kind: "group", id, match, rules}; a condition is
// {kind: "rule", id, group, field, operator, value} with `value` as typed (see values.js), or, for
// an event condition ("did / did not …"), {kind: "rule", id, group, field: "", event: draft}.
import { EVENT_GROUP, PAIR, eventLabel, fieldOf, labelOf, operatorLabel, valueShape, windowLabel } from "./catalogue.js";
import { defaultValue, fromApiValue, parseNumber, splitList, toApiValue } from "./values.js";

let nextId = 0;
export const newGroup = (match = "all") => ({ kind: "group", id: ++nextId, match, rules: [] });
export const newCondition = () => ({ kind: "rule", id: ++nextId, group: "", field: "", operator: "", value: undefined });

// --- what a click changes ----------------------------------------------------------------------

// A new group's match: the one asked for if the server lists it, else the server's first.
export function defaultMatch(catalogue, preferred) {
  const names = catalogue.matches.map((m) => m.name);
  return !names.length || names.includes(preferred) ? preferred : names[0];
}

export function chooseGroup(rule, group) {
  Object.assign(rule, { group, field: "", operator: "", value: undefined, event: undefined });
}

// --- event conditions --------------------------------------------------------------------------

// The choices the behaviour group adds before its fields.
export const DID = "did";
export const DID_NOT = "did_not";

export function hasEvents(catalogue) {
  return Boolean(catalogue.events && catalogue.events.events.length);
}

// "did …" starts as "did purchase at least 1 time in the last 30 days"; "did not …" as count 0.
export function chooseEvent(rule, which) {
  Object.assign(rule, { field: "", operator: "", value: undefined });
  rule.event = {
    did: which === DID, event: "purchase", name: "", measure: "count", operator: "gte", value: "1",
    window: "within_last_days", windowValue: "30", property: "", propertyOperator: "eq", propertyValue: "",
  };
}

// A new window kind starts empty, but "in the last" keeps a number typed.
export function chooseWindow(draft, window) {
  draft.window = window;
  draft.windowValue = window === "between" ? ["", ""] : window === "within_last_days" ? "30" : "";
}

const NUMBER_ONLY = ["gt", "gte", "lt", "lte", "between"];
const TEXT_ONLY = ["contains", "not_contains", "starts_with", "ends_with"];

// A property filter's value: numbers for number operators, text for text ones; for eq / in and
// their negations, numbers when every value typed is one.
function propertyValue(operator, draft) {
  if (operator === "between") return (Array.isArray(draft) ? draft : ["", ""]).map(parseNumber);
  const many = ["in", "not_in"].includes(operator);
  const texts = many ? splitList(draft) : [String(draft ?? "")];
  const numbers = texts.map(parseNumber);
  const asNumbers = NUMBER_ONLY.includes(operator)
    || (!TEXT_ONLY.includes(operator) && numbers.length > 0 && numbers.every((n) => typeof n === "number"));
  const values = asNumbers ? numbers : texts;
  return many ? values : values[0];
}

// A new operator keeps a single value typed; "between" takes two.
export function chooseEventOperator(draft, operator) {
  if ((operator === "between") !== (draft.operator === "between")) draft.value = operator === "between" ? ["", ""] : "";
  draft.operator = operator;
}

export function choosePropertyOperator(draft, operator) {
  if ((operator === "between") !== (draft.propertyOperator === "between")) {
    draft.propertyValue = operator === "between" ? ["", ""] : "";
  }
  draft.propertyOperator = operator;
}

export function toApiEvent(draft) {
  const rule = { event: draft.event };
  if (draft.event === "custom" && draft.name.trim()) rule.name = draft.name.trim();
  if (draft.property) {
    rule.where = { property: draft.property, operator: draft.propertyOperator, value: propertyValue(draft.propertyOperator, draft.propertyValue) };
  }
  const value = draft.operator === "between" ? (draft.value || ["", ""]).map(parseNumber) : parseNumber(draft.value);
  if (draft.did) rule[draft.measure] = { operator: draft.operator, value };
  else rule.count = { operator: "eq", value: 0 }; // "did not": no such event in the window
  if (draft.window) {
    const w = draft.window === "within_last_days" ? parseNumber(draft.windowValue) : draft.windowValue;
    rule.window = { [draft.window]: w };
  }
  return rule;
}

export function fromApiEvent(rule) {
  const measure = "sum" in rule ? "sum" : "count";
  const m = rule[measure] || {};
  const didNot = measure === "count" && m.operator === "eq" && m.value === 0;
  const [window, windowValue] = Object.entries(rule.window || {})[0] || ["", ""];
  const text = (v) => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? "" : String(v));
  const where = rule.where || {};
  return {
    did: !didNot, event: rule.event || "", name: rule.name || "", measure, operator: didNot ? "gte" : m.operator || "gte",
    value: didNot ? "1" : text(m.value), window, windowValue: text(windowValue), property: where.property || "",
    propertyOperator: where.operator || "eq",
    propertyValue: Array.isArray(where.value) && where.operator !== "between" ? where.value.join(", ") : text(where.value),
  };
}

// A new field starts with its first operator and that operator's default value.
export function chooseField(catalogue, rule, path) {
  const field = catalogue.byPath.get(path);
  rule.field = field ? path : "";
  rule.operator = field && field.operators.length ? field.operators[0] : "";
  rule.value = field ? defaultValue(valueShape(catalogue, rule.operator), field) : undefined;
}

// The value typed so far is kept while the operator takes the same shape of value.
export function chooseOperator(catalogue, rule, operator) {
  const field = fieldOf(catalogue, rule);
  const before = valueShape(catalogue, rule.operator);
  rule.operator = operator;
  const after = valueShape(catalogue, operator);
  if (after !== before) rule.value = defaultValue(after, field);
}

// The groups a group may hold: the segment is the first of max_depth levels.
export function canNest(catalogue, depth) {
  const max = catalogue.limits.max_depth;
  return max === undefined || depth < max;
}

// --- to the API and back -----------------------------------------------------------------------

export function fromApiGroup(catalogue, group) {
  const g = newGroup(group.match || "all");
  g.rules = (group.rules || []).map((r) => (r && "rules" in r ? fromApiGroup(catalogue, r) : fromApiRule(catalogue, r)));
  return g;
}

function fromApiRule(catalogue, rule) {
  const c = newCondition();
  if (rule && "event" in rule) {
    c.group = EVENT_GROUP;
    c.event = fromApiEvent(rule);
    return c;
  }
  c.field = rule.field || "";
  c.operator = rule.operator || "";
  const field = fieldOf(catalogue, c);
  c.group = field ? field.group : "";
  c.value = field ? fromApiValue(valueShape(catalogue, c.operator), field, rule.value) : undefined;
  return c;
}

// The API body of a group. `where` (a Map) gets each JSON pointer of the body and the builder node
// it came from, so that an error's `path` finds its rule. Conditions without a field yet are left
// out when `skipIncomplete` (the live preview); else they are sent, and the API names them.
export function toApiGroup(catalogue, group, { where = new Map(), skipIncomplete = false, path = "" } = {}) {
  where.set(path, group);
  const rules = [];
  for (const node of group.rules) {
    const at = `${path}/rules/${rules.length}`;
    if (node.kind === "group") {
      rules.push(toApiGroup(catalogue, node, { where, skipIncomplete, path: at }));
    } else if (node.event) {
      where.set(at, node);
      rules.push(toApiEvent(node.event));
    } else if (node.field || !skipIncomplete) {
      where.set(at, node);
      const rule = { field: node.field || null, operator: node.operator || null };
      const field = fieldOf(catalogue, node);
      const value = field ? toApiValue(valueShape(catalogue, node.operator), field, node.value) : undefined;
      if (value !== undefined) rule.value = value;
      rules.push(rule);
    }
  }
  return { match: group.match, rules };
}

// The node an error's JSON pointer points into: the longest mapped prefix.
export function nodeAt(where, pointer) {
  let best = null;
  for (const [path, node] of where) {
    if ((pointer === path || pointer.startsWith(`${path}/`)) && (!best || path.length > best[0].length)) {
      best = [path, node];
    }
  }
  return best ? best[1] : null;
}

// --- hints before saving -------------------------------------------------------------------------

export function incompleteRules(group, out = []) {
  for (const node of group.rules) {
    if (node.kind === "group") incompleteRules(node, out);
    else if (!node.field && !node.event) out.push(node);
  }
  return out;
}

// Conditions, nodes (groups, the segment included, and conditions) and the deepest level.
export function treeSize(group, depth = 1) {
  const size = { conditions: 0, nodes: 1, depth };
  for (const node of group.rules) {
    if (node.kind === "group") {
      const inner = treeSize(node, depth + 1);
      size.conditions += inner.conditions;
      size.nodes += inner.nodes;
      size.depth = Math.max(size.depth, inner.depth);
    } else {
      size.conditions += 1;
      size.nodes += 1;
    }
  }
  return size;
}

// What to fix before a save is worth sending: a Map of node id (or "name", "description") to a
// message. The API checks all of it again; these only save a round trip.
export function saveHints(catalogue, root, { name = "", description = "" } = {}) {
  const limits = catalogue.limits;
  const hints = new Map();
  if (!name.trim()) hints.set("name", "Give the segment a name.");
  else if (limits.max_name !== undefined && name.trim().length > limits.max_name) {
    hints.set("name", `At most ${limits.max_name} characters.`);
  }
  if (limits.max_description !== undefined && description.trim().length > limits.max_description) {
    hints.set("description", `At most ${limits.max_description} characters.`);
  }
  for (const node of incompleteRules(root)) hints.set(node.id, "Choose a group and a field, or remove this rule.");
  const size = treeSize(root);
  if (limits.max_conditions !== undefined && size.conditions > limits.max_conditions) {
    hints.set(root.id, `A segment has at most ${limits.max_conditions} rules; this one has ${size.conditions}.`);
  } else if (limits.max_nodes !== undefined && size.nodes > limits.max_nodes) {
    hints.set(root.id, `A segment has at most ${limits.max_nodes} rules and groups; this one has ${size.nodes}.`);
  } else if (limits.max_depth !== undefined && size.depth > limits.max_depth) {
    hints.set(root.id, `Groups nest at most ${limits.max_depth} deep.`);
  }
  return hints;
}

// --- in words --------------------------------------------------------------------------------------

const JOINERS = { all: " and ", any: " or ", none: " nor " };

// A segment's rules in one line, e.g. "Orders at least 1 and (Country is one of NL, BE)".
export function describe(catalogue, group) {
  const parts = (group.rules || []).map((r) => ("rules" in r ? `(${describe(catalogue, r)})` : describeRule(catalogue, r)));
  if (!parts.length) return group.match === "any" ? "no one" : "everyone";
  return group.match === "none" ? `none of: ${parts.join("; ")}` : parts.join(JOINERS[group.match] || " and ");
}

function describeEvent(catalogue, rule) {
  const m = rule.sum || rule.count || {};
  const didNot = rule.count && m.operator === "eq" && m.value === 0;
  const what = `${eventLabel(catalogue, rule.event)}${rule.name ? ` “${rule.name}”` : ""}`;
  const where = rule.where ? ` with ${rule.where.property} ${operatorLabel(catalogue, rule.where.operator)} ${[].concat(rule.where.value).join(", ")}` : "";
  const amount = Array.isArray(m.value) ? `${m.value[0]} and ${m.value[1]}` : m.value;
  const how = didNot ? "" : rule.sum ? `, spent ${operatorLabel(catalogue, m.operator)} ${amount}` : `, ${operatorLabel(catalogue, m.operator)} ${amount} times`;
  const [w, v] = Object.entries(rule.window || {})[0] || [];
  const when = !w ? "" : w === "within_last_days" ? ` in the last ${v} days` : ` ${windowLabel(catalogue, w)} ${[].concat(v).join(" and ")}`;
  return `${didNot ? "did not" : "did"} ${what}${where}${how}${when}`;
}

function describeRule(catalogue, rule) {
  if ("event" in rule) return describeEvent(catalogue, rule);
  const op = operatorLabel(catalogue, rule.operator);
  let value = "";
  if (Array.isArray(rule.value)) {
    value = valueShape(catalogue, rule.operator) === PAIR ? ` ${rule.value[0]} and ${rule.value[1]}` : ` ${rule.value.join(", ")}`;
  } else if (rule.value !== undefined && rule.value !== null) value = ` ${rule.value}`;
  return `${labelOf(catalogue, rule.field)} ${op}${value}`;
}
