"""A coordinator uploads a key-figure CSV on a phone, in Debian's headless chromium."""

from __future__ import annotations

import pytest

from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.contacts.helpers import count_key_figures, csv_bytes

pytestmark = pytest.mark.browser


def test_upload_on_a_phone_shows_problems_then_imports_with_skip(
    live_server, phone_page, coordinator, example_campaign, tmp_path
):
    path = tmp_path / "sleutelfiguren.csv"
    path.write_bytes(
        csv_bytes(
            "Naam;E-mail;Organisatie;Sector",
            "Joëlle Vanhoutte;joelle@example.org;CLB;onderwijs",
            "Fout Adres;geen-adres;CLB;onderwijs",
            encoding="cp1252",
        )
    )
    page = phone_page
    page.goto(f"{live_server}/dashboard/{example_campaign.slug}/sleutelfiguren/")
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.get_by_role("heading", name="Nog geen sleutelfiguren").wait_for()
    page.get_by_role("link", name="CSV importeren").first.click()

    page.get_by_label("CSV-bestand").set_input_files(str(path))
    page.get_by_role("button", name="Importeren").click()
    page.get_by_role("heading", name="Niet geïmporteerd").wait_for()
    problem_row = page.locator(".problems-table tbody tr").first
    assert problem_row.inner_text().split()[:1] == ["3"]
    assert "Ongeldig e-mailadres: 'geen-adres'." in problem_row.inner_text()
    assert count_key_figures(example_campaign) == 0

    page.get_by_label("CSV-bestand").set_input_files(str(path))
    page.get_by_label("Ongeldige regels overslaan").check()
    page.get_by_role("button", name="Importeren").click()
    page.get_by_role("heading", name="Import klaar").wait_for()
    assert "1 nieuwe sleutelfiguur" in page.locator(".report .summary").inner_text()
    page.wait_for_load_state()  # the stylesheet too: an unstyled table is wider
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name="Bekijk de sleutelfiguren").click()
    page.get_by_role("link", name="Joëlle Vanhoutte", exact=True).wait_for()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
