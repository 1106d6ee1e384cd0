// The builder's rule tree: groups and conditions as the page edits them, turned into the API's
// rule tree and back, the changes a click makes, and the hints shown before the API is asked.
// Pure: no DOM. A group is {kind: "group", id, match, rules}; a condition is
// {kind: "rule", id, group, field, operator, value} with `value` as typed (see values.js).
import { PAIR, fieldOf, labelOf, operatorLabel, valueShape } from "./catalogue.js";
import { defaultValue, fromApiValue, toApiValue } from "./values.js";

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
  Object.assign(rule, { group, field: "", operator: "", value: undefined });
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
    else if (!node.field) out.push(node);
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

function describeRule(catalogue, rule) {
  const op = operatorLabel(catalogue, rule.operator);
  let value = "";
  if (Array.isArray(rule.value)) {
    value = valueShape(catalogue, rule.operator) === PAIR ? ` ${rule.value[0]} and ${rule.value[1]}` : ` ${rule.value.join(", ")}`;
  } else if (rule.value !== undefined && rule.value !== null) value = ` ${rule.value}`;
  return `${labelOf(catalogue, rule.field)} ${op}${value}`;
}
