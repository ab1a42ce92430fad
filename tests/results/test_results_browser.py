"""The results page, the decision summary and the report in Debian's chromium at 1280 and
360 px: charts drawn, no console errors, axe clean, no sideways scrolling."""

from __future__ import annotations

import pytest

from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.results.results_seed import AFTER, DURING, load, seed
from tests.survey.browser import no_horizontal_scroll, serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def closed(app, coordinator):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    app.config["CLOCK"] = lambda: AFTER
    return campaign


@pytest.mark.parametrize("width", [1280, 360])
def test_results_decision_and_report_in_a_browser(browser, live_server, closed, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-BE")
    page = context.new_page()
    errors: list[str] = []

    def console(message) -> None:
        # the base layout declares no icon, so the browser asks for /favicon.ico itself
        if message.type == "error" and not message.location.get("url", "").endswith("favicon.ico"):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", COORDINATOR_EMAIL)
    page.fill("input[name=password]", COORDINATOR_PASSWORD)
    page.click("button[type=submit]")

    base = f"{live_server}/dashboard/resultaten-test/resultaten"
    problems: dict[str, list[str]] = {}
    page.goto(f"{base}/")
    page.locator("#grafiek-functies .main-svg").first.wait_for(state="attached")
    assert page.locator(".js-plotly-plot").count() == 9
    check(page, "results", problems)

    page.select_option("#filter-regio", "brugge")
    page.get_by_role("button", name="Toon resultaten").click()
    assert "5 afgeronde antwoorden in deze selectie" in page.locator(".selection").inner_text()
    check(page, "results in Brugge", problems)

    page.goto(f"{base}/")
    page.get_by_label("Uitsplitsen per sector").check()
    page.get_by_role("button", name="Toon resultaten").click()
    page.locator("table.per-sector").first.wait_for()
    page.wait_for_load_state("load")
    assert page.locator("table.per-sector").count() == 7
    check(page, "results per sector", problems)

    page.goto(f"{base}/?regio=brugge")
    page.select_option("#filter-sector", "onderwijs")
    page.get_by_role("button", name="Toon resultaten").click()
    assert "niemand herkenbaar" in page.locator(".suppressed").inner_text()
    check(page, "a small selection", problems)

    page.goto(f"{base}/digiwijzer")
    assert page.locator("h2", has_text="Voorwaarde 3").count() == 1
    check(page, "decision", problems)

    page.goto(f"{base}/rapport")
    check(page, "report", problems)
    page.emulate_media(media="print")
    assert not page.locator(".toolbar").is_visible()
    if width == 1280:
        assert page.pdf(format="A4").startswith(b"%PDF")
    context.close()
    assert problems == {}
    assert errors == []


def check(page, what: str, problems: dict[str, list[str]]) -> None:
    found = serious_violations(page)
    if not no_horizontal_scroll(page):
        found.append("horizontal scroll at this width")
    if found:
        problems[what] = found
