// Every script of the page loads as an ES module, with the names its importers ask for: a syntax
// error or a missing export shows here, before a browser test. (app.js starts the page on load,
// so it needs a document: the browser test covers it.)
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";

const UI = new URL("../../chalicelib/ui/", import.meta.url);

test("every module of the page loads", async () => {
  const modules = readdirSync(UI).filter((name) => name.endsWith(".js") && name !== "app.js");
  assert.ok(modules.length >= 8, modules.join(", "));
  for (const name of modules) {
    await assert.doesNotReject(import(new URL(name, UI).href), name);
  }
});
