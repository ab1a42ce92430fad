"""The outbox against a real SMTP server on loopback: queue once, send once, keep going."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from campaign.contacts.services import save_key_figure, set_opted_out
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations
from campaign.models import Link, Message, MessageStatus
from tests.conftest import free_port


def messages_by_recipient() -> dict[str, Message]:
    db.session.expire_all()
    return {m.recipient_email: m for m in db.session.scalars(select(Message))}


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content()


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


def test_invitation_is_personalised_and_encoded(smtp_server, example_campaign):
    sink, _port = smtp_server
    kf = save_key_figure(
        example_campaign, name="Joëlle Vanhoutte-Éléonore 🎉", email="joelle@example.org"
    )
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    [mail] = sink.messages
    code = db.session.scalar(select(Link.code).where(Link.key_figure_id == kf.id))
    stored = messages_by_recipient()["joelle@example.org"]
    assert mail["To"].addresses[0].display_name == "Joëlle Vanhoutte-Éléonore 🎉"
    assert str(mail["From"]) == "Digiwijzer West-Vlaanderen <digiwijzer@example.org>"
    assert str(mail["Reply-To"]) == "digiwijzer@example.org"
    assert mail["Subject"].startswith("Help je mee?")
    assert mail["Message-ID"] == stored.message_id
    text, html = body(mail, "plain"), body(mail, "html")
    for part in (text, html):
        assert "Beste Joëlle," in part  # the greeting uses the first name
        assert f"http://campagne.example.org/s/{code}" in part
        assert "http://campagne.example.org/k/" in part
        assert "http://campagne.example.org/u/" in part
        assert "20 minuten" in part
        assert "15 september 2027" in part
        assert "twee prijzen: een hartige box met West-Vlaamse streekproducten" in part
        assert "POM West-Vlaanderen, Huis van het Leren en Sterk Sociaal Werk" in part
    assert "Beste collega," in text  # the ready-to-forward paragraph
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://campagne.example.org/u/") and unsubscribe.endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_line_breaks_in_names_cannot_inject_headers(smtp_server, example_campaign):
    sink, _port = smtp_server
    save_key_figure(
        example_campaign,
        name="Eve\r\nBcc: victim@example.org\r\nX-Evil: 1",
        email="eve@example.org",
        organisation="Org\nSubject: spam",
    )
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    [mail] = sink.messages
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert mail.get_all("Subject") == [mail["Subject"]]
    assert mail["To"].addresses[0].addr_spec == "eve@example.org"
    assert "\n" not in mail["To"].addresses[0].display_name


def test_opted_out_key_figures_get_no_mail(smtp_server, example_campaign, add_key_figures):
    sink, _port = smtp_server
    before, after, stays = add_key_figures(3)
    set_opted_out(before, True)
    result = queue_invitations(example_campaign)
    assert (result.queued, result.opted_out) == (2, 1)
    set_opted_out(after, True)  # opted out between queueing and sending
    report = send_queued()
    assert (report.sent, report.cancelled) == (1, 1)
    assert [m["To"].addresses[0].addr_spec for m in sink.messages] == [stays.email]
    cancelled = messages_by_recipient()[after.email]
    assert cancelled.status == MessageStatus.CANCELLED
    assert "afgemeld" in cancelled.last_error


def test_permanent_failure_keeps_the_server_reason_and_the_rest_goes_out(
    smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(4)
    refused = "persoon1@example.org"
    sink.refuse = lambda envelope: (
        "550 5.1.1 Mailbox bestaat niet" if refused in envelope.rcpt_tos else None
    )
    queue_invitations(example_campaign)
    report = send_queued()
    assert (report.sent, report.failed, report.ok) == (3, 1, False)
    failed = messages_by_recipient()[refused]
    assert failed.status == MessageStatus.FAILED
    assert failed.last_error == "550 5.1.1 Mailbox bestaat niet"
    assert len(sink.messages) == 3


def test_transient_failure_is_retried_with_the_same_message_id(
    smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(3)
    refusals = []

    def refuse_once(envelope):
        if "persoon0@example.org" in envelope.rcpt_tos and not refusals:
            refusals.append(envelope)
            return "451 4.3.0 Probeer later opnieuw"
        return None

    sink.refuse = refuse_once
    queue_invitations(example_campaign)
    report = send_queued()
    assert (report.sent, report.failed, report.ok) == (3, 0, True)
    retried = messages_by_recipient()["persoon0@example.org"]
    assert (retried.status, retried.attempts) == (MessageStatus.SENT, 2)
    ids = [m["Message-ID"] for m in sink.messages]
    assert retried.message_id in ids and len(set(ids)) == 3


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(
    app, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(2)
    sink.refuse = lambda env: (
        "421 4.7.0 Te druk" if "persoon0@example.org" in env.rcpt_tos else None
    )
    queue_invitations(example_campaign)
    report = send_queued(sleep=lambda _seconds: None)
    assert (report.sent, report.failed) == (1, 1)
    failed = messages_by_recipient()["persoon0@example.org"]
    assert failed.status == MessageStatus.FAILED and failed.attempts == 5
    assert failed.last_error == (
        "opgegeven na 5 pogingen over minder dan een minuut: 421 4.7.0 Te druk"
    )


def test_unreachable_server_loses_nothing(app, smtp_server, example_campaign, add_key_figures):
    sink, port = smtp_server
    add_key_figures(3)
    queue_invitations(example_campaign)
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    report = send_queued(sleep=lambda _seconds: None)
    assert report.server_error and report.sent == 0 and report.deferred == 3
    assert {m.status for m in messages_by_recipient().values()} == {MessageStatus.QUEUED}
    app.config["MAIL_PORT"] = port
    assert send_queued().sent == 3
    assert len(sink.messages) == 3


def test_without_mail_server_mails_become_eml_files(
    app, example_campaign, add_key_figures, tmp_path
):
    app.config["MAIL_SERVER"] = None
    add_key_figures(2)
    queue_invitations(example_campaign)
    assert send_queued().sent == 2
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    ids = sorted(m.id for m in messages_by_recipient().values())
    assert [f.name for f in files] == [f"{row_id}.eml" for row_id in ids]
    assert b"Message-ID: <" in files[0].read_bytes()
    assert {m.status for m in messages_by_recipient().values()} == {MessageStatus.SENT}
