// The Uplift panel's pure layout: the report's comparisons as chart rows, and where each 95 %
// interval lies around zero.
import assert from "node:assert/strict";
import { test } from "node:test";

import { intervalLayout, upliftRows } from "../../chalicelib/ui/uplift.js";

const metric = (treated, control, low, high) => ({
  treated, control, difference: treated - control, difference_interval: [low, high],
});

test("the report's three comparisons become rows, conversion in percentage points", () => {
  // GIVEN a report with conversion, revenue and orders per member
  const rows = upliftRows({
    conversion: metric(0.12, 0.10, 0.005, 0.035),
    revenue_per_member: metric(14, 12, -1, 5),
    orders_per_member: metric(0.2, 0.15, 0.01, 0.09),
  });
  // THEN one row each, the conversion scaled to points
  assert.deepEqual(rows.map((r) => r.label), ["Conversion rate", "Revenue per member", "Orders per member"]);
  assert.ok(Math.abs(rows[0].value - 2) < 1e-9 && Math.abs(rows[0].low - 0.5) < 1e-9);
  assert.equal(rows[1].high, 5);
});

test("a report without intervals (a group is empty) has no rows", () => {
  assert.deepEqual(upliftRows({ groups: {} }), []);
});

test("an interval above zero lies right of the middle, one spanning zero crosses it", () => {
  const above = intervalLayout({ value: 2, low: 0.5, high: 3.5 });
  assert.equal(above.side, "above");
  assert.ok(above.zero < above.low && above.low < above.value && above.value < above.high && above.high <= 1);
  const spans = intervalLayout({ value: 2, low: -1, high: 5 });
  assert.equal(spans.side, "spans");
  assert.ok(spans.low < 0.5 && spans.high > 0.5 && spans.low >= 0);
  assert.equal(intervalLayout({ value: -2, low: -3, high: -1 }).side, "below");
});
