"""The retry schedule with its defaults, the connection rule, and mail after the close."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaign.extensions import db
from campaign.mailing.render import MailError, campaign_context
from campaign.mailing.retries import (
    nominal_retry_delay,
    retries_span,
    retry_delay,
    should_give_up,
)
from campaign.mailing.sender import CLOSED_REASON, send_queued
from campaign.mailing.services import Recipient, queue_invitations, queue_messages
from campaign.mailing.settings import DEFAULTS
from campaign.models import Message, MessageStatus
from tests.conftest import free_port

T0 = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
HOUR = 3600.0


@pytest.fixture
def defaults(app):
    """The shipped retry settings (tests/mailing/conftest.py makes retries instant)."""
    for name in DEFAULTS:
        app.config.pop(name, None)
    return app


def test_retries_start_minutes_apart_and_double_up_to_two_hours(defaults):
    assert [nominal_retry_delay(n) for n in range(1, 9)] == [
        300,
        600,
        1200,
        2400,
        4800,
        7200,
        7200,
        7200,
    ]
    # a greylisting of 5 to 15 minutes is passed by the second or third try
    assert retries_span(2) == 300 and retries_span(3) == 900
    rng = random.Random(7)
    for attempts in range(1, 30):
        delay = retry_delay(attempts, rng)
        assert nominal_retry_delay(attempts) <= delay <= nominal_retry_delay(attempts) * 1.25


def test_a_mail_is_given_up_only_after_48_hours(defaults):
    assert not should_give_up(5, T0, T0 + timedelta(hours=2.6))
    assert not should_give_up(26, T0, T0 + timedelta(hours=47.9))
    assert should_give_up(26, T0, T0 + timedelta(hours=48))


def test_a_mail_queued_while_the_server_was_down_still_gets_its_retries(defaults):
    """Queued three days ago, first tried now (the server was unreachable meanwhile)."""
    queued = T0 - timedelta(days=3)
    assert not should_give_up(1, queued, T0)
    assert not should_give_up(10, queued, T0 + timedelta(hours=12))
    assert should_give_up(24, queued, T0 + timedelta(hours=40))


def test_the_attempt_cap_still_works_when_set(defaults, app):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    assert should_give_up(3, T0, T0)
    assert not should_give_up(2, T0, T0)


def test_an_unreachable_server_costs_no_attempt_and_no_long_sleep(
    defaults, app, example_campaign, add_key_figures
):
    add_key_figures(2)
    queue_invitations(example_campaign)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens
    slept: list[float] = []
    report = send_queued(sleep=slept.append)
    assert report.server_error and report.deferred == 2
    assert slept == [2.0, 4.0]  # the connection is tried again seconds apart, not minutes
    db.session.expire_all()
    assert {(m.status, m.attempts) for m in db.session.scalars(select(Message))} == {
        (MessageStatus.QUEUED.value, 0)
    }


def test_nothing_due_means_no_connection_and_no_error(app):
    app.config.update(MAIL_PORT=free_port())  # nobody listens: connecting would fail
    report = send_queued()
    assert report.server_error is None and report.ok


def winner_recipient(campaign) -> Recipient:
    shared = campaign_context(campaign)
    return Recipient(
        email="winnaar@example.org", context={**shared, "name": "W", "prize": "een box"}
    )


def test_after_the_close_queued_invitations_are_cancelled_and_winner_mails_still_go(
    app, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(2)
    queue_invitations(example_campaign)
    queue_messages(example_campaign, "winner", [winner_recipient(example_campaign)])
    after_close = example_campaign.closes_at + timedelta(minutes=1)
    app.config["CLOCK"] = lambda: after_close
    report = send_queued()
    assert (report.sent, report.cancelled) == (1, 2)
    assert [str(m["To"]) for m in sink.messages] == ["winnaar@example.org"]
    db.session.expire_all()
    invitations = db.session.scalars(select(Message).where(Message.kind == "invitation")).all()
    assert {(m.status, m.last_error) for m in invitations} == {
        (MessageStatus.CANCELLED.value, CLOSED_REASON)
    }


def test_no_invitations_are_queued_after_the_close(app, example_campaign, add_key_figures):
    add_key_figures(1)
    with pytest.raises(MailError, match="De bevraging is afgesloten"):
        queue_invitations(example_campaign, now=example_campaign.closes_at)
    assert db.session.scalar(select(Message.id)) is None
