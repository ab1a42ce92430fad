"""Closing and reopening in a real browser, on a phone, with CSRF protection switched on:
the forms must carry their token for the close to happen at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from campaign.definitions.services import find_campaign
from campaign.extensions import db
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import no_horizontal_scroll

pytestmark = pytest.mark.browser

JULY = datetime(2027, 7, 10, 12, 0, tzinfo=UTC)


def test_close_with_its_confirm_step_and_reopen_on_a_phone(
    app, live_server, phone_page, coordinator, example_campaign
):
    app.config["CLOCK"] = lambda: JULY
    app.config["WTF_CSRF_ENABLED"] = True
    page = phone_page
    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/#sluiting")
    expect(page.get_by_role("heading", name="Sluiting")).to_be_visible()
    assert no_horizontal_scroll(page)

    page.get_by_role("link", name="Nu afsluiten …").click()
    expect(page.get_by_role("heading", name="De bevraging nu afsluiten?")).to_be_visible()
    expect(page.get_by_text("Nieuwe respondenten worden geweigerd")).to_be_visible()
    expect(page.get_by_text("krijgt nog 60 minuten")).to_be_visible()
    assert no_horizontal_scroll(page)
    db.session.remove()  # a fresh session: the server writes in its own
    assert find_campaign(example_campaign.slug).closed_at is None  # not before confirming

    page.get_by_role("button", name="Ja, nu afsluiten").click()
    expect(
        page.get_by_text("De bevraging is afgesloten op 10 juli 2027 om 14.00 u")
    ).to_be_visible()
    db.session.remove()
    assert find_campaign(example_campaign.slug).closed_at == JULY

    page.get_by_label("Nieuwe sluitdatum").fill("2027-09-30")
    page.get_by_label("Uur").fill("23:59")
    page.get_by_role("button", name="Heropenen").click()
    expect(
        page.get_by_text("De bevraging is heropend en sluit nu op 30 september 2027")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="Heropend")).to_be_visible()
    assert no_horizontal_scroll(page)
    db.session.remove()
    campaign = find_campaign(example_campaign.slug)
    assert campaign.closed_at is None
    assert campaign.closes_at == datetime(2027, 9, 30, 21, 59, tzinfo=UTC)
