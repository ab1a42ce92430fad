"""The targeted reminder's rule, its mail and its writes, on an injected clock.

Data is made through the services users call: ``load_campaign`` for the campaign,
``save_key_figure`` for key figures, ``start_response``/``save_page`` for respondents.
The other reminder tests import the campaign and the people from here.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from campaign import attribution
from campaign.contacts.services import save_key_figure, set_opted_out
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import close_campaign, find_campaign, load_campaign
from campaign.extensions import db
from campaign.mailing.render import MailError, fill_subject
from campaign.mailing.resend import resend_to_key_figure
from campaign.mailing.sender import send_queued
from campaign.models import Campaign, CampaignEvent, KeyFigure, Message, ReminderChoice
from campaign.schedule import reminder
from campaign.schedule.reminder import Why
from campaign.survey.services import save_page, start_response
from tests.survey.conftest import form

CAMPAIGN = """\
slug: herinnering
title: Bevraging met herinnering
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-07-01 00:00
  reminder_at: 2027-07-21 09:00
  closes_at: 2027-07-31 00:00
  reminder_threshold: THRESHOLD
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
  subjects:
    reminder: "Nog tot {close_date}: {name}, help je '{title}' vooruit?"
sectors:
  - {code: onderwijs, name: Onderwijs, target: 30}
  - {code: welzijn, name: Welzijn, target: 6}
  - {code: zorg, name: Zorg, target: 0}
questionnaire:
  pages:
    - id: profiel
      title: Over jou
      questions:
        - id: sector
          type: sector
          label: In welke sector werk je?
"""
#: Brussels is UTC+2 in summer: open from 30 June 22:00 UTC to 30 July 22:00 UTC.
OPENS = datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
#: A third of the open period: Onderwijs is expected at 10 by now, Welzijn at 2.
TEN_DAYS_IN = datetime(2027, 7, 10, 22, 0, tzinfo=UTC)
COORDINATOR = "coordinator@example.org"


def load(threshold: float = 1.0, slug: str = "herinnering") -> Campaign:
    text = CAMPAIGN.replace("THRESHOLD", str(threshold)).replace(
        "slug: herinnering", f"slug: {slug}"
    )
    return load_campaign(parse_campaign_text(text, "herinnering.yaml")).campaign


def person(campaign: Campaign, name: str, sector: str | None) -> KeyFigure:
    return save_key_figure(
        campaign,
        name=name,
        email=f"{name.lower()}@example.org",
        organisation=f"Organisatie van {name}",
        sector_code=sector,
    )


def respond(key_figure: KeyFigure, sector: str | None, finish: bool = True) -> None:
    """One respondent through the key figure's own link, answering ``sector``."""
    response = start_response(attribution.root_link(key_figure))
    if finish:
        outcome = save_page(response, 0, form({"sector": sector} if sector else {}))
        assert outcome.completion is not None, outcome


def make_people(campaign: Campaign) -> dict[str, KeyFigure]:
    """Onderwijs (target 30, 10 expected) at 2: behind.  Welzijn (target 6, 2 expected)
    at 3: on track.  Zorg has target 0.  Dirk has no sector; Eva opted out; Fien is
    excluded and Gert included by a coordinator; Hilde is chosen by the rule alone."""
    people = {
        name: person(campaign, name, sector)
        for name, sector in [
            ("An", "onderwijs"),
            ("Bo", "welzijn"),
            ("Cor", "zorg"),
            ("Dirk", None),
            ("Eva", "onderwijs"),
            ("Fien", "onderwijs"),
            ("Gert", "welzijn"),
            ("Hilde", "onderwijs"),
        ]
    }
    respond(people["An"], "onderwijs")
    respond(people["An"], "onderwijs")
    respond(people["An"], None, finish=False)
    for _ in range(3):
        respond(people["Bo"], "welzijn")
    set_opted_out(people["Eva"], True)
    reminder.set_choice(campaign, people["Fien"].id, False, actor=COORDINATOR)
    reminder.set_choice(campaign, people["Gert"].id, True, actor=COORDINATOR)
    return people


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load()


