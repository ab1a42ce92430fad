"""The public draw page and the Trekking tab in Debian's chromium at 1280 and 360 px: the
receipt lookup works, no console errors, axe clean, no sideways scrolling of the page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaign.draw.prizes import pass_to_reserve
from campaign.draw.services import run_draw
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.draw.conftest import AFTER_CLOSE, COORDINATOR
from tests.survey.browser import no_horizontal_scroll, serious_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 360])
def test_the_draw_pages_in_a_browser(
    browser, live_server, campaign, clock, entered, coordinator, width
):
    clock.moment = AFTER_CLOSE
    draw = run_draw(campaign, actor=COORDINATOR).draw
    clock.moment += timedelta(days=15)
    pass_to_reserve(campaign, 1, actor=COORDINATOR)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-BE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: dict[str, list[str]] = {}

    page.goto(f"{live_server}/trekking/{campaign.slug}")
    page.fill("#code", draw.winners[0])
    page.get_by_role("button", name="Zoeken").click()
    assert f"{draw.winners[0]} wint prijs 1." in page.get_by_role("status").inner_text()
    check(page, "public", problems)

    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", COORDINATOR_EMAIL)
    page.fill("input[name=password]", COORDINATOR_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/dashboard/{campaign.slug}/trekking/")
    assert page.get_by_role("button", name="Overhandigd").count() == 2
    check(page, "dashboard", problems)
    page.goto(f"{live_server}/dashboard/{campaign.slug}/trekking/bevestigen?opnieuw=ja")
    check(page, "redraw confirmation", problems)
    context.close()
    assert problems == {}
    assert errors == []


def check(page, what: str, problems: dict[str, list[str]]) -> None:
    found = serious_violations(page)
    if not no_horizontal_scroll(page):
        found.append("horizontal scroll at this width")
    if found:
        problems[what] = found
