"""The segment builder's files as the server gives them, no browser needed: the page, its modules
and its stylesheet are served without a key, with their types and the security headers, and no
other name is; the catalogue the builder's unit tests run against (tests/ui/fields.json) agrees
with the server's GET /fields."""

import json
from pathlib import Path

from conftest import ROOT

UI_DIR = ROOT / "chalicelib" / "ui"
KINDS = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def test_the_page_and_only_its_own_files_are_served_without_a_key():
    """GIVEN the files of chalicelib/ui WHEN each is asked for THEN the page, its modules (each
    one a module imports too) and its stylesheet come with their type and the security headers;
    any other name is refused."""
    import re

    from chalice.test import Client

    from app import app

    pages = sorted(p.name for p in UI_DIR.iterdir() if p.suffix in KINDS)
    assert {"index.html", "app.js", "style.css", "rules.js", "catalogue.js"} <= set(pages)
    imported = {
        name
        for p in UI_DIR.glob("*.js")
        for name in re.findall(r'from "\./([^"]+)"', p.read_text())
    }
    assert imported and imported <= set(pages), imported - set(pages)
    with Client(app) as client:
        for path, kind in [("/", "text/html")] + [
            (f"/ui/{n}", KINDS[Path(n).suffix]) for n in pages
        ]:
            r = client.http.get(path)
            assert r.status_code == 200 and r.headers["Content-Type"].startswith(kind), path
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert "default-src 'none'" in r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        for name in [
            "ui.py",
            "app.py",
            "index.htm",
            "..",
            "..%2Fapi%2Fui.py",
            "%2e%2e%2fapp.py",
            "..%5Capp.py",
            "package.json",
            "..%2Fui%2Fapp.js",
            "%2Fapp.js",
            ".js",
            "APP.JS",
            "app.js%00.py",
        ]:
            r = client.http.get(f"/ui/{name}")
            assert r.status_code in (403, 404), name  # 403: chalice routes no such path
            assert b"import" not in r.body, name
        for path in ["/ui/../app.py", "/ui/", "/ui"]:
            assert client.http.get(path).status_code in (403, 404), path


def test_the_unit_tests_catalogue_agrees_with_the_servers(client, project):
    """GIVEN tests/ui/fields.json, the GET /fields answer the builder's unit tests (node --test
    tests/ui/) run against WHEN the server's /fields is read THEN each operator, match and field
    in the file is the server's, the file names every limit the server's has (values may move),
    and the server uses no value shape the builder does not know (it would show a bare text box
    for it). An operator added with a known shape needs no change here."""
    from chalicelib.rules.fields import Catalogue

    fixture = json.loads((ROOT / "tests" / "ui" / "fields.json").read_text())
    r = client.http.get(f"/projects/{project['id']}/fields", headers={"x-api-key": project["key"]})
    body = json.loads(r.body)
    assert r.status_code == 200 and set(fixture) == set(body)
    operators = {op["name"]: op for op in body["operators"]}
    assert all(operators[op["name"]] == op for op in fixture["operators"])
    assert {op["value"] for op in body["operators"]} <= {op["value"] for op in fixture["operators"]}
    assert all(m in body["matches"] for m in fixture["matches"])
    assert set(fixture["limits"]) == set(body["limits"])
    # the file's attributes as a project whose profiles hold such values gets them
    fields = {
        f["path"]: f
        for f in body["fields"]
        + Catalogue(
            {"country": {"string": 1}, "interests": {"list": 1}, "newsletter": {"boolean": 1}}
        ).to_list()
    }
    assert all(fields[f["path"]] == f for f in fixture["fields"])
