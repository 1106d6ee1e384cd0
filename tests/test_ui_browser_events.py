"""Event conditions in the segment builder, in a real browser against the local stack (the
fixtures of tests/ui_browser_support.py): Add rule → Behaviour → did … / did not …, the live
preview equal to the API's preview of the same rules, a saved segment with them opened and sent
back unchanged, and an API error on an event rule shown beside it."""

import ui_browser_support as ui

# the browser tests' fixtures, shared: a local stack with the demo data, Chromium, a page
stack, browser, page = ui.stack, ui.browser, ui.page
api, wait_for_preview = ui.api, ui.wait_for_preview

BOUGHT_TWICE_NO_VISIT = {
    "match": "all",
    "rules": [
        {
            "event": "purchase",
            "count": {"operator": "gte", "value": 2},
            "window": {"within_last_days": 180},
        },
        {
            "event": "page_view",
            "count": {"operator": "eq", "value": 0},
            "window": {"within_last_days": 7},
        },
    ],
}


def add_event_rule(page, which):
    group = page.locator(".tree > .group")
    group.locator(":scope > .group-actions > .add-rule").click()
    rule = group.locator(":scope > .rules > .rule-wrap").last.locator(".rule")
    rule.locator(".pick-group").select_option("behaviour")
    rule.locator(".pick-field").select_option(which)
    return rule


def test_marketer_builds_did_and_did_not_rules(stack, page):
    page.goto(stack.api + "/")
    page.fill("#project-id", "demo")
    page.fill("#api-key", stack.key)
    page.click("#connect-button")
    page.wait_for_selector("[data-testid=segment-list]")
    page.click("a[data-nav=new]")
    page.wait_for_selector("[data-testid=builder]")
    page.fill("#segment-name", "Bought twice, gone quiet")

    # GIVEN did … purchase at least 2 times in the last 180 days, and did not view a page in 7
    rule = add_event_rule(page, "did")
    rule.locator(".pick-event").select_option("purchase")
    rule.locator("input.value").first.fill("2")
    rule.locator(".value-pair input").fill("180")
    rule = add_event_rule(page, "did_not")
    rule.locator(".pick-event").select_option("page_view")
    rule.locator(".value-pair input").fill("7")
    # THEN the live preview is the API's preview of exactly those rules
    shown = wait_for_preview(page, BOUGHT_TWICE_NO_VISIT)
    assert shown["count"] == api(stack, "POST", "/segments/preview", BOUGHT_TWICE_NO_VISIT)["count"]

    # WHEN saved and opened again THEN the rules come back unchanged
    page.click("#save-segment")
    page.wait_for_selector("#segment-title")
    segment_id = page.url.rsplit("/", 1)[1]
    saved = api(stack, "GET", f"/segments/{segment_id}")
    assert {"match": saved["match"], "rules": saved["rules"]} == BOUGHT_TWICE_NO_VISIT
    page.goto(f"{stack.api}/#/segments/{segment_id}/edit")
    page.wait_for_selector("[data-testid=builder]")
    wait_for_preview(page, BOUGHT_TWICE_NO_VISIT)

    # an API error on an event rule appears beside it: a window from after to
    page.click("a[data-nav=new]")
    page.wait_for_selector("[data-testid=builder]")
    rule = add_event_rule(page, "did")
    rule.locator(".pick-window").select_option("between")
    rule.locator(".value-pair input").nth(0).fill("2026-05-02")
    rule.locator(".value-pair input").nth(1).fill("2026-05-01")
    # (the preview of the half-typed window said "expected a date" first)
    error = page.locator(".rule-wrap").first.locator(".rule-error")
    error.filter(has_text="from must not be after to").wait_for()
    assert page.get_attribute("#preview", "data-state") == "error"
