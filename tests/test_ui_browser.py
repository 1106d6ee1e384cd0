"""The segment builder (chalicelib/ui/, served at /) in a real browser: Debian's Chromium, headless,
driven by Playwright, against the real local stack. It builds the four segments of the brief by
clicking, checks each live preview against the API's preview of the same rules, saves them, edits
one, deletes another, shows an API validation error beside its rule, and opens a segment's members
(with paging), its size over time and entries/exits, and a profile.

UI_SCREENSHOTS=1 (`make screenshots`) also writes docs/img/ui-*.png; UI_DEMO_PROFILES sets the demo
data's size (150 by default)."""

import json
import os
import time
from pathlib import Path

import pytest
import requests
from running_stack import LocalStack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "img" if os.environ.get("UI_SCREENSHOTS") else None

# The four segments of the brief, as the builder must send them (key order as the page builds them).
HIGH_POTENTIAL = {
    "match": "all",
    "rules": [{"field": "predictive.conversion_potential", "operator": "gte", "value": 50}],
}
ECONOMICAL = {
    "match": "all",
    "rules": [{"field": "predictive.customer_type", "operator": "eq", "value": "Economical"}],
}
SCARCITY_OR_DEALS = {
    "match": "any",
    "rules": [
        {"field": "predictive.persuasion_type", "operator": "eq", "value": "Scarcity"},
        {"field": "behaviour.discount_interactions", "operator": "gte", "value": 2},
    ],
}
BENELUX_PROMISING = {
    "match": "all",
    "rules": [
        {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
        {"field": "behaviour.orders", "operator": "gte", "value": 1},
        {
            "match": "any",
            "rules": [
                {
                    "field": "predictive.customer_type",
                    "operator": "in",
                    "value": ["Passionate", "Believer"],
                },
                {"field": "predictive.conversion_potential", "operator": "gte", "value": 20},
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    t0 = time.time()
    s = LocalStack(
        tmp_path_factory.mktemp("ui") / "data",
        demo_profiles=int(os.environ.get("UI_DEMO_PROFILES", "150")),
    )
    # `make run` rescores every project 5 s after it starts (here: at once); let that first
    # rescore finish so that the page and the API are compared on the same scores
    s.env["LOCAL_FIRST_SCHEDULE_SECONDS"] = "0"
    s.start()
    try:
        print(f"\nstack up in {time.time() - t0:.1f}s")
        deadline = time.time() + 90
        while time.time() < deadline:
            jobs = api(s, "GET", "/jobs")["jobs"]
            if jobs and all(j["status"] not in ("running", "queued", "pending") for j in jobs):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the first rescore did not finish: {jobs}")
        print(f"first rescore done {time.time() - t0:.1f}s after the start")
        yield s
    finally:
        if s.proc.poll() is None:
            s.stop()


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make browser` installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def api(stack, method, path, body=None):
    r = requests.request(
        method,
        f"{stack.api}/projects/demo{path}",
        json=body,
        timeout=60,
        headers={"x-api-key": stack.key},
    )
    assert r.status_code < 300, (method, path, r.status_code, r.text)
    return r.json()


def wait_for_history(stack, segment_id, points, timeout=30):
    """The segment's stats once its membership has been evaluated `points` times."""
    deadline = time.time() + timeout
    while True:
        stats = api(stack, "GET", f"/segments/{segment_id}/stats")
        if len(stats["history"]) >= points or time.time() > deadline:
            assert len(stats["history"]) >= points, stats
            return stats
        time.sleep(0.3)


def shot(page, name):
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"ui-{name}.png"), full_page=True)


# --- driving the builder by clicking ---------------------------------------------------------

GROUP_OF = {"attributes": "profile", "behaviour": "behaviour", "predictive": "predictive"}


def add_rule(group, field, operator, value):
    """Add rule -> group -> field -> operator -> value, in `group` (a locator of a .group box)."""
    group.locator(":scope > .group-actions > .add-rule").click()
    rule = group.locator(":scope > .rules > .rule-wrap").last.locator(".rule")
    rule.locator(".pick-group").select_option(GROUP_OF[field.split(".")[0]])
    rule.locator(".pick-field").select_option(field)
    rule.locator(".pick-operator").select_option(operator)
    if value is None:
        return
    enum_select = rule.locator("select.value")
    if isinstance(value, list) and rule.locator(".enum-choices").count():
        for v in value:
            rule.locator("label.choice", has_text=v).locator("input").check()
    elif isinstance(value, list):
        rule.locator("input.value").fill(", ".join(value))
    elif enum_select.count():
        enum_select.select_option(str(value))
    else:
        rule.locator("input.value").fill(str(value))


def build(group, definition):
    """Build a rule group by clicking: match toggle, rules, nested groups."""
    group.locator(":scope > .group-head > select.match").select_option(definition["match"])
    for rule in definition["rules"]:
        if "rules" in rule:
            group.locator(":scope > .group-actions > .add-group").click()
            nested = group.locator(":scope > .rules > .group").last
            # a new group comes with one empty rule: remove it, then build the group's own rules
            nested.locator(":scope > .rules > .rule-wrap .remove-rule").click()
            build(nested, rule)
        else:
            add_rule(group, rule["field"], rule["operator"], rule["value"])


def wait_for_preview(page, rules):
    """Until the live preview shows the result of exactly these rules; its figures."""
    page.wait_for_function(
        """expected => { const p = document.getElementById('preview');
             return p && p.dataset.state === 'ready' && p.dataset.rules === expected; }""",
        arg=json.dumps(rules, separators=(",", ":")),
    )
    return {
        "count": int(page.get_attribute("#preview-count", "data-count")),
        "shown": page.inner_text("#preview-count"),
        "expected_conversions": float(page.get_attribute("#preview-conversions", "data-value")),
        "expected_value": float(page.get_attribute("#preview-value", "data-value")),
        "bars": page.locator("[data-testid=histogram-conversion] rect.bar").count()
        + page.locator("[data-testid=histogram-clv] rect.bar").count(),
    }


def create_segment(page, stack, name, rules, screenshot=None):
    page.click("a[data-nav=new]")
    page.wait_for_selector("[data-testid=builder]")
    page.fill("#segment-name", name)
    build(page.locator(".tree > .group"), rules)
    shown = wait_for_preview(page, rules)
    expected = api(stack, "POST", "/segments/preview", rules)
    assert shown["count"] == expected["count"], (name, shown, expected["count"])
    assert shown["shown"] == f"{expected['count']:,}"
    assert shown["expected_conversions"] == expected["expected_conversions"]
    assert shown["expected_value"] == expected["expected_value"]
    assert shown["bars"] == len(expected["histograms"]["conversion_potential"]) + len(
        expected["histograms"]["clv"]
    )
    if screenshot:
        shot(page, screenshot)
    page.click("#save-segment")
    page.wait_for_selector("#segment-title")
    assert page.inner_text("#segment-title") == name
    segment_id = page.url.rsplit("/", 1)[1]
    saved = api(stack, "GET", f"/segments/{segment_id}")
    assert {"match": saved["match"], "rules": saved["rules"]} == rules
    return segment_id, expected["count"]


# --- the test -------------------------------------------------------------------------------


def test_marketer_builds_the_brief_segments_in_a_browser(stack, page):
    started = time.time()
    page.goto(stack.api + "/")
    page.fill("#project-id", "demo")
    page.fill("#api-key", stack.key)
    page.click("#connect-button")
    page.wait_for_selector("[data-testid=segment-list]")
    assert page.evaluate("localStorage.getItem('segments.project')") == "demo"

    # the four segments of the brief, built by clicking and checked against the API
    segments = {}
    for name, rules, screenshot in [
        ("High conversion potential", HIGH_POTENTIAL, None),
        ("Economical customers", ECONOMICAL, None),
        ("Scarcity-minded or deal seekers", SCARCITY_OR_DEALS, None),
        ("Promising Benelux buyers", BENELUX_PROMISING, "builder"),
    ]:
        segments[name] = create_segment(page, stack, name, rules, screenshot)

    # the segment list shows them with their sizes
    page.click("a[data-nav=segments]")
    page.wait_for_selector("[data-testid=segment-list] tbody tr")
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid=segment-list] td.num')]
                              .every(td => td.textContent !== '…')""")
    for name, (segment_id, count) in segments.items():
        row = page.locator(f"tr[data-segment-id='{segment_id}']")
        assert row.locator(".segment-name").inner_text() == name
        assert row.locator("td.num").first.inner_text() == f"{count:,}"
    shot(page, "segments")

    # an API validation error appears beside the offending rule
    page.click("a[data-nav=new]")
    page.wait_for_selector("[data-testid=builder]")
    add_rule(page.locator(".tree > .group"), "predictive.conversion_potential", "between", None)
    rule = page.locator(".rule-wrap").first
    rule.locator("input.value").nth(0).fill("60")
    rule.locator("input.value").nth(1).fill("10")
    page.wait_for_selector("#preview[data-state=error]")
    assert "low must not be greater than high" in rule.locator(".rule-error").inner_text()
    rule.locator("input.value").nth(1).fill("90")
    wait_for_preview(
        page,
        {
            "match": "all",
            "rules": [
                {
                    "field": "predictive.conversion_potential",
                    "operator": "between",
                    "value": [60, 90],
                }
            ],
        },
    )
    assert rule.locator(".rule-error").inner_text() == ""
    # save it, then delete it (two clicks: delete, confirm)
    page.fill("#segment-name", "Temporary")
    page.click("#save-segment")
    page.wait_for_selector("#segment-title")
    temporary = page.url.rsplit("/", 1)[1]
    page.click(".delete-segment")
    page.click(".delete-segment.confirm")
    page.wait_for_selector("[data-testid=segment-list]")
    assert page.locator(f"tr[data-segment-id='{temporary}']").count() == 0
    assert temporary not in [s["segment_id"] for s in api(stack, "GET", "/segments")["segments"]]

    # edit a saved segment: its rules load into the builder; a change is saved with PUT
    benelux_id, _ = segments["Promising Benelux buyers"]
    page.goto(f"{stack.api}/#/segments/{benelux_id}/edit")
    wait_for_preview(page, BENELUX_PROMISING)  # the saved rules, rebuilt in the builder
    nested = page.locator(".tree > .group > .rules > .group")
    nested.locator(".rule-wrap").nth(1).locator("input.value").fill("15")
    edited = json.loads(json.dumps(BENELUX_PROMISING))
    edited["rules"][2]["rules"][1]["value"] = 15
    shown = wait_for_preview(page, edited)
    assert shown["count"] == api(stack, "POST", "/segments/preview", edited)["count"]
    page.click("#save-segment")
    page.wait_for_selector("#segment-title")
    saved = api(stack, "GET", f"/segments/{benelux_id}")
    assert saved["rules"] == edited["rules"] and saved["name"] == "Promising Benelux buyers"
    print(f"segments built, edited, deleted in {time.time() - started:.1f}s")

    # its page: size now and over time, the latest entries and exits, members. Saving and editing
    # each queued a background evaluation of its membership: wait for the API to have both.
    stats = wait_for_history(stack, benelux_id, 2)
    page.reload()
    page.wait_for_selector("[data-testid=members][data-state=ready]")
    assert page.inner_text("#stats-size") == f"{stats['size']:,}"
    assert page.locator("[data-testid=size-chart] circle").count() == len(stats["history"])
    changes = api(stack, "GET", f"/segments/{benelux_id}/changes?limit=500")["changes"]
    shown = page.locator("#changes-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('a').textContent + ' ' + r.querySelector('.tag').textContent)"
    )
    assert shown == [f"{c['profile_id']} {c['change']}" for c in changes[::-1][:15]]
    shot(page, "segment")

    # the members of the largest segment, page by page
    big_id, _ = max(segments.values(), key=lambda s: s[1])
    page.goto(f"{stack.api}/#/segments/{big_id}")
    page.wait_for_selector("[data-testid=members][data-state=ready]")
    members = api(stack, "GET", f"/segments/{big_id}/members?limit=20")
    assert int(page.get_attribute("#members-count", "data-count")) == members["count"]
    assert page.locator("#members-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.profileId)"
    ) == [p["profile_id"] for p in members["profiles"]]
    assert members.get("next_cursor"), "the largest segment should have more than one page"
    page.click("#members-next")
    page.wait_for_selector("[data-testid=members][data-state=ready][data-page='2']")
    second = api(
        stack, "GET", f"/segments/{big_id}/members?limit=20&cursor={members['next_cursor']}"
    )
    assert page.locator("#members-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.profileId)"
    ) == [p["profile_id"] for p in second["profiles"]]
    page.click("#members-prev")
    page.wait_for_selector("[data-testid=members][data-state=ready][data-page='1']")

    # a profile: attributes, behaviour, predictive fields with their explanations
    first = members["profiles"][0]["profile_id"]
    page.click(f"#members-table a[href='#/profiles/{first}']")
    page.wait_for_selector("[data-testid=profile]")
    profile = api(stack, "GET", f"/profiles/{first}")
    assert page.inner_text("#profile-title") == f"Profile {first}"
    assert profile["attributes"]["country"] in page.inner_text("[data-testid=profile] ~ div")
    explanations = profile["predictive"]["explanations"]
    for field in ("conversion_potential", "clv", "customer_type"):
        shown = page.locator(f".predictive[data-field={field}] .explanations li").all_inner_texts()
        assert shown == explanations[field], field
    # ... and the segments it is in, as the API lists them (once the background evaluation of
    # the segment it came from has stored its membership)
    deadline = time.time() + 30
    while time.time() < deadline:
        member_of = api(stack, "GET", f"/profiles/{first}/segments")["segments"]
        if big_id in [s["segment_id"] for s in member_of]:
            break
        time.sleep(0.5)
    page.reload()
    page.wait_for_selector("[data-testid=profile-segments] li a")
    listed = page.eval_on_selector_all(
        "[data-testid=profile-segments] li a", "links => links.map(a => a.textContent)"
    )
    assert listed == [s["name"] for s in member_of] and big_id in [
        s["segment_id"] for s in member_of
    ]
    shot(page, "profile")
    print(f"browser test ran {time.time() - started:.1f}s after the stack started")


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
