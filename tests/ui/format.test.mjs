// Field values as the profile page shows them, by the catalogue field's type.
import assert from "node:assert/strict";
import { test } from "node:test";

import { fieldValue, fmt, fmtTime } from "../../chalicelib/ui/format.js";

test("values by field type", () => {
  assert.equal(fieldValue({ type: "number", maximum: 100 }, 72.46), "72.5 / 100");
  assert.equal(fieldValue({ type: "number" }, 1234), "1,234");
  assert.equal(fieldValue({ type: "number" }, 12.5), "12.50");
  assert.equal(fieldValue({ type: "date" }, "2026-11-01T10:05:00Z"), "2026-11-01 10:05 UTC");
  assert.equal(fieldValue({ type: "date" }, "2026-09-04"), "2026-09-04");
  assert.equal(fieldValue({ type: "list" }, ["a", "b"]), "a, b");
  assert.equal(fieldValue({ type: "list" }, []), "–");
  assert.equal(fieldValue({ type: "boolean" }, false), "no");
  assert.equal(fieldValue({ type: "enum" }, "Believer"), "Believer");
  assert.equal(fieldValue({ type: "text" }, null), "–");
  assert.equal(fmt(undefined), "–");
  assert.equal(fmtTime("not a time"), "not a time");
});
