// The builder's rule tree: to the API and back, the changes a click makes, hints, limits.
import assert from "node:assert/strict";
import { test } from "node:test";

import { buildCatalogue } from "../../chalicelib/ui/catalogue.js";
import {
  canNest, chooseField, defaultMatch, chooseGroup, chooseOperator, describe, fromApiGroup, incompleteRules,
  newCondition, newGroup, nodeAt, saveHints, toApiGroup, treeSize,
} from "../../chalicelib/ui/rules.js";
import { FIELDS_RESPONSE } from "./fields.mjs";

const catalogue = buildCatalogue(FIELDS_RESPONSE);

// the nested segment of the brief (tests/test_ui_browser.py builds it by clicking)
const BENELUX_PROMISING = {"match": "all", "rules": [
  {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
  {"field": "behaviour.orders", "operator": "gte", "value": 1},
  {"match": "any", "rules": [
    {"field": "predictive.customer_type", "operator": "in", "value": ["Passionate", "Believer"]},
    {"field": "predictive.conversion_potential", "operator": "between", "value": [20, 90]}]},
  {"field": "behaviour.last_seen", "operator": "within_last_days", "value": 30},
  {"field": "attributes.interests", "operator": "exists"}]};

function condition(field, operator, value) {
  const rule = newCondition();
  chooseGroup(rule, catalogue.byPath.get(field).group);
  chooseField(catalogue, rule, field);
  chooseOperator(catalogue, rule, operator);
  if (value !== undefined) rule.value = value;
  return rule;
}

test("a saved segment opened in the builder is sent back unchanged, key order included", () => {
  const tree = fromApiGroup(catalogue, BENELUX_PROMISING);
  // the live preview compares the JSON text of the rules it showed
  assert.equal(JSON.stringify(toApiGroup(catalogue, tree)), JSON.stringify(BENELUX_PROMISING));
  assert.equal(tree.rules[0].group, "profile");
  assert.equal(tree.rules[0].value, "NL, BE");
  assert.equal(tree.rules[2].kind, "group");
});

test("the preview leaves out rules without a field; a save sends them for the API to name", () => {
  const root = newGroup("all");
  root.rules.push(newCondition(), condition("behaviour.orders", "gte", "1"));
  const where = new Map();
  assert.deepEqual(toApiGroup(catalogue, root, { where, skipIncomplete: true }), {
    match: "all", rules: [{ field: "behaviour.orders", operator: "gte", value: 1 }] });
  assert.equal(nodeAt(where, "/rules/0/value"), root.rules[1]);
  assert.deepEqual(toApiGroup(catalogue, root).rules[0], { field: null, operator: null });
  assert.deepEqual(incompleteRules(root), [root.rules[0]]);
});

test("an API error's path finds the rule or group it points into", () => {
  const tree = fromApiGroup(catalogue, BENELUX_PROMISING);
  const where = new Map();
  toApiGroup(catalogue, tree, { where });
  assert.equal(nodeAt(where, "/rules/2/rules/1/value/0"), tree.rules[2].rules[1]);
  assert.equal(nodeAt(where, "/rules/2/match"), tree.rules[2]);
  assert.equal(nodeAt(where, "/rules/21"), tree); // not /rules/2: pointers match whole steps
  assert.equal(nodeAt(where, "/match"), tree);
});

test("choosing a field starts its first operator with that operator's default value", () => {
  const rule = newCondition();
  chooseGroup(rule, "predictive");
  assert.deepEqual([rule.field, rule.operator, rule.value], ["", "", undefined]);
  chooseField(catalogue, rule, "predictive.customer_type");
  assert.deepEqual([rule.operator, rule.value], ["eq", "Explorer"]);
  chooseField(catalogue, rule, "");
  assert.deepEqual([rule.field, rule.operator, rule.value], ["", "", undefined]);
});

test("a new operator keeps the value typed if it takes the same shape, else starts afresh", () => {
  const rule = condition("predictive.conversion_potential", "gte", "50");
  chooseOperator(catalogue, rule, "lte");
  assert.equal(rule.value, "50");
  chooseOperator(catalogue, rule, "between");
  assert.deepEqual(rule.value, ["", ""]);
  chooseOperator(catalogue, rule, "in");
  assert.equal(rule.value, "");
  const seen = condition("behaviour.last_seen", "within_last_days", "30");
  chooseOperator(catalogue, seen, "exists");
  assert.equal(seen.value, undefined);
  assert.deepEqual(toApiGroup(catalogue, { match: "all", rules: [seen] }).rules[0],
    { field: "behaviour.last_seen", operator: "exists" });
});

test("groups nest as deep as the server's limit, the segment counting as the first level", () => {
  assert.equal(canNest(catalogue, 4), true);
  assert.equal(canNest(catalogue, 5), false);
  const deeper = buildCatalogue({ ...FIELDS_RESPONSE, limits: { ...FIELDS_RESPONSE.limits, max_depth: 7 } });
  assert.equal(canNest(deeper, 6), true);
});

test("hints before saving: name, description, rules without a field, the server's limits", () => {
  const root = newGroup("all");
  const empty = newCondition();
  root.rules.push(empty);
  const hints = saveHints(catalogue, root, { name: "  ", description: "x".repeat(2001) });
  assert.equal(hints.get("name"), "Give the segment a name.");
  assert.equal(hints.get("description"), "At most 2000 characters.");
  assert.equal(hints.get(empty.id), "Choose a group and a field, or remove this rule.");
  assert.equal(saveHints(catalogue, root, { name: "x".repeat(201) }).get("name"), "At most 200 characters.");

  const big = newGroup("any");
  for (let i = 0; i < 51; i += 1) big.rules.push(condition("behaviour.orders", "gte", "1"));
  assert.match(saveHints(catalogue, big, { name: "Big" }).get(big.id), /at most 50 rules; this one has 51/);
  big.rules.pop();
  assert.equal(saveHints(catalogue, big, { name: "Big" }).size, 0);

  let deep = newGroup("all");
  const top = deep;
  for (let level = 2; level <= 6; level += 1) { const g = newGroup("any"); deep.rules.push(g); deep = g; }
  assert.equal(treeSize(top).depth, 6);
  assert.equal(saveHints(catalogue, top, { name: "Deep" }).get(top.id), "Groups nest at most 5 deep.");
});

test("a segment's rules in words, with the server's operator labels", () => {
  assert.equal(describe(catalogue, BENELUX_PROMISING),
    "Country is one of NL, BE and Orders at least 1 and (Customer type is one of Passionate, Believer"
    + " or Conversion potential between 20 and 90) and Last seen in the last (days) 30 and Interests has a value");
  assert.equal(describe(catalogue, { match: "any", rules: [] }), "no one");
  assert.equal(describe(catalogue, { match: "none", rules: [{ field: "behaviour.orders", operator: "gte", value: 1 }] }),
    "none of: Orders at least 1");
});

test("a new group's match is one the server lists", () => {
  assert.equal(defaultMatch(catalogue, "any"), "any");
  const two = buildCatalogue({ ...FIELDS_RESPONSE, matches: [{ name: "every", label: "every rule" }] });
  assert.equal(defaultMatch(two, "any"), "every");
});
