"""The Export tab in a real browser, at 1280 and 360 px: the buttons download files."""

from __future__ import annotations

import pytest

from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.results import test_export as base

#: Fixtures shared with the export tests.
campaign = base.campaign
link = base.link

SLUG = "eerste-hulp-digitale-vragen"


def log_in(page, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", COORDINATOR_EMAIL)
    page.fill("input[name=password]", COORDINATOR_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.browser
@pytest.mark.sqlite_only
@pytest.mark.parametrize("which", ["desktop_page", "phone_page"])
def test_export_page_downloads_in_a_browser(
    request, live_server, coordinator, link, which, tmp_path
):
    base.respond(link)
    base.respond(link, pages=2)
    page = request.getfixturevalue(which)
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} {message.location}") if message.type == "error" else None
        ),
    )
    page.on("response", lambda reply: errors.append(reply.url) if reply.status >= 400 else None)
    log_in(page, live_server)
    page.goto(f"{live_server}/dashboard/{SLUG}/export/")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Export"
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # nothing sticks out sideways
    page.screenshot(path=str(tmp_path / f"export-{which}.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").first.click()
    assert download.value.suggested_filename.startswith(f"{SLUG}-antwoorden-")
    assert download.value.suggested_filename.endswith(".xlsx")
    with page.expect_download() as download:
        page.get_by_role("link", name="Codeboek (CSV)").click()
    assert download.value.suggested_filename.startswith(f"{SLUG}-codeboek-")
    # the base layout declares no icon, so the browser asks for /favicon.ico by itself
    assert [error for error in errors if "favicon.ico" not in error] == []
