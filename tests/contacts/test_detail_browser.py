"""In Debian's headless chromium, at 1280 and 360 px: sending the invitations asks first
(how many, what happens), then the key figure's detail page shows the sent invitation,
copies the link and offers "opnieuw versturen".  Axe-clean, no sideways scrolling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign.contacts.queries import root_link_url
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.models import Message
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import no_horizontal_scroll, serious_violations

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def checked(page, name: str) -> None:
    assert serious_violations(page) == [], name
    assert no_horizontal_scroll(page), name
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def invitations() -> int:
    db.session.rollback()  # a fresh read: the live server wrote in its own thread
    return db.session.scalar(select(func.count()).where(Message.kind == "invitation")) or 0


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_invite_after_confirmation_then_the_detail_page(
    live_server, coordinator, example_campaign, request, size
):
    an = save_key_figure(
        example_campaign, name="An Peeters", email="an@example.org", network="CLB-netwerk"
    )
    save_key_figure(example_campaign, name="Bo Claes", email="bo@example.org")
    page = request.getfixturevalue(f"{size}_page")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/mails/")

    page.get_by_role("link", name="Uitnodigingen versturen (2)").click()
    page.get_by_role("heading", name="2 sleutelfiguren uitnodigen?").wait_for()
    checked(page, f"invite-confirm-{size}")
    assert invitations() == 0
    page.get_by_role("button", name="Ja, 2 uitnodigingen versturen").click()
    page.get_by_text("2 uitnodigingen in de wachtrij gezet.").wait_for()
    assert invitations() == 2
    assert send_queued().sent == 2

    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/sleutelfiguren/")
    page.get_by_role("link", name="An Peeters", exact=True).click()
    page.get_by_role("heading", name="An Peeters").wait_for()
    assert "Uitnodiging" in page.inner_text(".mail-table")
    assert "Verstuurd op" in page.inner_text(".mail-table")
    page.get_by_role("button", name="Kopieer link").click()
    page.get_by_role("button", name="Gekopieerd ✓").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == root_link_url(an)
    checked(page, f"key-figure-detail-{size}")
    page.get_by_role("button", name="Uitnodiging opnieuw versturen").click()
    page.get_by_text("Een nieuwe mail voor An Peeters staat in de wachtrij").wait_for()
    assert "In de wachtrij" in page.inner_text(".mail-table")
