"""What the browser tests of the segment builder share (tests/test_ui_browser.py,
tests/test_ui_browser_events.py): the local stack with the demo data, Debian's Chromium driven by
Playwright, a page that fails its test on any script error; the four segments of the brief; the
API as the page's checks call it; and the builder driven by clicking (add a rule, build a rule
tree, wait for the live preview, create a segment checked against the API's preview).

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
