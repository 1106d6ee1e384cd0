// The builder's event conditions ("Add rule → Behaviour → did / did not …"): to the API and back,
// what a click changes, in words. Against tests/ui/fields.json (a project on Amsterdam time that
// declares `category`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { buildCatalogue } from "../../chalicelib/ui/catalogue.js";
import {
  DID, DID_NOT, chooseEvent, chooseEventOperator, chooseGroup, choosePropertyOperator, chooseWindow, describe,
  fromApiGroup, hasEvents, incompleteRules, newCondition, newGroup, toApiGroup, treeSize,
} from "../../chalicelib/ui/rules.js";
import { FIELDS_RESPONSE } from "./fields.mjs";

const catalogue = buildCatalogue(FIELDS_RESPONSE);

const SAVED = { match: "all", rules: [
  { event: "purchase", where: { property: "category", operator: "in", value: ["vinyl", "cd"] },
    count: { operator: "gte", value: 2 }, window: { within_last_days: 30 } },
  { match: "any", rules: [
    { event: "custom", name: "signup", count: { operator: "eq", value: 0 } },
    { event: "purchase", sum: { operator: "between", value: [10, 100] }, window: { between: ["2026-01-01", "2026-03-31"] } }] },
  { field: "behaviour.orders", operator: "gte", value: 1 }] };

function eventRule(which) {
  const rule = newCondition();
  chooseGroup(rule, "behaviour");
  chooseEvent(rule, which);
  return rule;
}

test("the catalogue offers event conditions when the server describes them", () => {
  assert.ok(hasEvents(catalogue));
  assert.equal(catalogue.events.time_zone, "Europe/Amsterdam");
  assert.ok(!hasEvents(buildCatalogue({ ...FIELDS_RESPONSE, events: undefined })));
});

test("a saved segment with event conditions opens and is sent back unchanged, key order included", () => {
  const tree = fromApiGroup(catalogue, SAVED);
  assert.equal(JSON.stringify(toApiGroup(catalogue, tree)), JSON.stringify(SAVED));
  assert.equal(tree.rules[0].group, "behaviour");
  assert.equal(tree.rules[1].rules[0].event.did, false);
  assert.deepEqual(incompleteRules(tree), []);
  assert.equal(treeSize(tree).conditions, 4);
});

test("did … starts as at least 1 purchase in the last 30 days; did not … as none", () => {
  const root = newGroup("all");
  root.rules.push(eventRule(DID), eventRule(DID_NOT));
  assert.deepEqual(toApiGroup(catalogue, root).rules, [
    { event: "purchase", count: { operator: "gte", value: 1 }, window: { within_last_days: 30 } },
    { event: "purchase", count: { operator: "eq", value: 0 }, window: { within_last_days: 30 } },
  ]);
});

test("clicks on an event rule change what is sent", () => {
  const rule = eventRule(DID);
  const draft = rule.event;
  Object.assign(draft, { event: "purchase", measure: "sum", property: "category" });
  chooseEventOperator(draft, "between");
  assert.deepEqual(draft.value, ["", ""]);
  draft.value = ["10", "99.5"];
  choosePropertyOperator(draft, "gte");
  draft.propertyValue = "2";
  chooseWindow(draft, "before");
  draft.windowValue = "2026-05-01";
  const root = newGroup("all");
  root.rules.push(rule);
  assert.deepEqual(toApiGroup(catalogue, root).rules[0], {
    event: "purchase", where: { property: "category", operator: "gte", value: 2 },
    sum: { operator: "between", value: [10, 99.5] }, window: { before: "2026-05-01" } });
  chooseWindow(draft, "");
  choosePropertyOperator(draft, "eq");
  draft.propertyValue = "vinyl";
  assert.deepEqual(toApiGroup(catalogue, root).rules[0].where, { property: "category", operator: "eq", value: "vinyl" });
  assert.ok(!("window" in toApiGroup(catalogue, root).rules[0]));
});

test("choosing another group or field leaves the event rule", () => {
  const rule = eventRule(DID);
  chooseGroup(rule, "predictive");
  assert.equal(rule.event, undefined);
  assert.deepEqual(incompleteRules({ rules: [rule] }), [rule]);
});

test("event conditions read in words", () => {
  assert.equal(
    describe(catalogue, SAVED),
    "did purchase with category is one of vinyl, cd, at least 2 times in the last 30 days and "
      + "(did not a custom event “signup” or did purchase, spent between 10 and 100 between 2026-01-01 and 2026-03-31) "
      + "and Orders at least 1",
  );
});
