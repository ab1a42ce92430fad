"""The outbox against a real SMTP server on loopback: queue once, send once, keep going."""

from __future__ import annotations

from sqlalchemy import select

from campaign.contacts.services import save_key_figure, set_opted_out
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations
from campaign.models import Message, MessageStatus


def statuses() -> dict[str, str]:
    return {m.recipient_email: m.status for m in db.session.scalars(select(Message))}


def test_invitations_reach_every_key_figure_once(smtp_server, example_campaign, add_key_figures):
    sink, _port = smtp_server
    add_key_figures(5)
    result = queue_invitations(example_campaign)
    report = send_queued()
    assert (result.queued, report.sent, report.ok) == (5, 5, True)
    assert sorted(str(m["To"]) for m in sink.messages) == sorted(
        f"Persoon {i} <persoon{i}@example.org>" for i in range(5)
    )
    again = queue_invitations(example_campaign)
    assert (again.queued, again.already) == (0, 5)
    assert send_queued().sent == 0
    assert len(sink.messages) == 5