@pytest.fixture
def people(campaign: Campaign) -> dict[str, KeyFigure]:
    return make_people(campaign)


def plan_by_name(campaign: Campaign) -> dict[str, reminder.PlanEntry]:
    return {entry.key_figure.name: entry for entry in reminder.reminder_plan(campaign)}


def reminders_in_outbox(campaign: Campaign) -> list[Message]:
    query = select(Message).where(Message.campaign_id == campaign.id, Message.kind == "reminder")
    return list(db.session.scalars(query.order_by(Message.recipient_email)))


def events(campaign: Campaign, kind: str) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(
        CampaignEvent.campaign_id == campaign.id, CampaignEvent.kind == kind
    )
    return list(db.session.scalars(query.order_by(CampaignEvent.id)))


# --- the rule --------------------------------------------------------------------------------


def test_plan_chooses_key_figures_of_sectors_behind_target_and_says_why(campaign, people):
    plan = plan_by_name(campaign)
    assert {name: (entry.chosen, entry.reason) for name, entry in plan.items()} == {
        "An": (True, "sector Onderwijs staat op 2 van 10 verwacht tegen nu (20 %)"),
        "Bo": (False, "sector Welzijn op schema: 3 van 2 verwacht tegen nu"),
        "Cor": (False, "sector Zorg heeft geen streefcijfer"),
        "Dirk": (False, "geen sector"),
        "Eva": (False, "afgemeld"),
        "Fien": (False, f"uitgesloten door {COORDINATOR}"),
        "Gert": (True, f"toegevoegd door {COORDINATOR}"),
        "Hilde": (True, "sector Onderwijs staat op 2 van 10 verwacht tegen nu (20 %)"),
    }
    assert plan["An"].answers == attribution.Counts(started=3, completed=2)
    assert plan["Fien"].choice is False and plan["Gert"].choice is True
    assert plan["Hilde"].choice is None


def test_the_threshold_of_the_campaign_file_moves_the_line(app):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load(threshold=0.2)
    people = make_people(campaign)
    # 2 completed is not below 0.2 x 10 expected: Onderwijs is on track at this threshold.
    plan = plan_by_name(campaign)
    assert not plan["Hilde"].chosen and plan["Hilde"].why is Why.ON_TRACK
    respond(people["Bo"], "zorg")  # a sector's own answers count, not the key figure's
    assert plan_by_name(campaign)["Hilde"].why is Why.ON_TRACK


def test_nobody_is_behind_at_the_opening_and_the_expectation_grows_with_time(app, campaign):
    an = person(campaign, "An", "onderwijs")
    assert not reminder.reminder_plan(campaign, now=OPENS)[0].chosen
    later = datetime(2027, 7, 25, 22, 0, tzinfo=UTC)  # 25 of 30 days: 25 expected
    [entry] = reminder.reminder_plan(campaign, now=later)
    assert entry.key_figure.id == an.id and entry.chosen
    assert entry.reason == "sector Onderwijs staat op 0 van 25 verwacht tegen nu (0 %)"


def test_returning_a_key_figure_to_the_rule_removes_the_choice(campaign, people):
    reminder.set_choice(campaign, people["Fien"].id, None, actor=COORDINATOR)
    assert plan_by_name(campaign)["Fien"].chosen
    reminder.set_choice(campaign, people["Bo"].id, False, actor="iemand@example.org")
    assert plan_by_name(campaign)["Bo"].reason == "uitgesloten door iemand@example.org"
    choices = db.session.scalars(select(ReminderChoice.key_figure_id)).all()
    assert sorted(choices) == sorted([people["Gert"].id, people["Bo"].id])
    kinds = [e.kind for e in db.session.scalars(select(CampaignEvent).order_by(CampaignEvent.id))]
    assert kinds == [
        "reminder_excluded",
        "reminder_included",
        "reminder_rule",
        "reminder_excluded",
    ]
    [rule] = events(campaign, "reminder_rule")
    assert rule.actor == COORDINATOR and rule.details["key_figure_id"] == people["Fien"].id


