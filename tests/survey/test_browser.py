"""A respondent on a phone: the whole example questionnaire, stop, resume, finish, forward, draw."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import DrawEntry, Link, Response, Sector
from tests.survey.browser import fill_page, no_horizontal_scroll
from tests.survey.conftest import EXAMPLE_FORMS

pytestmark = pytest.mark.browser


def test_respondent_fills_the_survey_on_a_phone_stops_resumes_and_enters_the_draw(
    phone_page, browser, live_server, key_link
):
    page = phone_page
    page.goto(f"{live_server}/s/{key_link.code}")
    expect(page.locator("h1")).to_have_text("Eerste hulp bij digitale vragen")
    # The start button is on the phone's first screen; the long introduction follows it.
    start = page.get_by_role("button", name="Start de vragenlijst")
    box = start.bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"]
    start.click()

    # Try to go on without answering: Dutch messages and an error summary with focus.
    page.get_by_role("button", name="Volgende").click()
    expect(page.locator("#foutenoverzicht")).to_be_visible()
    expect(page.locator("#foutenoverzicht")).to_be_focused()  # survey.js runs deferred
    assert "Deze vraag is verplicht." in page.locator("#e-sector").inner_text()
    assert no_horizontal_scroll(page)

    for data in EXAMPLE_FORMS[:3]:
        fill_page(page, data)
        assert no_horizontal_scroll(page)
        page.get_by_role("button", name="Volgende").click()
    expect(page.locator(".progress-text")).to_contain_text("Pagina 4 van ongeveer 7")
    resume_link = page.locator("#resume-link").input_value()
    page.close()

    # Same device, a new tab: the welcome page offers to continue.
    again = phone_page.context.new_page()
    again.goto(f"{live_server}/s/{key_link.code}")
    again.get_by_role("button", name="Ga verder waar je gebleven was").click()
    expect(again.locator("h1")).to_have_text("Het aanbod rond digitale inclusie")

    # Another device: the resume link leads to the same place.
    other = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    elsewhere = other.new_page()
    elsewhere.goto(resume_link)
    expect(elsewhere.locator("h1")).to_have_text("Het aanbod rond digitale inclusie")
    other.close()

    # A condition on the same page: the follow-up appears once "opleiding_zelf" is ticked.
    fill_page(again, EXAMPLE_FORMS[3])
    again.get_by_role("button", name="Volgende").click()
    follow_up = again.locator("#q-opleiding_onderwerpen")
    expect(follow_up).to_be_hidden()
    fill_page(again, {"wat_helpt": ["overzicht_aanbod", "opleiding_zelf"]})
    expect(follow_up).to_be_visible()
    fill_page(again, {"opleiding_onderwerpen": ["smartphone"]})
    again.get_by_role("button", name="Volgende").click()
    for data in EXAMPLE_FORMS[5:]:
        fill_page(again, data)
        button = "Verstuur je antwoorden" if data is EXAMPLE_FORMS[-1] else "Volgende"
        again.get_by_role("button", name=button).click()

    expect(again.locator("h1")).to_have_text("Hartelijk dank!")
    # The thank-you page came with the last page's POST: the address bar says /bedankt and
    # a reload asks for that page again (nothing is posted twice).
    expect(again).to_have_url(f"{live_server}/s/{key_link.code}/bedankt")
    again.reload()
    expect(again.locator("h1")).to_have_text("Hartelijk dank!")
    forward_url = again.locator("#forward-link").input_value()
    assert no_horizontal_scroll(again)

    again.fill("#draw-email", "an.respondent@example.org")
    again.click('label[for="draw-consent"]')
    again.get_by_role("button", name="Doe mee").click()
    assert "Je doet mee aan de wedstrijd" in again.locator("#wedstrijd").inner_text()

    db.session.remove()  # a fresh session: see what the server wrote in its own
    response = db.session.scalar(select(Response))
    assert response.completed_at is not None
    assert response.link_id == key_link.id
    onderwijs = db.session.scalar(select(Sector).where(Sector.code == "onderwijs"))
    assert response.sector_id == onderwijs.id  # the respondent's own sector answer
    assert response.answers["opleiding_onderwerpen"] == ["smartphone"]
    entry = db.session.scalar(select(DrawEntry))
    assert entry.email == "an.respondent@example.org"
    assert entry.receipt in again.locator("#wedstrijd").inner_text()
    forward = db.session.scalar(select(Link).where(Link.code == forward_url.rsplit("/", 1)[1]))
    assert forward.parent_id == key_link.id and forward.key_figure_id == key_link.key_figure_id


def test_survey_works_by_keyboard_alone(browser, live_server, key_link):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    page = context.new_page()
    page.goto(f"{live_server}/s/{key_link.code}")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    page.locator("button[type=submit]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/vraag/1")
    page.locator("#f-sector-0").focus()
    page.keyboard.press("ArrowDown")  # radio group: arrows move the choice
    assert page.locator("#f-sector-1").is_checked()
    context.close()
