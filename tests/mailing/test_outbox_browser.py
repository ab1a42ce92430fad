"""The mail page in a real browser: the per-recipient list follows the background sender
without a reload, on a desktop and on a phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import no_horizontal_scroll

pytestmark = pytest.mark.browser

#: Set to a folder to keep screenshots of the page (for looking at it).
SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()


@pytest.mark.parametrize("viewport", ["desktop_page", "phone_page"])
def test_the_list_follows_the_sender_without_reloading(
    request, app, live_server, coordinator, smtp_server, example_campaign, add_key_figures, viewport
):
    page = request.getfixturevalue(viewport)
    sink, _port = smtp_server
    app.config["MAIL_RETRY_BASE_SECONDS"] = 3600.0  # the greylisted one waits an hour
    app.config["MAIL_MAX_ATTEMPTS"] = 0
    add_key_figures(3)
    sink.refuse = lambda env: (
        "451 4.7.1 Greylisted, please try again later"
        if "persoon0@example.org" in env.rcpt_tos
        else ("550 5.1.1 mailbox unavailable" if "persoon1@example.org" in env.rcpt_tos else None)
    )
    queue_invitations(example_campaign)
    db.session.remove()
    log_in(page, live_server)
    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/mails/")
    rows = page.locator("#mails-per-ontvanger tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#mails-per-ontvanger")).to_contain_text("In de wachtrij")
    page.evaluate("window.notReloaded = true")

    send_queued()  # the background sender, here in the test's thread
    db.session.remove()

    listing = page.locator("#mails-per-ontvanger")
    expect(listing).to_contain_text("Verstuurd op", timeout=15000)
    expect(listing).to_contain_text("Uitgesteld tot")
    expect(listing).to_contain_text("Het adres bestaat niet of weigert mail.")
    # the other parts follow too, and the page was never reloaded
    expect(page.locator("#per-soort")).to_contain_text("Verstuurd")
    expect(page.locator("#lijst-kop")).to_contain_text("Alle mislukte opnieuw proberen (1)")
    assert page.evaluate("window.notReloaded === true")
    assert no_horizontal_scroll(page)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/outbox-{viewport}.png", full_page=True)
        listing.screenshot(path=f"{SHOTS}/outbox-list-{viewport}.png")
