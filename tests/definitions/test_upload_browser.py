"""The campaign file from the dashboard in Debian's headless chromium, at 1280 and 360 px:
an upload with an error (the page names the line), the same file fixed, the diff, the
confirmation; then the settings form.  Every page passes axe and does not scroll sideways."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign.definitions.services import find_campaign
from campaign.extensions import db
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.definitions.test_upload import SMALL
from tests.survey.browser import no_horizontal_scroll, serious_violations

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")
JUNE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def checked(page, name: str) -> None:
    assert serious_violations(page) == [], name
    assert no_horizontal_scroll(page), name
    shot(page, name)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_create_fix_an_error_then_update_after_the_diff(
    app, live_server, coordinator, request, tmp_path, size
):
    app.config["CLOCK"] = lambda: JUNE
    page = request.getfixturevalue(f"{size}_page")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.get_by_role("link", name="Nieuwe campagne").first.click()

    broken = tmp_path / "klein.yaml"
    broken.write_text(SMALL.replace("target: 30", "target: dertig"), encoding="utf-8")
    page.get_by_label("Campagnebestand (.yaml)").set_input_files(str(broken))
    page.get_by_role("button", name="Controleren").click()
    page.get_by_role("heading", name="Niet geladen: er is niets gewijzigd").wait_for()
    assert "Regel 22 (sectors[1].target): moet een geheel getal zijn" in page.inner_text("main")
    checked(page, f"upload-error-{size}")
    assert find_campaign("klein") is None

    fixed = tmp_path / "klein-verbeterd.yaml"
    fixed.write_text(SMALL, encoding="utf-8")
    page.get_by_label("Campagnebestand (.yaml)").set_input_files(str(fixed))
    page.get_by_role("button", name="Controleren").click()
    page.get_by_role("heading", name="Deze campagne aanmaken?").wait_for()
    page.get_by_role("button", name="Ja, campagne aanmaken").click()
    page.get_by_text("De campagne 'Een kleine bevraging' is aangemaakt.").wait_for()

    page.get_by_role("link", name="Instellingen", exact=True).click()
    page.get_by_role("link", name="Campagnebestand opladen").click()
    changed = tmp_path / "klein-v2.yaml"
    changed.write_text(SMALL.replace("target: 50", "target: 60"), encoding="utf-8")
    page.get_by_label("Campagnebestand (.yaml)").set_input_files(str(changed))
    page.get_by_role("button", name="Controleren").click()
    page.get_by_role("heading", name="Deze wijzigingen toepassen?").wait_for()
    assert "Doel van Onderwijs: 50 → 60." in page.inner_text("main")
    checked(page, f"upload-diff-{size}")
    db.session.rollback()  # a fresh read: the live server wrote in its own thread
    assert find_campaign("klein").sectors[0].target == 50
    page.get_by_role("button", name="Ja, wijzigingen toepassen").click()
    page.get_by_text("Het campagnebestand is geladen").wait_for()
    db.session.rollback()  # a fresh read: the live server wrote in its own thread
    assert find_campaign("klein").sectors[0].target == 60

    page.get_by_role("link", name="Instellingen", exact=True).click()
    page.get_by_label("Onderwerp van de herinnering").fill("Nog even: {onbekend}")
    page.get_by_role("button", name="Opslaan").click()
    page.get_by_role("heading", name="Niet opgeslagen: er is niets gewijzigd").wait_for()
    checked(page, f"settings-error-{size}")
    page.get_by_label("Onderwerp van de herinnering").fill("Nog tot {close_date}")
    page.get_by_label("Welzijn").fill("35")
    page.get_by_role("button", name="Opslaan").click()
    page.get_by_text("Opgeslagen:").wait_for()
    db.session.rollback()  # a fresh read: the live server wrote in its own thread
    assert find_campaign("klein").sectors[1].target == 35
