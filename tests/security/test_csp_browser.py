"""The pages under their Content-Security-Policy in chromium: the dashboard's plotly
charts drawn, the survey answered, the Voorbeeld tab's framed survey, a key figure's page
and an error page, without one CSP violation or console error."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaign.mailing.services import key_figure_page_url
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD

#: Collects the browser's CSP violation reports on every document, frames included.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

NOW = datetime(2027, 7, 20, 10, 0, tzinfo=UTC)


def violations(page) -> list[str]:
    found = list(page.evaluate("window.__violations"))
    for frame in page.frames[1:]:
        found += frame.evaluate("window.__violations || []")
    return found


@pytest.mark.browser
def test_pages_work_under_their_csp_without_violations(
    app, live_server, browser, coordinator, key_figure, key_link
):
    app.config["CLOCK"] = lambda: NOW
    from campaign.demo import load_demo

    load_demo(now=NOW, respondents=30)
    for part in (respondent_pages, coordinator_pages):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
        context.add_init_script(WATCH)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
        try:
            part(page, live_server, key_figure, key_link)
            assert [e for e in errors if not e.startswith("Failed to load resource")] == []
        finally:
            context.close()


def respondent_pages(page, live_server, key_figure, key_link) -> None:
    # The survey: landing page, start, the first question page.
    page.goto(f"{live_server}/s/{key_link.code}")
    page.get_by_role("button", name="Start de vragenlijst").click()
    expect(page.locator("h1")).to_have_text("Over jou en je werk")
    assert violations(page) == []
    # A key figure's page: its copy button works through the static script.
    page.goto(f"{live_server}{urlsplit(key_figure_page_url(key_figure)).path}")
    page.locator("[data-copy]").first.click()
    expect(page.locator("[data-copy]").first).to_have_text("Gekopieerd ✓")
    assert violations(page) == []
    # An error page.
    page.goto(f"{live_server}/s/bestaat-niet")
    expect(page.get_by_role("link", name="Ga terug")).to_be_visible()
    assert violations(page) == []


def coordinator_pages(page, live_server, _key_figure, key_link) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    slug = key_link.campaign.slug
    # The dashboard's plotly charts (drawn by a static script from a JSON data block).
    page.goto(f"{live_server}/dashboard/{slug}/")
    for chart in ("grafiek-sectoren", "grafiek-dagen"):
        page.wait_for_selector(f"#{chart} .main-svg", state="attached")
    assert violations(page) == []
    # The results page: plotly's inline chart scripts run through the nonce.
    page.goto(f"{live_server}/dashboard/{slug}/resultaten/")
    page.wait_for_selector(".js-plotly-plot .main-svg", state="attached")
    assert violations(page) == []
    # The Voorbeeld tab frames the survey from our own origin.
    page.goto(f"{live_server}/dashboard/{slug}/voorbeeld/?weergave=telefoon")
    frame = page.frame_locator("iframe.preview-frame")
    frame.get_by_role("button", name="Start de vragenlijst").click()
    expect(frame.locator("h1")).to_have_text("Over jou en je werk")
    assert violations(page) == []
