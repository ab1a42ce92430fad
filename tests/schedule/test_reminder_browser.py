"""The reminder page in Debian's headless chromium: on a phone and a desktop, excluding a
key figure and sending now (after the confirm step)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.schedule.test_reminder_rule import TEN_DAYS_IN, load, make_people, reminders_in_outbox
from tests.survey.browser import no_horizontal_scroll

pytestmark = pytest.mark.browser

#: Set to a folder to keep the screenshots (to look at the page by eye).
SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def shot(page, name: str) -> None:
    """The whole page, and each card on its own (a phone's full page is too long to read)."""
    if not SHOTS:
        return
    page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
    for index, card in enumerate(page.locator("main section.card").all()):
        card.screenshot(path=str(Path(SHOTS) / f"{name}-{index}.png"))


def login(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_exclude_then_send_now_in_a_browser(app, live_server, coordinator, request, size):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load()
    make_people(campaign)
    page = request.getfixturevalue(f"{size}_page")
    login(page, f"{live_server}/dashboard/herinnering/herinnering/")
    page.get_by_role("heading", name="Krijgen de herinnering (3)").wait_for()
    assert no_horizontal_scroll(page)
    page.frame_locator("iframe.mail-frame").get_by_text("Via jouw link vulden al 2").wait_for()
    shot(page, f"reminder-{size}")

    row = page.locator("#sleutelfiguren tr", has_text="hilde@example.org")
    row.get_by_role("button", name="Uitsluiten").click()
    page.get_by_text("Hilde krijgt de herinnering niet.").wait_for()
    page.get_by_role("heading", name="Krijgen de herinnering (2)").wait_for()

    page.get_by_role("link", name="Nu versturen (2)").click()
    page.get_by_role(
        "heading", name="De herinnering nu versturen naar 2 sleutelfiguren?"
    ).wait_for()
    page.get_by_role("button", name="Ja, 2 herinneringen versturen").click()
    page.get_by_role("heading", name="De herinnering is verstuurd").wait_for()
    assert page.get_by_role("button", name="Nu versturen (2)").count() == 0
    assert no_horizontal_scroll(page)
    shot(page, f"reminder-sent-{size}")
    assert sorted(m.recipient_email for m in reminders_in_outbox(campaign)) == [
        "an@example.org",
        "gert@example.org",
    ]
