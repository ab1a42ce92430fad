"""In chromium: a colleague invited on the Team page sets a password through the link
mailed by a real SMTP server, and logs in; a coordinator limited to one partner who
types another partner's key figure into the address bar gets a Dutch 404 page; a
coordinator changes their password from the header, and their phone is logged out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import expect

from campaign.auth import roles
from campaign.auth.services import create_coordinator
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from tests.conftest import (
    COORDINATOR_EMAIL,
    COORDINATOR_PASSWORD,
    EXAMPLE_CAMPAIGN,
    serving,
)
from tests.survey.browser import no_horizontal_scroll, serious_violations

NEW_PASSWORD = "mijn-eigen-wachtwoord"


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Aanmelden").click()


@pytest.fixture
def served_smtp_app(smtp_app: Flask) -> Iterator[str]:
    """The app that mails through the loopback SMTP server, served on a free port."""
    with serving(smtp_app) as url:
        yield url


def test_an_invited_colleague_sets_a_password_through_the_mailed_link_and_logs_in(
    served_smtp_app, smtp_server, browser
):
    sink, _port = smtp_server
    base = served_smtp_app
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), str(EXAMPLE_CAMPAIGN))
    campaign = load_campaign(spec).campaign
    create_coordinator(COORDINATOR_EMAIL, COORDINATOR_PASSWORD, "Beheerder")
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    page = admin.new_page()
    log_in(page, base, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    page.goto(f"{base}/dashboard/{campaign.slug}/")
    page.get_by_role("link", name="Team").click()
    page.get_by_label("E-mailadres").fill("ann.peeters@example.org")
    page.get_by_label("Naam").fill("Ann Peeters")
    page.get_by_label("Rol").select_option("coordinator")
    page.get_by_label("Beperkt tot partnerorganisatie").select_option("Huis van het Leren")
    page.get_by_role("button", name="Uitnodiging versturen").click()
    expect(page.locator(".flash-success")).to_contain_text("ann.peeters@example.org")
    assert serious_violations(page) == []
    page.screenshot(path="/tmp/h4-team-1280.png", full_page=True)
    admin.close()

    assert send_queued().sent == 1
    [mail] = sink.messages
    assert mail["To"].addresses[0].addr_spec == "ann.peeters@example.org"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Beste Ann,")
    link = re.search(r"http://127\.0\.0\.1:\d+/wachtwoord/\S+", text).group(0)

    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    colleague = phone.new_page()
    colleague.goto(link)
    expect(colleague.locator("h1")).to_have_text("Wachtwoord kiezen")
    assert no_horizontal_scroll(colleague)
    colleague.get_by_label("Nieuw wachtwoord").fill(NEW_PASSWORD)
    colleague.get_by_label("Nog eens hetzelfde wachtwoord").fill(NEW_PASSWORD)
    colleague.get_by_role("button", name="Wachtwoord instellen").click()
    expect(colleague.locator(".flash-success")).to_contain_text("Je wachtwoord is ingesteld")
    log_in(colleague, base, "ann.peeters@example.org", NEW_PASSWORD)
    expect(colleague.locator(".who")).to_have_text("Ann Peeters")
    # The link worked once.
    colleague.goto(link)
    expect(colleague.locator("h1")).to_have_text("Deze link werkt niet")
    phone.close()
    db.session.remove()


def test_a_partner_limited_coordinator_cannot_open_another_partners_key_figure(
    app, live_server, example_campaign, desktop_page, phone_page
):
    mine = save_key_figure(
        example_campaign, name="Eigen", email="eigen@example.org", partner="Huis van het Leren"
    )
    other = save_key_figure(
        example_campaign, name="Ander", email="ander@example.org", partner="POM West-Vlaanderen"
    )
    create_coordinator(
        "partner@example.org",
        COORDINATOR_PASSWORD,
        "Partner",
        role=roles.COORDINATOR,
        partner="Huis van het Leren",
    )
    slug = example_campaign.slug
    for page in (desktop_page, phone_page):
        log_in(page, live_server, "partner@example.org", COORDINATOR_PASSWORD)
        page.goto(f"{live_server}/dashboard/{slug}/sleutelfiguren/")
        expect(page.get_by_text("eigen@example.org")).to_be_visible()
        expect(page.get_by_text("ander@example.org")).to_have_count(0)
        reply = page.goto(f"{live_server}/dashboard/{slug}/sleutelfiguren/{other.id}/")
        assert reply.status == 404
        expect(page.locator("h1")).to_have_text("Pagina niet gevonden")
        expect(page.locator("main")).to_contain_text("hoort niet bij Huis van het Leren")
        assert no_horizontal_scroll(page)
        reply = page.goto(f"{live_server}/dashboard/{slug}/mails/")
        assert reply.status == 403
        expect(page.locator("main")).to_contain_text("beperkt tot Huis van het Leren")
        assert page.goto(f"{live_server}/dashboard/{slug}/sleutelfiguren/{mine.id}/").status == 200
    phone_page.goto(f"{live_server}/dashboard/{slug}/sleutelfiguren/{other.id}/")
    phone_page.screenshot(path="/tmp/h4-forbidden-360.png", full_page=True)


def test_a_coordinator_changes_their_password_from_the_header_and_the_phone_is_logged_out(
    app, live_server, coordinator, desktop_page, phone_page
):
    base = live_server
    log_in(phone_page, base, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    expect(phone_page.locator(".who")).to_be_visible()
    assert no_horizontal_scroll(phone_page)
    log_in(desktop_page, base, COORDINATOR_EMAIL, COORDINATOR_PASSWORD)
    desktop_page.get_by_role("link", name="Wachtwoord wijzigen").click()
    expect(desktop_page.locator("h1")).to_have_text("Wachtwoord wijzigen")
    assert serious_violations(desktop_page) == []
    desktop_page.get_by_label("Huidig wachtwoord").fill("niet-mijn-wachtwoord")
    desktop_page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    desktop_page.get_by_label("Nog eens het nieuwe wachtwoord").fill(NEW_PASSWORD)
    desktop_page.get_by_role("button", name="Wachtwoord wijzigen").click()
    expect(desktop_page.locator(".flash-error")).to_have_text("Je huidige wachtwoord klopt niet.")
    desktop_page.get_by_label("Huidig wachtwoord").fill(COORDINATOR_PASSWORD)
    desktop_page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    desktop_page.get_by_label("Nog eens het nieuwe wachtwoord").fill(NEW_PASSWORD)
    desktop_page.get_by_role("button", name="Wachtwoord wijzigen").click()
    expect(desktop_page.locator(".flash-success")).to_contain_text("Je wachtwoord is gewijzigd")
    expect(desktop_page.locator(".who")).to_be_visible()  # this browser stays logged in
    phone_page.goto(f"{base}/dashboard/wachtwoord/")
    expect(phone_page.locator("h1")).to_have_text("Aanmelden")  # the phone is logged out
    phone_page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    phone_page.get_by_label("Wachtwoord").fill(NEW_PASSWORD)
    phone_page.get_by_role("button", name="Aanmelden").click()
    expect(phone_page.locator("h1")).to_have_text("Wachtwoord wijzigen")  # back where it was
    assert no_horizontal_scroll(phone_page)
    phone_page.screenshot(path="/tmp/authsec-password-360.png", full_page=True)
