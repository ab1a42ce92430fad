"""Closing now, extending, shortening and reopening: the rules with a pinned clock, the
local times across summer time, and ``flask campaign close``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaign.definitions.localtime import LocalTimeError, local_to_utc, parse_local
from campaign.definitions.services import (
    CloseError,
    close_now,
    find_campaign,
    move_close,
    move_close_local,
)
from campaign.extensions import db
from campaign.history import record_event
from campaign.models import Campaign, CampaignEvent, Draw

#: The example campaign: opens 28 June 2027 09:00, reminder 30 August 09:00, closes
#: 15 September 23:59 (Brussels, summer time: 21:59 UTC), results due 4 October.
BEFORE_OPENING = datetime(2027, 1, 1, tzinfo=UTC)
JULY = datetime(2027, 7, 10, 12, 0, tzinfo=UTC)
SEPTEMBER = datetime(2027, 9, 5, 12, 0, tzinfo=UTC)
PLANNED_CLOSE = datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
AFTER_CLOSE = datetime(2027, 9, 20, 12, 0, tzinfo=UTC)
COORDINATOR = "an@example.org"


def events(campaign: Campaign) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign.id)
    return list(db.session.scalars(query.order_by(CampaignEvent.id)))


def fresh(campaign: Campaign) -> Campaign:
    """The campaign as the database has it (nothing cached from before)."""
    db.session.rollback()
    db.session.expire_all()
    found = find_campaign(campaign.slug)
    assert found is not None
    return found


# --- close_now ---------------------------------------------------------------------------


def test_close_now_closes_and_records_who_when_and_the_planned_close(app, example_campaign):
    assert close_now(example_campaign, actor=COORDINATOR, now=JULY) is True
    campaign = fresh(example_campaign)
    assert campaign.closed_at == JULY
    assert campaign.state(JULY) == "closed"
    assert campaign.effective_close == JULY
    [event] = events(campaign)
    assert (event.kind, event.actor, event.happened_at) == ("closed", COORDINATOR, JULY)
    assert event.details == {"old": PLANNED_CLOSE.isoformat(), "new": JULY.isoformat()}


def test_close_now_twice_closes_once(app, example_campaign):
    assert close_now(example_campaign, actor=COORDINATOR, now=JULY)
    later = JULY + timedelta(hours=1)
    assert close_now(example_campaign, actor="bo@example.org", now=later) is False
    campaign = fresh(example_campaign)
    assert campaign.closed_at == JULY
    assert len(events(campaign)) == 1


def test_close_now_after_the_planned_close_changes_nothing(app, example_campaign):
    assert close_now(example_campaign, actor=COORDINATOR, now=AFTER_CLOSE) is False
    assert fresh(example_campaign).closed_at is None
    assert events(example_campaign) == []


def test_close_now_before_the_opening_is_refused(app, example_campaign):
    with pytest.raises(CloseError, match="nog niet open .*28 juni 2027 om 09.00 u"):
        close_now(example_campaign, actor=COORDINATOR, now=BEFORE_OPENING)
    campaign = fresh(example_campaign)
    assert campaign.closed_at is None and campaign.state(BEFORE_OPENING) == "draft"
    assert events(campaign) == []


def test_the_state_follows_the_clock_without_any_job(app, example_campaign):
    # Nobody ran a close job: the planned time alone closes the survey.
    assert example_campaign.state(PLANNED_CLOSE - timedelta(seconds=1)) == "open"
    assert example_campaign.state(PLANNED_CLOSE) == "closed"


# --- move_close ----------------------------------------------------------------------------


def test_extending_moves_the_close_and_records_old_and_new(app, example_campaign):
    new = datetime(2027, 9, 30, 21, 59, tzinfo=UTC)
    moved = move_close(example_campaign, new, actor=COORDINATOR, now=SEPTEMBER)
    assert (moved.old, moved.new, moved.reopened, moved.warnings) == (
        PLANNED_CLOSE,
        new,
        False,
        [],
    )
    campaign = fresh(example_campaign)
    assert campaign.closes_at == new
    assert campaign.state(new - timedelta(minutes=1)) == "open"
    [event] = events(campaign)
    assert (event.kind, event.actor, event.happened_at) == ("close_moved", COORDINATOR, SEPTEMBER)
    assert event.details == {"old": PLANNED_CLOSE.isoformat(), "new": new.isoformat()}


def test_shortening_closes_earlier(app, example_campaign):
    new = datetime(2027, 9, 10, 21, 59, tzinfo=UTC)
    move_close(example_campaign, new, actor=COORDINATOR, now=SEPTEMBER)
    campaign = fresh(example_campaign)
    assert campaign.state(new) == "closed"
    assert campaign.state(new - timedelta(seconds=1)) == "open"


@pytest.mark.parametrize(
    ("now", "new", "message"),
    [
        (SEPTEMBER, SEPTEMBER - timedelta(minutes=1), "in het verleden.*Nu afsluiten"),
        (SEPTEMBER, SEPTEMBER, "in het verleden"),
        (BEFORE_OPENING, datetime(2027, 6, 1, tzinfo=UTC), "na de opening .*28 juni 2027"),
        (SEPTEMBER, PLANNED_CLOSE, "sluit al op 15 september 2027 om 23.59 u"),
    ],
)
def test_a_close_that_cannot_be_is_refused_and_nothing_changes(
    app, example_campaign, now, new, message
):
    with pytest.raises(CloseError, match=message):
        move_close(example_campaign, new, actor=COORDINATOR, now=now)
    campaign = fresh(example_campaign)
    assert campaign.closes_at == PLANNED_CLOSE and campaign.closed_at is None
    assert events(campaign) == []


def test_the_close_stays_after_a_reminder_still_to_be_sent(app, example_campaign):
    before_reminder = datetime(2027, 8, 25, 12, 0, tzinfo=UTC)
    with pytest.raises(CloseError, match="herinnering staat gepland op 30 augustus 2027"):
        move_close(
            example_campaign,
            datetime(2027, 8, 29, 21, 59, tzinfo=UTC),
            actor=COORDINATOR,
            now=JULY,
        )
    assert fresh(example_campaign).closes_at == PLANNED_CLOSE
    # Once the reminder went out ("send now" records it), an earlier close is fine.
    campaign = fresh(example_campaign)
    record_event(campaign, "reminder_sent", actor=COORDINATOR, now=JULY, count=3)
    db.session.commit()
    move_close(campaign, before_reminder, actor=COORDINATOR, now=JULY)
    assert fresh(example_campaign).closes_at == before_reminder


def test_extending_an_early_closed_survey_reopens_it(app, example_campaign):
    close_now(example_campaign, actor=COORDINATOR, now=JULY)
    later = JULY + timedelta(days=1)
    moved = move_close(example_campaign, PLANNED_CLOSE, actor="bo@example.org", now=later)
    assert moved.reopened and moved.old == JULY and moved.new == PLANNED_CLOSE
    campaign = fresh(example_campaign)
    assert campaign.closed_at is None
    assert campaign.state(later) == "open"
    kinds = [(e.kind, e.actor) for e in events(campaign)]
    assert kinds == [("closed", COORDINATOR), ("reopened", "bo@example.org")]
    assert events(campaign)[1].details == {
        "old": JULY.isoformat(),
        "new": PLANNED_CLOSE.isoformat(),
    }


def test_extending_after_the_close_time_reopens(app, example_campaign):
    new = datetime(2027, 9, 27, 21, 59, tzinfo=UTC)
    moved = move_close(example_campaign, new, actor=COORDINATOR, now=AFTER_CLOSE)
    assert moved.reopened
    assert fresh(example_campaign).state(AFTER_CLOSE) == "open"
    assert [e.kind for e in events(example_campaign)] == ["reopened"]


def test_no_reopening_once_the_draw_was_made(app, example_campaign):
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == example_campaign.id))
    draw.performed_at = AFTER_CLOSE  # the draw row is made with the campaign (its seed)
    db.session.commit()
    with pytest.raises(CloseError, match="trekking .* al gebeurd"):
        move_close(
            example_campaign,
            datetime(2027, 9, 27, tzinfo=UTC),
            actor=COORDINATOR,
            now=AFTER_CLOSE,
        )
    assert fresh(example_campaign).state(AFTER_CLOSE) == "closed"


def test_a_close_after_results_due_is_allowed_with_a_warning(app, example_campaign):
    moved = move_close(
        example_campaign,
        datetime(2027, 10, 10, 21, 59, tzinfo=UTC),
        actor=COORDINATOR,
        now=SEPTEMBER,
    )
    [warning] = moved.warnings
    assert "na de datum waarop de resultaten klaar moeten zijn (4 oktober 2027)" in warning


def test_the_close_stays_before_the_purge_of_draw_entries(app, example_campaign):
    example_campaign.purge_at = datetime(2027, 12, 1, tzinfo=UTC)
    db.session.commit()
    with pytest.raises(CloseError, match="vóór het wissen van de wedstrijdgegevens"):
        move_close(
            example_campaign,
            datetime(2027, 12, 2, tzinfo=UTC),
            actor=COORDINATOR,
            now=SEPTEMBER,
        )
    assert fresh(example_campaign).closes_at == PLANNED_CLOSE


# --- local times, summer time included ----------------------------------------------------


def test_summer_time_close_converts_with_the_offset_of_that_date():
    # 15 September: summer time (+02:00), even when typed in winter.
    converted = parse_local("2027-09-15", "23:59", "Europe/Brussels")
    assert converted.utc == datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
    assert not converted.ambiguous
    assert parse_local("15/11/2027", "23.59", "Europe/Brussels").utc == datetime(
        2027, 11, 15, 22, 59, tzinfo=UTC
    )


def test_the_hour_that_happens_twice_is_taken_the_second_time():
    # 31 October 2027, 03:00 summer time becomes 02:00 winter time: 02:30 happens twice
    # (00:30 and 01:30 UTC).  The later one: the survey is open under either reading.
    converted = local_to_utc(datetime(2027, 10, 31, 2, 30), "Europe/Brussels")
    assert converted.utc == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert converted.ambiguous


def test_the_hour_that_does_not_exist_is_refused():
    # 28 March 2027: the clock jumps from 02:00 to 03:00.
    with pytest.raises(LocalTimeError, match="02.30 u bestaat niet op 28 maart 2027"):
        local_to_utc(datetime(2027, 3, 28, 2, 30), "Europe/Brussels")


@pytest.mark.parametrize(
    ("date_text", "time_text", "message"),
    [
        ("", "23:59", "Vul een datum in"),
        ("2027-09-31", "23:59", "geen datum"),
        ("morgen", "23:59", "geen datum"),
        ("2027-09-30", "", "Vul een uur in"),
        ("2027-09-30", "25:00", "geen uur"),
    ],
)
def test_unreadable_input_gets_a_dutch_message(date_text, time_text, message):
    with pytest.raises(LocalTimeError, match=message):
        parse_local(date_text, time_text, "Europe/Brussels")


def test_moving_the_close_into_the_doubled_hour_says_which_one(app, example_campaign):
    moved = move_close_local(
        example_campaign, "2027-10-31", "02:30", actor=COORDINATOR, now=SEPTEMBER
    )
    assert moved.new == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert any("twee keer" in warning and "wintertijd" in warning for warning in moved.warnings)


# --- flask campaign close -----------------------------------------------------------------


def test_close_command_closes_once_as_the_command_line(app, runner, example_campaign):
    app.config["CLOCK"] = lambda: JULY
    first = runner.invoke(args=["campaign", "close", example_campaign.slug])
    assert first.exit_code == 0, first.output
    assert "afgesloten op 10 juli 2027 om 14.00 u" in first.output
    assert fresh(example_campaign).state(JULY) == "closed"
    second = runner.invoke(args=["campaign", "close", example_campaign.slug])
    assert second.exit_code == 0 and "was al afgesloten" in second.output
    [event] = events(example_campaign)
    assert (event.kind, event.actor) == ("closed", "opdrachtregel")


def test_close_command_before_the_opening_fails_clearly(app, runner, example_campaign):
    app.config["CLOCK"] = lambda: BEFORE_OPENING
    result = runner.invoke(args=["campaign", "close", example_campaign.slug])
    assert result.exit_code == 1
    assert "nog niet open" in result.output
    assert fresh(example_campaign).closed_at is None