def test_choices_are_refused_for_another_campaigns_or_an_opted_out_key_figure(campaign, people):
    other = load(slug="andere")
    stranger = person(other, "Zoe", "onderwijs")
    with pytest.raises(MailError, match="Kies een sleutelfiguur van deze campagne"):
        reminder.set_choice(campaign, stranger.id, True, actor=COORDINATOR)
    with pytest.raises(MailError, match="Eva heeft zich afgemeld"):
        reminder.set_choice(campaign, people["Eva"].id, True, actor=COORDINATOR)


def test_the_plan_costs_the_same_number_of_queries_for_many_key_figures(app, campaign):
    def statements() -> int:
        db.session.expunge_all()
        count = 0

        def counter(*_args: object) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            reminder.reminder_plan(find_campaign("herinnering"))
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return count

    for i in range(5):
        person(campaign, f"Een{i}", "onderwijs" if i % 2 else "welzijn")
    few = statements()
    for i in range(60):
        person(campaign, f"Veel{i}", ["onderwijs", "welzijn", None][i % 3])
    reminder.set_choice(campaign, db.session.scalars(select(KeyFigure.id)).first(), True, actor="x")
    assert statements() == few


# --- queueing ----------------------------------------------------------------------------


def test_queue_reminder_refuses_a_draft_or_closed_campaign(app, campaign, people):
    with pytest.raises(MailError, match="nog niet geopend .*1 juli 2027 om 00.00 u"):
        reminder.queue_reminder(campaign, now=datetime(2027, 6, 30, 8, 0, tzinfo=UTC), actor="x")
    close_campaign(campaign)
    with pytest.raises(MailError, match="De bevraging is afgesloten"):
        reminder.queue_reminder(campaign, actor="x")
    assert reminders_in_outbox(campaign) == []
    assert events(campaign, "reminder_sent") == []


def test_each_reminder_carries_its_own_figures_subject_and_close_date(campaign, people):
    result = reminder.queue_reminder(campaign, actor=COORDINATOR)
    assert (result.queued, result.already) == (3, 0)
    rows = {row.recipient_email: row for row in reminders_in_outbox(campaign)}
    assert sorted(rows) == ["an@example.org", "gert@example.org", "hilde@example.org"]
    an, gert = rows["an@example.org"], rows["gert@example.org"]
    assert an.subject == ("Nog tot 31 juli 2027: An, help je 'Bevraging met herinnering' vooruit?")
    assert gert.subject.startswith("Nog tot 31 juli 2027: Gert, help")
    assert "Via jouw link vulden al 2 collega's de vragenlijst in." in an.body_text
    assert "1 collega is eraan begonnen maar nog niet klaar." in an.body_text
    assert (
        "In de sector Onderwijs staan we op 2 van de 30 antwoorden die we hopen te krijgen: "
        "er zijn er nog 28 nodig. Op dit moment hadden we er ongeveer 10 verwacht."
    ) in an.body_text
    assert "loopt nog tot en met 31 juli 2027" in an.body_text
    assert "Via jouw link vulde nog niemand de vragenlijst in." in gert.body_text
    assert "In de sector Welzijn staan we op 3 van de 6" in gert.body_text
    assert "hadden we er ongeveer" not in gert.body_text  # Welzijn is ahead of its pace
    assert "<strong>2 collega's</strong>" in an.body_html
    assert "31 juli 2027" in an.body_html
    [sent] = events(campaign, "reminder_sent")
    assert sent.actor == COORDINATOR and sent.details == {"count": 3}


def test_the_close_date_in_the_reminder_is_the_one_in_the_database(app, campaign, people):
    close_campaign(campaign, now=datetime(2027, 7, 20, 10, 0, tzinfo=UTC))
    app.config["CLOCK"] = lambda: datetime(2027, 7, 15, 10, 0, tzinfo=UTC)
    reminder.queue_reminder(campaign, actor="x")
    row = reminders_in_outbox(campaign)[0]
    assert row.subject.startswith("Nog tot 20 juli 2027:")
    assert "loopt nog tot en met 20 juli 2027" in row.body_text


