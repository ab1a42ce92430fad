"""The everyday settings on a form: the campaign file's rules, recorded, and kept
(for dates) across a reload of an unchanged file."""

from __future__ import annotations

import html as html_module
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.definitions.services import find_campaign, load_campaign_file
from campaign.definitions.settings import current_values, save_settings
from campaign.extensions import db
from campaign.history import record_event
from campaign.models import Campaign, CampaignEvent
from tests.conftest import COORDINATOR_EMAIL
from tests.definitions.test_upload import SMALL, text_of

JUNE = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
JULY = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)
URL = "/dashboard/klein/instellingen"


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "klein.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture
def campaign(app, file: Path) -> Campaign:
    app.config["CLOCK"] = lambda: JUNE
    return load_campaign_file(file).campaign


def reloaded() -> Campaign:
    db.session.expire_all()
    return find_campaign("klein")


def events(campaign: Campaign) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign.id)
    return list(db.session.scalars(query.order_by(CampaignEvent.id)))


def post(client, campaign: Campaign, **changes: str):
    values = {**current_values(campaign), **changes}
    return client.post(URL, data=values)


def test_the_form_shows_the_current_settings(client, auth, campaign):
    auth.login()
    html = client.get(URL).get_data(as_text=True)
    assert 'name="opens_at" type="datetime-local" value="2027-06-28T09:00"' in html
    assert 'name="target_welzijn" type="number" value="30"' in html
    assert 'value="Help je mee met {title}?"' in html


def test_saving_changes_every_setting_and_records_who_and_what(client, auth, campaign):
    auth.login()
    reply = post(
        client,
        campaign,
        target_onderwijs="70",
        subject_reminder="Nog tot {close_date}!",
        sender_name="Het team",
        reply_to="antwoord@example.org",
        intro="Welkom.\r\nNieuwe tekst.",
        opens_at="2027-06-29T10:00",
        reminder_at="2027-08-31T09:00",
    )
    assert reply.status_code == 302
    stored = reloaded()
    assert [s.target for s in stored.sectors] == [70, 30]
    assert stored.mail_settings == {
        "sender_name": "Het team",
        "sender_email": "team@example.org",
        "reply_to": "antwoord@example.org",
        "subjects": {
            "invitation": "Help je mee met {title}?",
            "reminder": "Nog tot {close_date}!",
        },
    }
    assert stored.intro == "Welkom.\nNieuwe tekst."
    assert stored.opens_at == datetime(2027, 6, 29, 8, 0, tzinfo=UTC)
    assert stored.reminder_at == datetime(2027, 8, 31, 7, 0, tzinfo=UTC)
    kinds = [(e.kind, e.actor) for e in events(stored)]
    assert kinds == [("reminder_moved", COORDINATOR_EMAIL), ("settings_changed", COORDINATOR_EMAIL)]
    changes = events(stored)[-1].details["changes"]
    assert "Doel van Onderwijs: 50 → 70." in changes
    assert "Opening: 28 juni 2027 om 09.00 u → 29 juni 2027 om 10.00 u." in changes
    assert "Onderwerp van de herinnering gewijzigd." in changes
    page = text_of(client.get(reply.headers["Location"]))
    assert "Opgeslagen: Welkomsttekst gewijzigd." in page


