"""The segment builder (chalicelib/ui/, served at /) in a real browser: Debian's Chromium, headless,
driven by Playwright, against the real local stack. It builds the four segments of the brief by
clicking, checks each live preview against the API's preview of the same rules, saves them, edits
one, deletes another, shows an API validation error beside its rule, and opens a segment's members
(with paging), its size over time and entries/exits, and a profile. The fixtures and the clicking
are tests/ui_browser_support.py's.

UI_SCREENSHOTS=1 (`make screenshots`) also writes docs/img/ui-*.png; UI_DEMO_PROFILES sets the demo
data's size (150 by default)."""

import json
import time

import ui_browser_support as ui
from ui_browser_support import (
    BENELUX_PROMISING,
    ECONOMICAL,
    HIGH_POTENTIAL,
    SCARCITY_OR_DEALS,
    add_rule,
    api,
    create_segment,
    shot,
    wait_for_history,
    wait_for_preview,
)

# the browser tests' fixtures, shared: a local stack with the demo data, Chromium, a page
stack, browser, page = ui.stack, ui.browser, ui.page

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
