"""axe-core (npm) in Debian's chromium on every page of the example questionnaire."""

from __future__ import annotations

from datetime import datetime

import pytest

from campaign.definitions.services import close_campaign
from campaign.extensions import db
from campaign.models import Link
from tests.survey.browser import fill_page, no_horizontal_scroll, serious_violations
from tests.survey.conftest import EXAMPLE_FORMS, load_example

pytestmark = pytest.mark.browser


def check(page, what: str, problems: dict[str, list[str]]) -> None:
    found = serious_violations(page)
    if found:
        problems[what] = found
    if not no_horizontal_scroll(page):
        problems.setdefault(what, []).append("horizontal scroll at this width")


@pytest.mark.parametrize("width", [360, 1280])
def test_every_survey_page_passes_axe_without_serious_violations(
    browser, live_server, key_link, open_campaign, width
):
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="nl-BE")
    page = context.new_page()
    problems: dict[str, list[str]] = {}

    page.goto(f"{live_server}/s/{key_link.code}")
    check(page, "welcome", problems)
    page.get_by_role("button", name="Start de vragenlijst").click()
    page.get_by_role("button", name="Volgende").click()
    check(page, "page 1 with errors", problems)
    for number, data in enumerate(EXAMPLE_FORMS, start=1):
        check(page, f"page {number}", problems)
        fill_page(page, data)
        last = number == len(EXAMPLE_FORMS)
        page.get_by_role("button", name="Verstuur je antwoorden" if last else "Volgende").click()
    check(page, "thank-you", problems)
    page.fill("#draw-email", "geen-adres")
    page.get_by_role("button", name="Doe mee").click()
    check(page, "draw with an error", problems)

    page.goto(f"{live_server}/s/onbekendecode23")
    check(page, "404", problems)

    context.close()
    # a new visitor, after the close
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="nl-BE")
    page = context.new_page()
    close_campaign(open_campaign)
    page.goto(f"{live_server}/s/{key_link.code}")
    assert "afgesloten" in page.locator("h1").inner_text()
    check(page, "closed", problems)

    later = load_example(datetime(2098, 6, 28, 9), datetime(2098, 9, 15), slug="later-dit-jaar")
    future_link = Link(campaign_id=later.id)
    db.session.add(future_link)
    db.session.commit()
    page.goto(f"{live_server}/s/{future_link.code}")
    assert "nog niet geopend" in page.locator("h1").inner_text()
    check(page, "not yet open", problems)
    context.close()

    assert problems == {}
