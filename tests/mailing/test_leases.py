"""Claims with leases: a live claim is never taken over, an expired one is, and a sender
whose claim was taken over cannot overwrite the new holder's outcome."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from campaign.extensions import db
from campaign.mailing.sender import (
    claim_batch,
    count_due,
    record,
    run_sender,
    send_queued,
)
from campaign.mailing.services import queue_invitations
from campaign.models import Message, MessageStatus

T0 = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=120)


def rows() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def test_a_live_claim_is_never_taken_over(example_campaign, add_key_figures):
    add_key_figures(3)
    queue_invitations(example_campaign)
    first = claim_batch("a", T0, LEASE, 2)
    assert len(first) == 2
    just_before_expiry = T0 + LEASE - timedelta(microseconds=1)
    second = claim_batch("b", just_before_expiry, LEASE, 10)
    assert [row.id for row in second] == [rows()[2].id]  # only the unclaimed one
    assert claim_batch("c", T0 + LEASE, LEASE, 10) == []  # the lease ends after, not at
    assert [(m.status, m.claimed_by) for m in rows()] == [
        (MessageStatus.SENDING, "a"),
        (MessageStatus.SENDING, "a"),
        (MessageStatus.SENDING, "b"),
    ]


def test_an_expired_claim_is_taken_over_and_counts_an_attempt(example_campaign, add_key_figures):
    add_key_figures(1)
    queue_invitations(example_campaign)
    claim_batch("killed", T0, LEASE, 20)
    later = T0 + LEASE + timedelta(seconds=1)
    assert count_due(now=later) == 1
    [taken] = claim_batch("next", later, LEASE, 20)
    [message] = rows()
    assert (message.claimed_by, message.attempts) == ("next", 2)
    assert message.lease_until == later + LEASE
    assert taken.attempts == 1  # as read, before this claim


def test_a_sender_whose_claim_was_taken_over_cannot_record_its_outcome(
    example_campaign, add_key_figures
):
    add_key_figures(1)
    queue_invitations(example_campaign)
    [old] = claim_batch("slow", T0, LEASE, 20)
    [new] = claim_batch("fresh", T0 + 2 * LEASE, LEASE, 20)
    assert not record("slow", old, final=True, status="failed", last_error="te laat")
    [message] = rows()
    assert (message.status, message.claimed_by, message.last_error) == ("sending", "fresh", None)
    assert record("fresh", new, final=True, status="sent", sent_at=T0 + 2 * LEASE)
    assert rows()[0].status == MessageStatus.SENT


def test_a_deferred_message_is_not_due_before_its_retry(
    app, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(1)
    app.config.update(MAIL_RETRY_BASE_SECONDS=600.0)
    sink.refuse = lambda _envelope: "451 4.3.0 Later"
    queue_invitations(example_campaign)
    report = send_queued(now=lambda: T0)
    assert (report.sent, report.deferred) == (0, 1)
    [message] = rows()
    assert (message.status, message.claimed_by, message.lease_until) == ("queued", None, None)
    # 600 s doubled from the first attempt, plus up to half of it at random
    assert T0 + timedelta(seconds=600) <= message.next_attempt_at <= T0 + timedelta(seconds=900)
    assert count_due(now=T0 + timedelta(seconds=599)) == 0
    assert count_due(now=T0 + timedelta(seconds=901)) == 1


def test_run_sender_sends_what_is_due_and_stops_when_asked(
    smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(3)
    queue_invitations(example_campaign)
    stop = threading.Event()
    reports = []

    def after_pass(report):
        reports.append(report)
        stop.set()

    run_sender(stop=stop, on_report=after_pass)
    assert [r.sent for r in reports] == [3]
    assert len(sink.messages) == 3
    assert {m.status for m in rows()} == {MessageStatus.SENT}
