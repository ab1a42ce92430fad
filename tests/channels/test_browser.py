"""In chromium: a coordinator makes a newsletter link on the Kanalen page, a respondent
answers through it on a phone, and the dashboard counts the answer under Kanalen."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from campaign.models import Campaign
from tests.channels.test_channels import TWO_PARTNERS
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import fill_page, no_horizontal_scroll, serious_violations
from tests.test_attribution import TEN_DAYS_IN, load_small


@pytest.fixture
def campaign(app: Flask, coordinator) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small(text=TWO_PARTNERS)


def test_a_channel_link_is_answered_and_counted_on_the_dashboard(
    live_server, campaign, desktop_page, phone_page
):
    page = desktop_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.goto(f"{live_server}/dashboard/{campaign.slug}/")
    page.get_by_role("link", name="Kanalen", exact=True).first.click()
    page.get_by_label("Naam van het kanaal").fill("Nieuwsbrief juni")
    page.get_by_label("Soort").select_option("newsletter")
    page.get_by_label("Partnerorganisatie").select_option("POM West-Vlaanderen")
    page.get_by_role("button", name="Kanaal aanmaken").click()
    expect(page.locator(".flash-success")).to_contain_text("Nieuwsbrief juni")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Nieuwsbrief juni").click()
    link = page.locator("#kanaal-link").inner_text()
    assert link.startswith(f"{live_server}/s/")

    phone_page.goto(link)
    phone_page.get_by_role("button", name="Start de vragenlijst").click()
    fill_page(phone_page, {"stelling": "2"})
    phone_page.get_by_role("button", name="Volgende").click()
    fill_page(phone_page, {"sector": "welzijn"})
    phone_page.get_by_role("button", name="Verstuur je antwoorden").click()
    expect(phone_page.locator("h1")).to_have_text("Hartelijk dank!")

    page.goto(f"{live_server}/dashboard/{campaign.slug}/")
    row = page.locator('#kanalen tr[data-channel="Nieuwsbrief juni"]')
    expect(row.locator('[data-label="Geopend"]')).to_have_text("1")
    expect(row.locator('[data-label="Afgerond"]')).to_have_text("1")
    expect(page.locator('.funnel-count[data-figure="funnel.completed"]')).to_have_text("1")
    page.screenshot(path="/tmp/h4-dashboard-1280.png", full_page=True)
    phone_page.goto(f"{live_server}/login")
    phone_page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    phone_page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    phone_page.get_by_role("button", name="Aanmelden").click()
    phone_page.goto(f"{live_server}/dashboard/{campaign.slug}/kanalen/")
    assert no_horizontal_scroll(phone_page)
    phone_page.screenshot(path="/tmp/h4-channels-360.png", full_page=True)
