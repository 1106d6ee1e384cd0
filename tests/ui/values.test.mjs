// A rule's value by value shape and field type: default, API value and back, editor.
import assert from "node:assert/strict";
import { test } from "node:test";

import { buildCatalogue } from "../../chalicelib/ui/catalogue.js";
import {
  defaultValue, editorOf, fromApiValue, parseNumber, splitList, toApiValue,
} from "../../chalicelib/ui/values.js";
import { FIELDS_RESPONSE } from "./fields.mjs";

const catalogue = buildCatalogue(FIELDS_RESPONSE);
const field = (path) => catalogue.byPath.get(path);
const ORDERS = field("behaviour.orders");
const COUNTRY = field("attributes.country");
const INTERESTS = field("attributes.interests");
const NEWSLETTER = field("attributes.newsletter");
const LAST_SEEN = field("behaviour.last_seen");
const CUSTOMER_TYPE = field("predictive.customer_type");

test("defaults per value shape and field type", () => {
  assert.equal(defaultValue("none", ORDERS), undefined);
  assert.equal(defaultValue("scalar", ORDERS), "");
  assert.equal(defaultValue("scalar", CUSTOMER_TYPE), "Explorer"); // the first of its values
  assert.equal(defaultValue("scalar", NEWSLETTER), "true");
  assert.deepEqual(defaultValue("pair", LAST_SEEN), ["", ""]);
  assert.deepEqual(defaultValue("list", CUSTOMER_TYPE), []);
  assert.equal(defaultValue("list", COUNTRY), "");
  assert.equal(defaultValue("days", LAST_SEEN), "");
});

test("typed text becomes the API's value", () => {
  assert.equal(toApiValue("scalar", ORDERS, " 2 "), 2);
  assert.equal(toApiValue("scalar", ORDERS, ""), null);
  assert.equal(toApiValue("scalar", ORDERS, "two"), "two"); // the API names what is wrong
  assert.equal(toApiValue("scalar", NEWSLETTER, "false"), false);
  assert.equal(toApiValue("scalar", CUSTOMER_TYPE, "Believer"), "Believer");
  assert.equal(toApiValue("scalar", INTERESTS, "vinyl"), "vinyl"); // a list field: one element
  assert.equal(toApiValue("scalar", LAST_SEEN, "2026-11-01"), "2026-11-01");
  assert.deepEqual(toApiValue("pair", ORDERS, ["60", "10"]), [60, 10]);
  assert.deepEqual(toApiValue("pair", LAST_SEEN, ["2026-01-01", "2026-02-01"]), ["2026-01-01", "2026-02-01"]);
  assert.deepEqual(toApiValue("list", COUNTRY, "NL, BE,, "), ["NL", "BE"]);
  assert.deepEqual(toApiValue("list", ORDERS, "1, 2,3"), [1, 2, 3]);
  assert.deepEqual(toApiValue("list", CUSTOMER_TYPE, ["Passionate", "Believer"]), ["Passionate", "Believer"]);
  assert.equal(toApiValue("days", LAST_SEEN, "30"), 30);
  assert.equal(toApiValue("none", LAST_SEEN, "anything"), undefined);
});

test("an API value read back gives the text the builder shows, and the same API value", () => {
  const cases = [
    ["scalar", ORDERS, 50], ["scalar", NEWSLETTER, true], ["scalar", CUSTOMER_TYPE, "Economical"],
    ["scalar", COUNTRY, "NL"], ["pair", ORDERS, [60, 90]], ["pair", LAST_SEEN, ["2026-01-01", "2026-02-01T10:00:00Z"]],
    ["list", COUNTRY, ["NL", "BE"]], ["list", ORDERS, [1, 2]], ["list", CUSTOMER_TYPE, ["Passionate"]],
    ["days", LAST_SEEN, 30]];
  for (const [shape, f, value] of cases) {
    assert.deepEqual(toApiValue(shape, f, fromApiValue(shape, f, value)), value, `${shape} ${f.path}`);
  }
  assert.equal(fromApiValue("list", COUNTRY, ["NL", "BE"]), "NL, BE");
  assert.deepEqual(fromApiValue("pair", ORDERS, null), ["", ""]);
  assert.deepEqual(fromApiValue("list", CUSTOMER_TYPE, undefined), []);
  assert.equal(fromApiValue("none", ORDERS, 3), undefined);
});

test("each shape and type has its editor", () => {
  const limits = catalogue.limits;
  assert.deepEqual(editorOf("none", ORDERS, undefined), { kind: "none" });
  assert.equal(editorOf("scalar", CUSTOMER_TYPE, "Explorer").kind, "select");
  assert.deepEqual(editorOf("scalar", NEWSLETTER, "true").options, [["true", "yes"], ["false", "no"]]);
  assert.deepEqual(editorOf("list", CUSTOMER_TYPE, []), { kind: "checkboxes", options: CUSTOMER_TYPE.values });
  assert.equal(editorOf("list", ORDERS, "").placeholder, "1, 2, 3");
  assert.equal(editorOf("scalar", INTERESTS, "", limits).maxlength, 1000);
  const days = editorOf("days", LAST_SEEN, "", limits);
  assert.equal(days.kind, "days");
  assert.equal(days.max, 36500);
  assert.deepEqual(editorOf("pair", ORDERS, ["", ""]), { kind: "pair", type: "number", min: 0, max: undefined });
  // a date-time saved by the API does not fit a date input: it is shown as text
  assert.equal(editorOf("scalar", LAST_SEEN, "2026-11-01").type, "date");
  assert.equal(editorOf("scalar", LAST_SEEN, "2026-11-01T10:00:00Z").type, "text");
  assert.equal(editorOf("pair", LAST_SEEN, ["2026-11-01T10:00:00Z", ""]).type, "text");
});

test("numbers and lists as typed", () => {
  assert.equal(parseNumber("1e3"), 1000);
  assert.equal(parseNumber("Infinity"), "Infinity");
  assert.deepEqual(splitList(" a , b ,"), ["a", "b"]);
  assert.deepEqual(splitList(undefined), []);
});

test("a rank's percentage is a number from 0 to 100, sent as a number", () => {
  // GIVEN "top X %" on a number field (the server's `percent` value shape)
  const shape = catalogue.operators.get("top_percent").value;
  assert.equal(shape, "percent");
  // THEN it starts empty, is edited in a bounded number input and sent as a number
  assert.equal(defaultValue(shape, ORDERS), "");
  assert.deepEqual(editorOf(shape, ORDERS, ""),
    { kind: "input", type: "number", min: 0, max: 100, label: "Percent", placeholder: "e.g. 10" });
  assert.equal(toApiValue(shape, ORDERS, "10"), 10);
  assert.equal(fromApiValue(shape, ORDERS, 12.5), "12.5");
});
