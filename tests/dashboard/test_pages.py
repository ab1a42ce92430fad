"""The coordinator's campaign list and overview."""

from datetime import UTC, datetime

import pytest

from campaign.contacts.services import save_key_figure
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD


def test_campaign_list_has_a_clear_empty_state(client, auth):
    auth.login()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "Nog geen campagnes" in page
    assert "flask campaign load" in page


#: Before the example campaign opens (28 June 2027): its state must not hang on today's date.
BEFORE_OPENING = datetime(2027, 1, 1, tzinfo=UTC)


def test_overview_shows_schedule_sectors_targets_and_key_figures(
    app, client, auth, example_campaign
):
    app.config["CLOCK"] = lambda: BEFORE_OPENING
    save_key_figure(
        example_campaign, name="An Peeters", email="an@example.org", sector_code="welzijn"
    )
    save_key_figure(
        example_campaign, name="Bo Claes", email="bo@example.org", sector_code="welzijn"
    )
    auth.login()
    listing = client.get("/dashboard/").get_data(as_text=True)
    assert "Eerste hulp bij digitale vragen" in listing
    assert "Nog niet open" in listing
    page = client.get(f"/dashboard/{example_campaign.slug}/").get_data(as_text=True)
    for text in (
        "Welzijn",
        "Onderwijs",
        "Inburgering en integratie",
        "28 juni 2027",
        "september 2027",
    ):
        assert text in page
    welzijn_row = page.split("Welzijn</td>")[1].split("</tr>")[0]
    assert '<td data-label="Sleutelfiguren" class="num">2</td>' in welzijn_row
    assert '<td data-label="Doel" class="num">120</td>' in welzijn_row


def test_unknown_campaign_is_a_dutch_404(client, auth):
    auth.login()
    response = client.get("/dashboard/bestaat-niet/")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)


def test_coordinator_logs_in_on_a_phone_without_horizontal_scrolling(
    live_server, phone_page, coordinator, example_campaign
):
    page = phone_page
    page.goto(f"{live_server}/dashboard/")
    assert "/login" in page.url
    page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.get_by_role("link", name="Eerste hulp bij digitale vragen").click()
    page.get_by_role("heading", name="Respons per sector").wait_for()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize(
    ("now", "label"),
    [
        (BEFORE_OPENING, "Nog niet open"),
        (datetime(2027, 7, 1, tzinfo=UTC), "Open"),
        (datetime(2027, 10, 1, tzinfo=UTC), "Afgesloten"),
    ],
)
def test_campaign_list_shows_the_state_of_the_pinned_clock(
    app, client, auth, example_campaign, now, label
):
    app.config["CLOCK"] = lambda: now
    auth.login()
    listing = client.get("/dashboard/").get_data(as_text=True)
    assert f'<span class="badge badge-{example_campaign.state(now)}">{label}</span>' in listing


def test_plotly_js_is_served_by_the_app_itself(client, auth):
    auth.login()
    reply = client.get("/dashboard/static/plotly.min.js")
    assert reply.status_code == 200
    assert reply.mimetype in ("text/javascript", "application/javascript")
    assert b"plotly.js" in reply.data[:2000]
    reply.close()
