"""The reminder page and ``flask mail remind``: what they show, and what their buttons do."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask

from campaign.definitions.services import close_campaign
from campaign.models import Campaign, KeyFigure
from campaign.schedule import reminder
from tests.schedule.test_reminder_rule import (
    TEN_DAYS_IN,
    events,
    load,
    make_people,
    reminders_in_outbox,
)

URL = "/dashboard/herinnering/herinnering/"


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load()


@pytest.fixture
def people(campaign: Campaign) -> dict[str, KeyFigure]:
    return make_people(campaign)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the page ---------------------------------------------------------------------------


def test_the_page_needs_a_login(client, campaign):
    assert client.get(URL).status_code == 302


def test_the_page_shows_date_sectors_who_gets_it_and_why_and_a_preview(
    client, auth, campaign, people
):
    auth.login()
    html = client.get(URL).get_data(as_text=True)
    page = text_of(html)
    assert "Gepland 21 juli 2027 om 09.00 u" in page
    assert 'value="2027-07-21"' in html and 'value="09:00"' in html
    assert "Onderwijs 2 10 30 loopt achter" in page
    assert "Welzijn 3 2 6 op schema" in page
    assert "Krijgen de herinnering (3)" in page
    assert "Krijgen de herinnering niet (5)" in page
    assert "sector Onderwijs staat op 2 van 10 verwacht tegen nu (20 %)" in page
    assert "uitgesloten door coordinator@example.org" in page
    assert "Nu versturen (3)" in page
    # The preview is the first chosen key figure's mail, with An's own figures.
    assert "Via jouw link vulden al 2 collega&#39;s de vragenlijst in." in html
    hilde = client.get(f"{URL}?sleutelfiguur={people['Hilde'].id}").get_data(as_text=True)
    assert "Via jouw link vulde nog niemand de vragenlijst in." in hilde
    assert "Herinnering" in text_of(client.get("/dashboard/herinnering/mails/").get_data(True))


def test_the_mail_pages_reminder_preview_still_renders_without_figures(
    client, auth, campaign, people
):
    auth.login()
    reply = client.get(
        f"/dashboard/herinnering/mails/voorbeeld?soort=reminder&sleutelfiguur={people['An'].id}"
    )
    assert reply.status_code == 200
    assert "Nog tot 31 juli 2027: An, help je" in reply.get_data(as_text=True)


def test_moving_the_date_from_the_page(client, auth, campaign, people):
    auth.login()
    reply = client.post(
        f"{URL}datum", data={"datum": "24-07-2027", "tijd": "14.15"}, follow_redirects=True
    )
    assert "De herinnering is verplaatst naar 24 juli 2027 om 14.15 u." in text_of(
        reply.get_data(as_text=True)
    )
    assert campaign.reminder_at == datetime(2027, 7, 24, 12, 15, tzinfo=UTC)
    [moved] = events(campaign, "reminder_moved")
    assert moved.actor == "coordinator@example.org"
    wrong = client.post(f"{URL}datum", data={"datum": "24/07", "tijd": ""}, follow_redirects=True)
    assert "is geen datum; schrijf bijvoorbeeld 30/09/2027." in wrong.get_data(as_text=True)
    past = client.post(
        f"{URL}datum", data={"datum": "2027-07-01", "tijd": "9:00"}, follow_redirects=True
    )
    assert "Kies een moment in de toekomst." in past.get_data(as_text=True)


def test_excluding_and_including_from_the_page(client, auth, campaign, people):
    auth.login()
    hilde, bo = people["Hilde"], people["Bo"]
    reply = client.post(
        f"{URL}sleutelfiguren/{hilde.id}", data={"keuze": "uitsluiten"}, follow_redirects=True
    )
    assert "Hilde krijgt de herinnering niet." in reply.get_data(as_text=True)
    client.post(f"{URL}sleutelfiguren/{bo.id}", data={"keuze": "opnemen"})
    plan = {e.key_figure.name: e for e in reminder.reminder_plan(campaign)}
    assert not plan["Hilde"].chosen and plan["Bo"].chosen
    assert plan["Bo"].reason == "toegevoegd door coordinator@example.org"
    client.post(f"{URL}sleutelfiguren/{hilde.id}", data={"keuze": "regel"})
    assert {e.key_figure.name for e in reminder.reminder_plan(campaign) if e.chosen} == {
        "An",
        "Bo",
        "Gert",
        "Hilde",
    }


def test_send_now_queues_once_and_the_page_then_says_when_and_to_how_many(
    client, auth, campaign, people
):
    auth.login()
    reply = client.post(f"{URL}versturen", follow_redirects=True)
    page = text_of(reply.get_data(as_text=True))
    assert "3 herinneringen in de wachtrij gezet (0 al eerder verstuurd)." in page
    assert (
        "Op 11 juli 2027 om 00.00 u ging de herinnering naar 3 sleutelfiguren; ze worden op de "
        "achtergrond verstuurd."
    ) in page
    assert "Was gepland 21 juli 2027 om 09.00 u" in page
    assert "Nu versturen" not in page and "Verplaatsen" not in page
    assert "Uitsluiten" not in page and "Toch opnemen" not in page
    assert "herinnering staat al in de wachtrij" in page
    client.post(f"{URL}versturen")
    assert len(reminders_in_outbox(campaign)) == 3


def test_a_closed_campaign_disables_the_buttons_with_the_reason(client, auth, campaign, people):
    close_campaign(campaign)
    auth.login()
    html = client.get(URL).get_data(as_text=True)
    assert "De bevraging is afgesloten: de herinnering kan niet meer wijzigen." in html
    assert re.search(r"<button[^>]*disabled[^>]*>Nu versturen", html)
    assert re.search(r'<button[^>]*value="uitsluiten"[^>]*disabled', html)
    reply = client.post(f"{URL}versturen", follow_redirects=True)
    assert "De bevraging is afgesloten: de herinnering kan niet meer wijzigen." in reply.get_data(
        as_text=True
    )
    assert reminders_in_outbox(campaign) == []


def test_a_draft_campaign_can_be_planned_but_not_sent(app, client, auth, campaign, people):
    app.config["CLOCK"] = lambda: datetime(2027, 6, 20, 9, 0, tzinfo=UTC)
    auth.login()
    html = client.get(URL).get_data(as_text=True)
    assert "De bevraging is nog niet geopend (ze opent op 1 juli 2027 om 00.00 u)" in html
    assert re.search(r"<button[^>]*disabled[^>]*>Nu versturen", html)
    assert not re.search(r"<button[^>]*disabled[^>]*>Verplaatsen", html)


def test_a_campaign_without_key_figures_says_so(client, auth, campaign):
    auth.login()
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "Nog geen sleutelfiguren" in page


# --- flask mail remind ------------------------------------------------------------------


def test_remind_dry_run_prints_who_and_why_and_queues_nothing(runner, campaign, people):
    result = runner.invoke(args=["mail", "remind", "herinnering", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Herinnering voor 3 sleutelfiguren:" in result.output
    assert (
        "  an@example.org (An): sector Onderwijs staat op 2 van 10 verwacht tegen nu (20 %)"
        in result.output
    )
    assert "  gert@example.org (Gert): toegevoegd door coordinator@example.org" in result.output
    assert (
        "Geen herinnering voor 5 sleutelfiguren: 1 sector op schema, 1 sector zonder "
        "streefcijfer, 1 geen sector, 1 uitgesloten door een coördinator, 1 afgemeld."
    ) in result.output
    assert "Proefdraai: er werd niets in de wachtrij gezet." in result.output
    assert reminders_in_outbox(campaign) == []


def test_remind_sends_once_and_a_second_run_sends_nothing(smtp_app, smtp_server, make_app):
    sink, _port = smtp_server
    smtp_app.config["CLOCK"] = lambda: TEN_DAYS_IN
    make_people(load())
    runner = smtp_app.test_cli_runner()
    first = runner.invoke(args=["mail", "remind", "herinnering"])
    assert first.exit_code == 0, first.output
    assert "3 herinneringen in de wachtrij gezet (0 al eerder verstuurd)." in first.output
    assert "3 verstuurd, 0 mislukt" in first.output
    second = runner.invoke(args=["mail", "remind", "herinnering"])
    assert second.exit_code == 0, second.output
    assert "Geen enkele sleutelfiguur krijgt de herinnering." in second.output
    assert "3 kregen de herinnering al" in second.output
    assert "0 herinneringen in de wachtrij gezet (3 al eerder verstuurd)." in second.output
    assert len(sink.messages) == 3


def test_remind_refuses_a_closed_campaign_and_an_unknown_one(runner, campaign, people):
    close_campaign(campaign)
    result = runner.invoke(args=["mail", "remind", "herinnering"])
    assert result.exit_code == 1
    assert "De bevraging is afgesloten: er gaat geen herinnering meer uit." in result.output
    dry = runner.invoke(args=["mail", "remind", "herinnering", "--dry-run"])
    assert dry.exit_code == 0 and "Let op: De bevraging is afgesloten" in dry.output
    unknown = runner.invoke(args=["mail", "remind", "bestaat-niet"])
    assert unknown.exit_code == 1 and "Geen campagne met slug 'bestaat-niet'" in unknown.output
