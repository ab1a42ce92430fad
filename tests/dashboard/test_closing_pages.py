"""The "Sluiting" card on the campaign overview: close now (with its confirm step), move
the close, reopen, and the history; bad input changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from campaign.definitions.services import close_now, find_campaign, move_close
from campaign.extensions import db
from campaign.models import Campaign, CampaignEvent, Response
from tests.conftest import COORDINATOR_EMAIL

BEFORE_OPENING = datetime(2027, 1, 1, tzinfo=UTC)
JULY = datetime(2027, 7, 10, 12, 0, tzinfo=UTC)
AFTER_CLOSE = datetime(2027, 9, 20, 12, 0, tzinfo=UTC)
PLANNED_CLOSE = datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
OVERVIEW = "/dashboard/eerste-hulp-digitale-vragen/"
CONFIRM = "/dashboard/eerste-hulp-digitale-vragen/afsluiten"
MOVE = "/dashboard/eerste-hulp-digitale-vragen/sluitdatum"


@pytest.fixture
def logged_in(app, client, auth, example_campaign):
    app.config["CLOCK"] = lambda: JULY
    auth.login()
    return client


def stored() -> Campaign:
    db.session.rollback()
    db.session.expire_all()
    campaign = find_campaign("eerste-hulp-digitale-vragen")
    assert campaign is not None
    return campaign


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CampaignEvent))


def text_of(html: str) -> str:
    """The page's text: tags and runs of white space folded away, entities decoded."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_overview_shows_the_close_and_its_actions(logged_in):
    page = text_of(logged_in.get(OVERVIEW).get_data(as_text=True))
    assert "Sluiting" in page
    assert "De bevraging sluit op 15 september 2027 om 23.59 u" in page
    assert "60 minuten om af te ronden" in page
    assert "Nu afsluiten" in page and "Sluitdatum wijzigen" in page
    assert "Nog geen wijzigingen" in page


def test_the_form_starts_from_the_close_in_local_time(logged_in):
    html = logged_in.get(OVERVIEW).get_data(as_text=True)
    assert 'name="datum" type="date"' in html and 'value="2027-09-15"' in html
    assert 'name="uur" type="time"' in html and 'value="23:59"' in html


def test_the_confirm_step_states_the_consequences(logged_in, example_campaign):
    db.session.add(Response(campaign_id=example_campaign.id))  # one in progress
    db.session.commit()
    page = text_of(logged_in.get(CONFIRM).get_data(as_text=True))
    assert "De bevraging nu afsluiten?" in page
    assert "Nieuwe respondenten worden geweigerd" in page
    # JULY is 14.00 u in Brussels; the grace period of 60 minutes runs until 15.00 u.
    assert (
        "Wie al begonnen is, krijgt nog 60 minuten om af te ronden, tot 10 juli 2027 om 15.00 u"
        in page
    )
    assert "Er is nu 1 begonnen antwoord dat nog niet afgerond is." in page
    assert "Ja, nu afsluiten" in page
    assert stored().closed_at is None  # looking is not closing


def test_closing_from_the_dashboard(logged_in):
    response = logged_in.post(CONFIRM, follow_redirects=True)
    page = text_of(response.get_data(as_text=True))
    assert "De bevraging is afgesloten op 10 juli 2027 om 14.00 u" in page
    assert "kan nog afronden tot 10 juli 2027 om 15.00 u" in page
    campaign = stored()
    assert campaign.closed_at == JULY and campaign.state(JULY) == "closed"
    assert f"10 juli 2027 om 14.00 u Afgesloten {COORDINATOR_EMAIL}" in page
    assert "15 september 2027 om 23.59 u → 10 juli 2027 om 14.00 u" in page
    # closed: no "Nu afsluiten" any more, but reopening is offered
    assert "Nu afsluiten …" not in page and "Heropenen met een nieuwe sluitdatum" in page
    again = text_of(logged_in.post(CONFIRM, follow_redirects=True).get_data(as_text=True))
    assert "was al afgesloten" in again
    assert event_count() == 1


def test_extending_from_the_dashboard(logged_in):
    response = logged_in.post(MOVE, data={"datum": "2027-09-30", "uur": "23:59"})
    assert response.status_code == 302
    page = text_of(logged_in.get(OVERVIEW).get_data(as_text=True))
    assert (
        "De sluitdatum is verplaatst van 15 september 2027 om 23.59 u naar "
        "30 september 2027 om 23.59 u." in page
    )
    assert stored().closes_at == datetime(2027, 9, 30, 21, 59, tzinfo=UTC)
    assert "Sluitdatum gewijzigd" in page and COORDINATOR_EMAIL in page
    assert "15 september 2027 om 23.59 u → 30 september 2027 om 23.59 u" in page


