// fields.json: GET /projects/{p}/fields as the server answers it for a project with three
// attributes (a few of its fields kept). tests/test_ui_files.py checks that it still agrees with
// the server, so these unit tests run against the real contract.
import { readFileSync } from "node:fs";

export const FIELDS_RESPONSE = JSON.parse(readFileSync(new URL("./fields.json", import.meta.url), "utf-8"));
