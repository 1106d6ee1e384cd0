// The catalogue as the builder reads it from GET /fields: nothing about operators, matches or
// fields is known to the page beforehand.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildCatalogue, fieldOf, labelOf, matchLabel, operatorLabel, valueShape,
} from "../../chalicelib/ui/catalogue.js";
import { editorOf, toApiValue } from "../../chalicelib/ui/values.js";
import { toApiGroup } from "../../chalicelib/ui/rules.js";
import { FIELDS_RESPONSE } from "./fields.mjs";

const copy = (value) => JSON.parse(JSON.stringify(value));

test("groups come from the fields, in the order the server lists them", () => {
  const catalogue = buildCatalogue(FIELDS_RESPONSE);
  assert.deepEqual(catalogue.groups, [
    { name: "profile", label: "Profile" }, { name: "behaviour", label: "Behaviour" },
    { name: "predictive", label: "Predictive" }]);
  assert.equal(labelOf(catalogue, "behaviour.orders"), "Orders");
  assert.equal(labelOf(catalogue, "attributes.gone"), "attributes.gone");
  assert.equal(matchLabel(catalogue, "any"), "one or more rules");
});

test("operator labels and value shapes are the server's", () => {
  const catalogue = buildCatalogue(FIELDS_RESPONSE);
  assert.equal(operatorLabel(catalogue, "gte"), "at least");
  assert.equal(valueShape(catalogue, "between"), "pair");
  assert.equal(valueShape(catalogue, "within_last_days"), "days");
  assert.equal(valueShape(catalogue, "exists"), "none");
  assert.equal(valueShape(catalogue, ""), "none"); // no operator chosen yet
});

test("an operator and a predictive field added on the server need nothing from the page", () => {
  // GIVEN a /fields response with an operator and a predictive field the page has never seen
  const response = copy(FIELDS_RESPONSE);
  response.operators.push({ name: "top_percent", label: "in the top (%)", value: "scalar", types: ["number"] });
  response.fields.push({ path: "predictive.churn_risk", label: "Churn risk", group: "predictive",
    type: "number", operators: ["top_percent", "between"], minimum: 0, maximum: 1 });
  response.matches.push({ name: "two", label: "exactly two rules" });
  // WHEN the page builds its catalogue and a rule with them
  const catalogue = buildCatalogue(response);
  const field = catalogue.byPath.get("predictive.churn_risk");
  // THEN the operator has its label and its value shape, the field its editor and its API value
  assert.equal(operatorLabel(catalogue, "top_percent"), "in the top (%)");
  assert.equal(valueShape(catalogue, "top_percent"), "scalar");
  assert.deepEqual(editorOf("scalar", field, ""), {
    kind: "input", type: "number", min: 0, max: 1, label: "Value", placeholder: "number" });
  assert.equal(toApiValue("scalar", field, "5"), 5);
  const root = { kind: "group", id: 1, match: "two", rules: [
    { kind: "rule", id: 2, group: "predictive", field: "predictive.churn_risk", operator: "top_percent", value: "5" }] };
  assert.deepEqual(toApiGroup(catalogue, root), { match: "two", rules: [
    { field: "predictive.churn_risk", operator: "top_percent", value: 5 }] });
  assert.equal(matchLabel(catalogue, "two"), "exactly two rules");
});

test("a field no longer in the catalogue keeps its own operator, as text", () => {
  const catalogue = buildCatalogue(FIELDS_RESPONSE);
  const field = fieldOf(catalogue, { field: "attributes.gone", operator: "eq" });
  assert.equal(field.group, "profile");
  assert.equal(field.type, "text");
  assert.deepEqual(field.operators, ["eq"]);
  assert.equal(fieldOf(catalogue, { field: "", operator: "" }), null);
});

test("an operator the server does not describe takes one value as typed", () => {
  const catalogue = buildCatalogue(FIELDS_RESPONSE);
  assert.equal(valueShape(catalogue, "sounds_like"), "scalar");
  assert.equal(operatorLabel(catalogue, "sounds_like"), "sounds_like");
});