def test_a_close_after_results_due_is_saved_with_a_warning(logged_in):
    page = text_of(
        logged_in.post(
            MOVE, data={"datum": "2027-10-08", "uur": "12:00"}, follow_redirects=True
        ).get_data(as_text=True)
    )
    assert "verplaatst" in page and "Let op" in page and "4 oktober 2027" in page


def test_reopening_from_the_dashboard(app, logged_in, example_campaign):
    close_now(example_campaign, actor="bo@example.org", now=datetime(2027, 7, 1, tzinfo=UTC))
    page = text_of(
        logged_in.post(
            MOVE, data={"datum": "2027-09-15", "uur": "23:59"}, follow_redirects=True
        ).get_data(as_text=True)
    )
    assert "De bevraging is heropend en sluit nu op 15 september 2027 om 23.59 u" in page
    assert "ze was afgesloten sinds 1 juli 2027 om 02.00 u" in page
    assert stored().state(JULY) == "open"
    assert "Heropend" in page and "bo@example.org" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"datum": "", "uur": "23:59"}, "Vul een datum in."),
        ({"datum": "2027-09-30", "uur": ""}, "Vul een uur in."),
        ({"uur": "23:59"}, "Vul een datum in."),
        ({"datum": "volgende week", "uur": "23:59"}, "is geen datum"),
        ({"datum": "2027-02-30", "uur": "23:59"}, "is geen datum"),
        ({"datum": "2027-09-30", "uur": "9 uur 's avonds"}, "is geen uur"),
        ({"datum": "2027-07-01", "uur": "12:00"}, "De nieuwe sluitdatum ligt in het verleden"),
        ({"datum": "2027-09-15", "uur": "23:59"}, "sluit al op 15 september 2027"),
        ({"datum": "2028-03-26", "uur": "02:30"}, "02.30 u bestaat niet op 26 maart 2028"),
    ],
)
def test_bad_input_gives_a_clear_message_and_changes_nothing(logged_in, data, message):
    response = logged_in.post(MOVE, data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in text_of(html)
    assert 'class="field-error"' in html and 'role="alert"' in html
    # what was typed stays in the form
    if data.get("datum"):
        assert f'value="{data["datum"]}"' in html
    campaign = stored()
    assert campaign.closes_at == PLANNED_CLOSE and campaign.closed_at is None
    assert event_count() == 0


def test_a_close_before_the_opening_is_refused(app, client, auth, example_campaign):
    app.config["CLOCK"] = lambda: BEFORE_OPENING
    auth.login()
    response = client.post(MOVE, data={"datum": "2027-06-01", "uur": "12:00"})
    assert response.status_code == 400
    assert "De sluitdatum moet na de opening liggen" in response.get_data(as_text=True)
    assert stored().closes_at == PLANNED_CLOSE
    # and before the opening there is nothing to close yet
    page = text_of(client.get(OVERVIEW).get_data(as_text=True))
    assert "opent op 28 juni 2027 om 09.00 u" in page and "Nu afsluiten …" not in page
    refused = text_of(client.post(CONFIRM, follow_redirects=True).get_data(as_text=True))
    assert "nog niet open" in refused
    assert stored().closed_at is None and event_count() == 0


def test_the_history_names_the_file_and_the_command_line(app, logged_in, example_campaign):
    move_close(
        example_campaign,
        datetime(2027, 9, 22, 21, 59, tzinfo=UTC),
        actor="campagnebestand",
        now=JULY,
    )
    close_now(example_campaign, actor="opdrachtregel", now=JULY)
    page = text_of(logged_in.get(OVERVIEW).get_data(as_text=True))
    assert "het campagnebestand" in page
    assert "opdrachtregel (flask campaign close)" in page


def test_the_close_pages_need_a_login(client, example_campaign):
    for response in (
        client.get(CONFIRM),
        client.post(CONFIRM),
        client.post(MOVE, data={"datum": "2027-09-30", "uur": "23:59"}),
    ):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert stored().closes_at == PLANNED_CLOSE and stored().closed_at is None


def test_posts_without_a_csrf_token_are_refused(app, logged_in):
    app.config["WTF_CSRF_ENABLED"] = True
    assert logged_in.post(CONFIRM).status_code == 400
    assert logged_in.post(MOVE, data={"datum": "2027-09-30", "uur": "23:59"}).status_code == 400
    campaign = stored()
    assert campaign.closes_at == PLANNED_CLOSE and campaign.closed_at is None