def test_dates_set_on_the_form_survive_a_reload_of_the_unchanged_file(client, auth, campaign, file):
    auth.login()
    post(client, campaign, reminder_at="2027-09-01T09:00", target_welzijn="35")
    result = load_campaign_file(file)
    stored = reloaded()
    assert stored.reminder_at == datetime(2027, 9, 1, 7, 0, tzinfo=UTC)
    assert any("herinnering blijft" in change for change in result.changes)
    # a target has no record of what the file said: the file's value counts again
    assert [s.target for s in stored.sectors] == [50, 30]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"subject_invitation": "Hallo {voornaam}"},
            "subject_invitation",
            "Onbekende plaatshouder {voornaam} in het onderwerp",
        ),
        ({"target_welzijn": "-4"}, "target_welzijn", "Moet minstens 0 zijn."),
        ({"target_welzijn": ""}, "target_welzijn", "Moet een geheel getal zijn."),
        ({"sender_email": "geen-adres"}, "sender_email", "Is geen geldig e-mailadres"),
        (
            {"reminder_at": "2027-09-20T09:00"},
            "reminder_at",
            "De herinnering moet tussen de opening en de sluiting liggen.",
        ),
        ({"closes_at": ""}, "closes_at", "Vul een datum en uur in."),
        ({"title": "  "}, "title", "Mag niet leeg zijn."),
        (
            {"purge_at": "2027-09-01T09:00"},
            "purge_at",
            "De wissen van de wedstrijdgegevens moet na de sluiting komen.",
        ),
    ],
)
def test_the_file_rules_refuse_a_bad_value_and_nothing_changes(
    client, auth, campaign, changes, field, message
):
    auth.login()
    reply = post(client, campaign, target_onderwijs="99", **changes)
    assert reply.status_code == 400
    html = reply.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in html
    assert message in text_of(reply)
    assert "?:" not in text_of(reply)
    assert reloaded().sectors[0].target == 50
    assert events(reloaded()) == []


def test_a_close_in_the_past_is_refused_as_on_the_closing_card(client, auth, campaign, app):
    app.config["CLOCK"] = lambda: JULY
    auth.login()
    reply = post(client, campaign, closes_at="2027-06-30T12:00", reminder_at="")
    assert reply.status_code == 400
    assert "De nieuwe sluitdatum ligt in het verleden" in text_of(reply)
    assert reloaded().reminder_at is not None


def test_an_open_survey_cannot_open_again_later(client, auth, campaign, app):
    app.config["CLOCK"] = lambda: JULY
    auth.login()
    reply = post(client, campaign, opens_at="2027-07-05T09:00")
    assert reply.status_code == 400
    assert "De bevraging is al geopend" in text_of(reply)


def test_a_reminder_that_went_out_cannot_move(client, auth, campaign, app):
    app.config["CLOCK"] = lambda: JULY
    record_event(campaign, "reminder_sent", actor=COORDINATOR_EMAIL)
    db.session.commit()
    auth.login()
    reply = post(client, campaign, reminder_at="2027-09-01T09:00")
    assert reply.status_code == 400
    assert "De herinnering is al verstuurd" in text_of(reply)


def test_moving_the_close_on_the_form_is_recorded_as_a_close_move(client, auth, campaign):
    auth.login()
    post(client, campaign, closes_at="2027-09-29T23:59")
    stored = reloaded()
    assert stored.closes_at == datetime(2027, 9, 29, 21, 59, tzinfo=UTC)
    [moved, saved] = events(stored)
    assert moved.kind == "close_moved"
    assert moved.details["new"] == "2027-09-29T21:59:00+00:00"
    assert saved.kind == "settings_changed"


def test_saving_keeps_what_a_colleague_changed_meanwhile_in_another_field(client, auth, campaign):
    auth.login()
    html = client.get(URL).get_data(as_text=True)
    shown = html_module.unescape(re.search(r'name="shown" value="([^"]*)"', html).group(1))
    form_values = json.loads(shown)
    # a colleague saves another target while this form is open
    colleague = {**current_values(campaign), "target_welzijn": "44"}
    save_settings(campaign, colleague, actor="collega@example.org")
    reply = client.post(URL, data={**form_values, "subject_winner": "Proficiat!", "shown": shown})
    assert reply.status_code == 302
    stored = reloaded()
    assert [s.target for s in stored.sectors] == [50, 44]  # not undone by the stale form
    assert stored.mail_settings["subjects"]["winner"] == "Proficiat!"
    [_colleagues, mine] = [e for e in events(stored) if e.kind == "settings_changed"]
    assert mine.details["changes"] == ["Onderwerp van de winnaarsmail gewijzigd."]
