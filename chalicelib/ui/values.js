// A rule's value in the builder, by the operator's value shape (catalogue.js) and the field's type:
// what it starts as, how it is sent to the API and read back, and which editor shows it. The
// builder keeps what the user typed (text, so a half-typed number stays as typed); only the API
// body holds numbers, booleans and lists. Pure: no DOM.
import { DAYS, LIST, NONE, PAIR, PERCENT, SCALAR } from "./catalogue.js";

const isEnum = (field) => field.type === "enum";

export function defaultValue(shape, field) {
  switch (shape) {
    case NONE: return undefined;
    case SCALAR:
      if (isEnum(field)) return (field.values || [])[0] ?? "";
      return field.type === "boolean" ? "true" : "";
    case PAIR: return ["", ""];
    case LIST: return isEnum(field) ? [] : "";
    default: return ""; // days, and a shape this page does not know: one text box
  }
}

// A number as the API wants it; empty is null and anything else not a number is sent as typed,
// so the API's error names what is wrong with it.
export function parseNumber(text) {
  const t = String(text ?? "").trim();
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export function splitList(text) {
  return String(text ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function scalarToApi(field, text) {
  if (field.type === "number") return parseNumber(text);
  if (field.type === "boolean") return text === "true";
  return String(text ?? "");
}

// The API value of a draft value; undefined when the operator takes none (the key is left out).
export function toApiValue(shape, field, draft) {
  switch (shape) {
    case NONE: return undefined;
    case PAIR: return (Array.isArray(draft) ? draft : ["", ""]).map((v) => scalarToApi(field, v));
    case LIST:
      if (isEnum(field)) return Array.isArray(draft) ? [...draft] : [];
      return splitList(draft).map((v) => scalarToApi(field, v));
    case DAYS: return parseNumber(draft);
    case PERCENT: return parseNumber(draft);
    default: return scalarToApi(field, draft);
  }
}

// The draft value of a value read from the API (a saved segment opened for editing).
export function fromApiValue(shape, field, value) {
  if (shape === NONE) return undefined;
  if (value === undefined || value === null) {
    return shape === PAIR ? ["", ""] : shape === LIST && isEnum(field) ? [] : "";
  }
  switch (shape) {
    case PAIR: return Array.isArray(value) ? value.map(String) : ["", ""];
    case LIST:
      if (isEnum(field)) return Array.isArray(value) ? [...value] : [String(value)];
      return Array.isArray(value) ? value.join(", ") : String(value);
    default: return String(value);
  }
}

// A date-time does not fit <input type=date>: it is shown as text, as saved.
const dateInput = (text) => (text && String(text).length > 10 ? "text" : "date");

// Which editor shows a value: {kind: none|input|select|checkboxes|pair|days, ...its settings};
// a rank's percentage is a number input.
export function editorOf(shape, field, draft, limits = {}) {
  switch (shape) {
    case NONE: return { kind: "none" };
    case PAIR: {
      const type = field.type === "number" ? "number" : field.type === "date" ? dateInput(draft && draft[0]) : "text";
      return { kind: "pair", type, min: field.minimum, max: field.maximum };
    }
    case LIST:
      if (isEnum(field)) return { kind: "checkboxes", options: field.values || [] };
      return { kind: "input", type: "text", label: "Values",
        placeholder: field.type === "number" ? "1, 2, 3" : "comma-separated, e.g. NL, BE" };
    case DAYS:
      return { kind: "days", type: "number", min: 0, max: limits.max_days, label: "Days", placeholder: "days" };
    case PERCENT: // more than 0, at most 100 (the API says so when not)
      return { kind: "input", type: "number", min: 0, max: 100, label: "Percent", placeholder: "e.g. 10" };
    case SCALAR:
      if (isEnum(field)) return { kind: "select", options: (field.values || []).map((v) => [v, v]) };
      if (field.type === "boolean") return { kind: "select", options: [["true", "yes"], ["false", "no"]] };
      if (field.type === "number") {
        return { kind: "input", type: "number", min: field.minimum, max: field.maximum, label: "Value", placeholder: "number" };
      }
      if (field.type === "date") return { kind: "input", type: dateInput(draft), label: "Date", placeholder: "2026-11-01" };
      return { kind: "input", type: "text", label: "Value", maxlength: limits.max_text,
        placeholder: field.type === "list" ? "an element, e.g. vinyl" : "text" };
    default:
      return { kind: "input", type: "text", label: "Value", placeholder: "value" };
  }
}
