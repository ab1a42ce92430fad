"""Answers cannot be joined to draw entries: not by a column, not by order, not by time,
not by a log line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from campaign.extensions import db
from campaign.models import DrawEntry, DrawTicket, Link, Response
from campaign.survey import services
from campaign.survey.draw import enter_draw, hash_ticket
from tests.survey.conftest import EXAMPLE_FORMS, form, next_address, start_survey

#: Enough rows that a random order matching the completion order is out of the question
#: (1 in 24!), while the suite stays fast.
RESPONDENTS = 24


def complete_over_http(client: FlaskClient, code: str) -> str:
    """One respondent's full run through the pages; the thank-you page's HTML."""
    url = start_survey(client, code)
    for data in EXAMPLE_FORMS:
        url = next_address(client.post(url, data=form(data)))
    return client.get(url).text


def test_a_full_completion_and_draw_entry_log_no_identifier(app, key_link, caplog):
    caplog.set_level(logging.DEBUG, logger="campaign")
    client = app.test_client()
    page = complete_over_http(client, key_link.code)
    ticket = page.split('name="ticket" value="')[1].split('"')[0]
    entered = client.post(
        f"/s/{key_link.code}/wedstrijd",
        data={"ticket": ticket, "email": "An.Peeters@Example.org", "consent": "ja"},
        follow_redirects=True,
    )
    assert "Je doet mee aan de wedstrijd" in entered.text
    response_id = db.session.scalar(select(Response.id))
    receipt = db.session.scalar(select(DrawEntry.receipt))
    forward_code = db.session.scalar(select(Link.code).where(Link.parent_id.is_not(None)))
    assert forward_code and forward_code in page

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "response" in logged  # the run was logged ...
    for secret in (response_id, ticket, receipt, "an.peeters", "An.Peeters", forward_code):
        assert secret not in logged  # ... without anything that identifies the respondent


def respond_and_enter(key_link: Link, number: int, moment: datetime) -> tuple[str, str]:
    """A respondent who completes at ``moment`` and enters the draw; (ticket hash, receipt)."""
    response = services.start_response(key_link, now=moment - timedelta(minutes=20))
    outcome = None
    for index, data in enumerate(EXAMPLE_FORMS):
        outcome = services.save_page(response, index, form(data), now=moment)
    assert outcome is not None and outcome.completion is not None
    entry = enter_draw(
        key_link.campaign,
        outcome.completion.ticket,
        f"deelnemer{number}@example.org",
        True,
        now=moment + timedelta(seconds=30),
    )
    return hash_ticket(outcome.completion.ticket), entry.receipt


@pytest.fixture
def made_in_order(key_link: Link) -> tuple[list[str], list[str]]:
    """RESPONDENTS completions a minute apart, each entering the draw right after: their
    ticket hashes and receipts, in completion order."""
    start = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    made = [
        respond_and_enter(key_link, number, start + timedelta(minutes=number))
        for number in range(RESPONDENTS)
    ]
    db.session.remove()
    return [ticket for ticket, _receipt in made], [receipt for _ticket, receipt in made]


@pytest.fixture
def entered_in_order(made_in_order: tuple[list[str], list[str]]) -> list[str]:
    return made_in_order[1]


def test_entries_and_tickets_by_key_say_nothing_of_the_order_of_completions(made_in_order):
    tickets, receipts = made_in_order
    by_key = list(db.session.scalars(select(DrawEntry.receipt).order_by(DrawEntry.id)))
    assert sorted(by_key) == sorted(receipts)
    assert by_key not in (receipts, receipts[::-1])
    # Tickets are made in the completion's own transaction: their keys are random too.
    hashes = list(db.session.scalars(select(DrawTicket.ticket_hash).order_by(DrawTicket.id)))
    assert sorted(hashes) == sorted(tickets)
    assert hashes not in (tickets, tickets[::-1])


@pytest.mark.sqlite_only
def test_stored_order_of_entries_says_nothing_on_sqlite(entered_in_order):
    """On SQLite a table's rows are stored (and read without ORDER BY) in key order.
    (PostgreSQL keeps rows in arrival order: see the note on ``models.DrawEntry``.)"""
    # All columns, so SQLite reads the table itself (not the receipts' index, in receipt order).
    stored = [row.receipt for row in db.session.execute(text("SELECT * FROM draw_entries"))]
    assert sorted(stored) == sorted(entered_in_order)
    assert stored != entered_in_order


def test_entries_and_forward_links_keep_the_day_not_the_time(entered_in_order):
    for created in db.session.scalars(select(DrawEntry.created_at)):
        assert created == datetime(2027, 7, 1, tzinfo=UTC) or created.time() == datetime.min.time()
    completed = set(db.session.scalars(select(Response.completed_at)))
    forwards = list(db.session.scalars(select(Link).where(Link.parent_id.is_not(None))))
    assert len(forwards) == RESPONDENTS
    for link in forwards:
        assert link.created_at.time() == datetime.min.time()
        assert link.created_at not in completed
