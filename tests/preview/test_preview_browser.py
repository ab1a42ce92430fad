"""The preview as a coordinator uses it: the Voorbeeld tab, the questionnaire in a phone-sized
frame before the campaign opens, a page answered in it, axe clean, no sideways scrolling."""

from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect

from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import no_horizontal_scroll, serious_violations
from tests.survey.conftest import load_example


def test_the_questionnaire_in_a_phone_frame_before_it_opens(browser, live_server, coordinator, app):
    campaign = load_example(opens_at=datetime(2098, 6, 1, 9, 0))
    for width in (1280, 360):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-BE")
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" else None
        )
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", COORDINATOR_EMAIL)
        page.fill("input[name=password]", COORDINATOR_PASSWORD)
        page.get_by_role("button", name="Aanmelden").click()
        page.goto(f"{live_server}/dashboard/{campaign.slug}/")
        page.get_by_role("link", name="Voorbeeld").click()
        page.get_by_role("link", name="Als op een telefoon").click()
        frame = page.frame_locator("iframe.preview-frame")
        expect(frame.locator(".preview-banner")).to_contain_text("Testmodus")
        frame.get_by_role("button", name="Start de vragenlijst").click()
        expect(frame.locator("h1")).to_have_text("Over jou en je werk")
        assert page.locator("iframe.preview-frame").bounding_box()["width"] <= 376
        assert no_horizontal_scroll(page)
        assert serious_violations(page) == []
        assert errors == []
        context.close()
