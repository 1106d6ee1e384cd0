// The rule language as GET /projects/{p}/fields describes it: the fields, the operators with their
// labels and value shapes, the ways a group matches, and the limits. The page keeps none of these
// itself, so an operator or a field added on the server shows up here unchanged. Pure: no DOM.

// Value shapes of an operator (the server's names): what the builder asks for.
export const NONE = "none";
export const SCALAR = "scalar";
export const PAIR = "pair";
export const LIST = "list";
export const DAYS = "days";
export const PERCENT = "percent"; // a rank: top/bottom X % of the project's profiles

export function buildCatalogue(response) {
  const fields = response.fields || [];
  const groups = [];
  for (const field of fields) {
    if (!groups.some((g) => g.name === field.group)) groups.push({ name: field.group, label: capitalize(field.group) });
  }
  return {
    fields,
    byPath: new Map(fields.map((f) => [f.path, f])),
    operators: new Map((response.operators || []).map((op) => [op.name, op])),
    matches: response.matches || [],
    limits: response.limits || {},
    groups, // in the order the server lists the fields
    events: response.events || null, // event conditions: events, windows, properties, time zone
  };
}

function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

// The group of a field path that is not in the catalogue (an attribute no profile has any more).
export function groupOfPath(path) {
  if (path.startsWith("attributes.")) return "profile";
  return path.split(".")[0];
}

// A rule's field; one the catalogue no longer lists is kept as text, with only its own operator,
// so a saved segment still opens and the API says what is wrong with it.
export function fieldOf(catalogue, rule) {
  if (!rule.field) return null;
  return catalogue.byPath.get(rule.field) || {
    path: rule.field, label: `${rule.field} (not in the catalogue)`,
    group: groupOfPath(rule.field), type: "text", operators: rule.operator ? [rule.operator] : [],
  };
}

export function labelOf(catalogue, path) {
  const field = catalogue.byPath.get(path);
  return field ? field.label : path;
}

export function operatorLabel(catalogue, name) {
  const op = catalogue.operators.get(name);
  return op ? op.label : name;
}

// The value shape of an operator: none without an operator; an operator the server does not
// describe takes one value (typed as text: the API names what is wrong with it).
export function valueShape(catalogue, operator) {
  if (!operator) return NONE;
  const op = catalogue.operators.get(operator);
  return op ? op.value : SCALAR;
}

// Event conditions ("did / did not …") live in the behaviour group, when the server has them.
export const EVENT_GROUP = "behaviour";

export function eventLabel(catalogue, name) {
  const found = catalogue.events && catalogue.events.events.find((e) => e.name === name);
  return found ? found.label : name;
}

export function windowLabel(catalogue, name) {
  const found = catalogue.events && catalogue.events.windows.find((w) => w.name === name);
  return found ? found.label : name;
}

export function matchLabel(catalogue, name) {
  const match = catalogue.matches.find((m) => m.name === name);
  return match ? match.label : name;
}