def test_the_reminder_reaches_the_smtp_server_once_with_its_own_figures(smtp_app, smtp_server):
    sink, _port = smtp_server
    smtp_app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load()
    make_people(campaign)
    reminder.queue_reminder(campaign, actor="x")
    assert send_queued(campaign.id).sent == 3
    again = reminder.queue_reminder(campaign, actor="x")
    assert (again.queued, again.already) == (0, 3)
    send_queued(campaign.id)
    by_address = {m["To"].addresses[0].addr_spec: m for m in sink.messages}
    assert sorted(by_address) == ["an@example.org", "gert@example.org", "hilde@example.org"]
    body = by_address["hilde@example.org"].get_body(("plain",)).get_content()
    assert "Via jouw link vulde nog niemand de vragenlijst in." in body
    assert "staan we op 2 van de 30" in body
    assert by_address["an@example.org"]["Subject"].startswith("Nog tot 31 juli 2027: An,")
    assert plan_by_name(campaign)["An"].reason == "heeft de herinnering al gekregen"


def test_twice_is_once_and_the_second_run_says_so(campaign, people):
    first = reminder.queue_reminder(campaign, actor="x")
    plan = plan_by_name(campaign)
    assert plan["An"].why is Why.ALREADY
    assert plan["An"].reason == "herinnering staat al in de wachtrij"
    second = reminder.queue_reminder(campaign, actor="x")
    assert (first.queued, second.queued, second.already) == (3, 0, 3)
    assert second.summary == "0 herinneringen in de wachtrij gezet (3 al eerder verstuurd)."
    assert first.summary == "3 herinneringen in de wachtrij gezet (0 al eerder verstuurd)."
    assert len(reminders_in_outbox(campaign)) == 3
    assert len(events(campaign, "reminder_sent")) == 1


def test_a_key_figure_added_later_is_not_reminded_twice_for_a_new_address(campaign, people):
    reminder.queue_reminder(campaign, actor="x")
    people["An"].email = "an.nieuw@example.org"
    db.session.commit()
    assert plan_by_name(campaign)["An"].why is Why.ALREADY
    assert reminder.queue_reminder(campaign, actor="x").queued == 0


