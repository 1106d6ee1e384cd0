// Numbers, times and field values as the page shows them. Pure: no DOM.

export function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

export function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export function compact(n) {
  return n >= 1000 ? `${fmt(n / 1000)}k` : fmt(n);
}

// A stored value of a catalogue field, by the field's type: a score on a fixed scale shows its
// scale ("72.5 / 100"), other numbers their decimals, times in UTC, lists comma-separated.
export function fieldValue(field, value) {
  if (value === undefined || value === null) return "–";
  if (Array.isArray(value)) return value.join(", ") || "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (field.type === "date") return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : fmtTime(value); // a day stays a day
  if (field.type === "number" && typeof value === "number") {
    if (field.maximum !== undefined && field.maximum !== null) return `${fmt(value, 1)} / ${fmt(field.maximum)}`;
    return fmt(value, Number.isInteger(value) ? 0 : 2);
  }
  return String(value);
}
