"""The schedule in the campaign file: its new settings, subject placeholders, and reloads
that keep what coordinators changed on the dashboard unless the file itself changed it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.definitions.loader import DefinitionError, parse_campaign_text
from campaign.definitions.services import find_campaign, load_campaign_file, move_close
from campaign.extensions import db
from campaign.mailing.render import SUBJECT_PLACEHOLDERS
from campaign.models import Campaign, CampaignEvent
from campaign.schedule.services import set_invite_at_open
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.definitions.test_campaign_file import TWO_SECTORS, problems_of, write

JULY = datetime(2027, 7, 10, 12, 0, tzinfo=UTC)
FILE_CLOSE = datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
EXTENDED = datetime(2027, 9, 30, 21, 59, tzinfo=UTC)


def with_schedule(extra: str, text: str = TWO_SECTORS) -> str:
    """TWO_SECTORS with more lines under ``schedule:``."""
    return text.replace(
        "  closes_at: 2027-09-15 23:59\n", f"  closes_at: 2027-09-15 23:59\n{extra}"
    )


def reloaded(path: Path) -> tuple[Campaign, list[str]]:
    result = load_campaign_file(path)
    db.session.expire_all()
    return result.campaign, result.changes


def events(campaign: Campaign) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign.id)
    return list(db.session.scalars(query.order_by(CampaignEvent.id)))


# --- the settings ----------------------------------------------------------------------


def test_the_example_file_invites_at_opening_and_fills_in_the_close_date(example_campaign):
    assert example_campaign.invite_at_open is True
    assert example_campaign.reminder_threshold == 1.0
    assert example_campaign.purge_at is None
    subject = example_campaign.mail_settings["subjects"]["reminder"]
    assert subject.startswith("Nog tot {close_date}:")


def test_schedule_settings_are_stored(app, tmp_path):
    text = with_schedule(
        "  results_due: 2027-10-04\n"
        "  purge_at: 2027-12-15 09:00\n"
        "  invite_at_open: true\n"
        "  reminder_threshold: 0.9\n"
    )
    campaign = load_campaign_file(write(tmp_path, text)).campaign
    assert campaign.invite_at_open is True
    assert campaign.reminder_threshold == 0.9
    # 15 December: winter time (+01:00)
    assert campaign.purge_at == datetime(2027, 12, 15, 8, 0, tzinfo=UTC)


def test_schedule_settings_have_defaults(app, tmp_path):
    campaign = load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign
    assert (campaign.invite_at_open, campaign.reminder_threshold, campaign.purge_at) == (
        False,
        1.0,
        None,
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  reminder_threshold: 0\n", "schedule.reminder_threshold: moet een aandeel groter dan 0"),
        ("  reminder_threshold: 2.5\n", "hoogstens 2"),
        ("  reminder_threshold: veel\n", "schedule.reminder_threshold: moet een getal zijn"),
        ("  invite_at_open: misschien\n", "schedule.invite_at_open: moet true of false zijn"),
        ("  purge_at: 2027-09-01 09:00\n", "purge_at moet na closes_at komen"),
        (
            "  results_due: 2027-10-04\n  purge_at: 2027-10-01 09:00\n",
            "purge_at moet na results_due komen",
        ),
    ],
)
def test_bad_schedule_settings_get_a_dutch_message(extra, expected):
    assert any(expected in problem for problem in problems_of(with_schedule(extra)))


def test_a_time_in_the_spring_forward_hour_is_refused():
    text = TWO_SECTORS.replace("opens_at: 2027-06-28 09:00", "opens_at: 2027-03-28 02:30")
    [problem] = problems_of(text)
    assert "schedule.opens_at: 02.30 u bestaat niet op 28 maart 2027" in problem


def test_an_unknown_subject_placeholder_is_refused_naming_the_allowed_ones():
    text = TWO_SECTORS.replace(
        "  sender_email: team@example.org\n",
        "  sender_email: team@example.org\n  subjects:\n    reminder: 'Nog tot {sluitdatum}!'\n",
    )
    [problem] = problems_of(text)
    assert "onderwerp van reminder: onbekende plaatshouder {sluitdatum}" in problem
    for name in SUBJECT_PLACEHOLDERS:
        assert f"{{{name}}}" in problem


def test_known_subject_placeholders_are_accepted():
    placeholders = " ".join(f"{{{name}}}" for name in SUBJECT_PLACEHOLDERS)
    text = TWO_SECTORS.replace(
        "  sender_email: team@example.org\n",
        f"  sender_email: team@example.org\n  subjects:\n    reminder: '{placeholders}'\n",
    )
    assert parse_campaign_text(text).mail.subjects["reminder"] == placeholders


# --- reloading keeps dashboard changes --------------------------------------------------------


def test_first_load_records_what_the_file_said(app, tmp_path):
    campaign = load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign
    assert campaign.file_schedule == {
        "opens_at": "2027-06-28T07:00:00+00:00",
        "reminder_at": None,
        "closes_at": "2027-09-15T21:59:00+00:00",
        "results_due": None,
        "purge_at": None,
        "invite_at_open": False,
        "reminder_threshold": 1.0,
    }


def test_reloading_an_unchanged_file_keeps_a_close_extended_on_the_dashboard(app, tmp_path):
    path = write(tmp_path, TWO_SECTORS)
    campaign = load_campaign_file(path).campaign
    move_close(campaign, EXTENDED, actor="an@example.org", now=JULY)
    campaign, changes = reloaded(path)
    assert campaign.closes_at == EXTENDED
    assert changes == [
        "sluitdatum blijft 30 september 2027 om 23.59 u (op het dashboard gewijzigd; "
        "het bestand zegt 15 september 2027 om 23.59 u)"
    ]
    assert [e.kind for e in events(campaign)] == ["close_moved"]  # only the dashboard's


def test_a_date_changed_in_the_file_wins_and_is_reported(app, tmp_path):
    path = write(tmp_path, TWO_SECTORS)
    campaign = load_campaign_file(path).campaign
    move_close(campaign, EXTENDED, actor="an@example.org", now=JULY)
    path.write_text(TWO_SECTORS.replace("2027-09-15 23:59", "2027-09-22 23:59"), "utf-8")
    campaign, changes = reloaded(path)
    new = datetime(2027, 9, 22, 21, 59, tzinfo=UTC)
    assert campaign.closes_at == new
    assert (
        "sluitdatum verplaatst van 30 september 2027 om 23.59 u naar 22 september 2027 om 23.59 u"
        in changes
    )
    moved = events(campaign)[-1]
    assert (moved.kind, moved.actor) == ("close_moved", "campagnebestand")
    assert moved.details == {"old": EXTENDED.isoformat(), "new": new.isoformat()}
    assert campaign.file_schedule["closes_at"] == new.isoformat()


def test_a_reminder_moved_in_the_file_is_recorded(app, tmp_path):
    path = write(tmp_path, with_schedule("  reminder_at: 2027-08-30 09:00\n"))
    load_campaign_file(path)
    path.write_text(with_schedule("  reminder_at: 2027-08-23 09:00\n"), "utf-8")
    campaign, changes = reloaded(path)
    assert (
        "herinnering verplaatst van 30 augustus 2027 om 09.00 u naar 23 augustus 2027 om 09.00 u"
        in changes
    )
    [event] = events(campaign)
    assert (event.kind, event.actor) == ("reminder_moved", "campagnebestand")


def test_reloading_keeps_invitations_switched_on_the_planning_page(app, tmp_path):
    path = write(tmp_path, TWO_SECTORS)
    campaign = load_campaign_file(path).campaign
    set_invite_at_open(campaign, True, actor="an@example.org")
    campaign, _changes = reloaded(path)
    assert campaign.invite_at_open is True
    path.write_text(with_schedule("  invite_at_open: false\n  reminder_threshold: 0.8\n"), "utf-8")
    campaign, changes = reloaded(path)
    # invite_at_open: the file said false and still does, so the dashboard's choice stays.
    assert campaign.invite_at_open is True
    assert campaign.reminder_threshold == 0.8
    assert "drempel voor de herinnering gewijzigd van 1,0 naar 0,8" in changes


def test_a_reload_that_does_not_fit_the_kept_close_is_refused(app, tmp_path):
    path = write(tmp_path, TWO_SECTORS)
    campaign = load_campaign_file(path).campaign
    shortened = datetime(2027, 9, 1, 21, 59, tzinfo=UTC)
    move_close(campaign, shortened, actor="an@example.org", now=JULY)
    path.write_text(with_schedule("  reminder_at: 2027-09-08 09:00\n"), "utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_campaign_file(path)
    [problem] = caught.value.problems
    assert "reminder_at (8 september 2027 om 09.00 u) moet tussen" in problem.message
    assert "1 september 2027 om 23.59 u" in problem.message
    db.session.expire_all()
    campaign = find_campaign("kleine-bevraging")
    assert campaign.reminder_at is None and campaign.closes_at == shortened
    assert campaign.file_schedule["reminder_at"] is None


def test_a_file_that_moves_the_close_of_a_closed_survey_keeps_it_closed(app, tmp_path):
    from campaign.definitions.services import close_now

    path = write(tmp_path, TWO_SECTORS)
    campaign = load_campaign_file(path).campaign
    close_now(campaign, actor="an@example.org", now=JULY)
    path.write_text(TWO_SECTORS.replace("2027-09-15 23:59", "2027-09-22 23:59"), "utf-8")
    campaign, changes = reloaded(path)
    assert campaign.state(JULY) == "closed"
    assert any("blijft afgesloten" in change for change in changes)


def test_the_shipped_example_reloads_without_changes(app, example_campaign):
    result = load_campaign_file(EXAMPLE_CAMPAIGN)
    assert result.changes == []