def test_two_threads_at_once_queue_each_reminder_once(app, campaign, people):
    barrier = threading.Barrier(2)
    results: list[reminder.ReminderResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                mine = find_campaign("herinnering")
                barrier.wait(timeout=10)
                results.append(reminder.queue_reminder(mine, actor="draad"))
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(result.queued for result in results) == [0, 3]
    assert sorted(result.already for result in results) == [0, 3]
    db.session.expire_all()
    assert len(reminders_in_outbox(campaign)) == 3
    assert len(events(campaign, "reminder_sent")) == 1


# --- moving the date -------------------------------------------------------------------------


def test_move_reminder_takes_local_time_and_records_old_and_new(campaign):
    assert reminder.move_reminder(campaign, datetime(2027, 7, 24, 9, 30), actor=COORDINATOR)
    assert campaign.reminder_at == datetime(2027, 7, 24, 7, 30, tzinfo=UTC)  # summer time
    [moved] = events(campaign, "reminder_moved")
    assert moved.actor == COORDINATOR
    assert moved.details == {
        "old": "2027-07-21T07:00:00+00:00",
        "new": "2027-07-24T07:30:00+00:00",
    }
    assert not reminder.move_reminder(campaign, datetime(2027, 7, 24, 9, 30), actor=COORDINATOR)
    assert len(events(campaign, "reminder_moved")) == 1


@pytest.mark.parametrize(
    ("local", "message"),
    [
        (datetime(2027, 7, 5, 9, 0), "Kies een moment in de toekomst."),
        (datetime(2027, 7, 31, 0, 0), "Kies een moment vóór de sluiting van de bevraging"),
        (datetime(2027, 8, 15, 9, 0), "vóór de sluiting"),
    ],
)
def test_move_reminder_refuses_the_past_and_after_the_close(campaign, local, message):
    with pytest.raises(MailError, match=message):
        reminder.move_reminder(campaign, local, actor=COORDINATOR)
    assert campaign.reminder_at == datetime(2027, 7, 21, 7, 0, tzinfo=UTC)
    assert events(campaign, "reminder_moved") == []


def test_move_reminder_refuses_before_the_opening(app, campaign):
    app.config["CLOCK"] = lambda: datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(MailError, match="na de opening van de bevraging \\(1 juli 2027"):
        reminder.move_reminder(campaign, datetime(2027, 6, 15, 9, 0), actor=COORDINATOR)


def test_nothing_changes_once_the_reminder_went_out_or_the_survey_closed(campaign, people):
    reminder.queue_reminder(campaign, actor="x")
    with pytest.raises(MailError, match="al verstuurd"):
        reminder.move_reminder(campaign, datetime(2027, 7, 25, 9, 0), actor=COORDINATOR)
    with pytest.raises(MailError, match="al verstuurd"):
        reminder.set_choice(campaign, people["Bo"].id, True, actor=COORDINATOR)
    other = load(slug="gesloten")
    close_campaign(other)
    with pytest.raises(MailError, match="afgesloten"):
        reminder.move_reminder(other, datetime(2027, 7, 25, 9, 0), actor=COORDINATOR)


# --- subjects -------------------------------------------------------------------------------


def test_subject_placeholders_are_filled_once_and_other_braces_left_alone():
    context = {"campaign_title": "T {name}", "close_date": "15 september 2027", "name": "An"}
    assert fill_subject("{title} tot {close_date}, {name} {x}", context) == (
        "T {name} tot 15 september 2027, An {x}"
    )
    with pytest.raises(MailError, match="\\{organisation\\}"):
        fill_subject("Voor {organisation}", context)


def test_reminder_preview_shows_the_key_figures_real_figures(campaign, people):
    mail = reminder.reminder_preview(campaign, people["An"])
    assert mail.subject.startswith("Nog tot 31 juli 2027: An,")
    assert "Via jouw link vulden al 2 collega's" in mail.text
    assert reminders_in_outbox(campaign) == []
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


# --- sent again, and the mail page's preview ------------------------------------------------


def test_a_reminder_sent_again_is_a_new_round_with_the_figures_of_now(campaign, people):
    reminder.queue_reminder(campaign, actor=COORDINATOR)
    assert send_queued().sent == 3  # as .eml files: no MAIL_SERVER in the tests' config
    [first] = [m for m in reminders_in_outbox(campaign) if m.recipient_email == "an@example.org"]
    respond(people["An"], "onderwijs")  # a third answer came in since
    assert resend_to_key_figure(campaign, first.id) == 2
    [again] = [m for m in reminders_in_outbox(campaign) if m.round == 2]
    assert again.recipient_email == "an@example.org"
    assert "Via jouw link vulden al 3 collega's de vragenlijst in." in again.body_text
    assert "Via jouw link vulden al 2 collega's" in first.body_text


def test_the_mail_pages_reminder_preview_shows_the_key_figures_figures(
    campaign, people, client, auth
):
    auth.login()
    url = f"/dashboard/{campaign.slug}/mails/voorbeeld?soort=reminder&sleutelfiguur="
    page = client.get(url + str(people["An"].id)).get_data(as_text=True)
    assert "Via jouw link vulden al 2 collega&#39;s de vragenlijst in." in page


def test_a_reminder_time_that_summer_time_skips_is_refused(campaign):
    with pytest.raises(reminder.ReminderError, match="02.30 u bestaat niet op 26 maart 2028"):
        reminder.move_reminder(campaign, datetime(2028, 3, 26, 2, 30), actor=COORDINATOR)
