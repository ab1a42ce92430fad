""" "Opnieuw proberen" and "opnieuw versturen": the services, the buttons, `flask mail retry`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from campaign.contacts.services import set_opted_out
from campaign.extensions import db
from campaign.mailing.render import MailError
from campaign.mailing.resend import resend_to_key_figure, retry_all_failed, retry_message
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations, queue_personal_mail
from campaign.models import CampaignEvent, Message, MessageStatus
from tests.conftest import COORDINATOR_EMAIL

REFUSED = "550 5.1.1 Mailbox bestaat niet"


def mails_url(campaign) -> str:
    return f"/dashboard/{campaign.slug}/mails/"


def message_to(email: str, kind: str = "invitation", round_: int | None = None) -> Message:
    db.session.expire_all()
    query = select(Message).where(Message.recipient_email == email, Message.kind == kind)
    if round_ is not None:
        query = query.where(Message.round == round_)
    return db.session.scalars(query.order_by(Message.round.desc())).first()


@pytest.fixture
def failed_invitations(smtp_server, example_campaign, add_key_figures):
    """Three key figures whose invitation failed with a 5xx; the server accepts them now."""
    sink, _port = smtp_server
    key_figures = add_key_figures(3)
    sink.refuse = lambda envelope: REFUSED
    queue_invitations(example_campaign)
    assert send_queued().failed == 3
    sink.refuse = None
    return key_figures


def test_retry_puts_a_failed_mail_back_due_now_with_its_attempts_reset(
    smtp_server, example_campaign, failed_invitations
):
    sink, _port = smtp_server
    first = failed_invitations[0]
    before = message_to(first.email)
    retry_message(example_campaign, before.id)
    again = message_to(first.email)
    assert (again.status, again.attempts, again.next_attempt_at) == ("queued", 0, None)
    assert again.last_error == REFUSED  # kept until the next outcome
    assert send_queued().sent == 1
    sent = message_to(first.email)
    assert (sent.status, sent.last_error, sent.message_id) == ("sent", None, before.message_id)
    assert [m["Message-ID"] for m in sink.messages] == [before.message_id]


def test_retry_is_refused_for_an_opted_out_key_figure_and_a_cancelled_mail(
    example_campaign, failed_invitations
):
    opted = failed_invitations[0]
    set_opted_out(opted, True)
    with pytest.raises(MailError, match="heeft zich afgemeld"):
        retry_message(example_campaign, message_to(opted.email).id)
    assert message_to(opted.email).status == MessageStatus.FAILED.value
    result = retry_all_failed(example_campaign)
    assert (result.retried, result.refused) == (2, 1)
    assert send_queued().cancelled == 0  # nothing for the opted-out one was queued


def test_a_cancelled_mail_is_never_retried(smtp_server, example_campaign, add_key_figures):
    [kf] = add_key_figures(1)
    queue_invitations(example_campaign)
    set_opted_out(kf, True)
    assert send_queued().cancelled == 1
    with pytest.raises(MailError, match="Alleen een mislukte mail"):
        retry_message(example_campaign, message_to(kf.email).id)


def test_invitations_are_not_retried_after_the_close(app, example_campaign, failed_invitations):
    app.config["CLOCK"] = lambda: example_campaign.closes_at + timedelta(seconds=1)
    with pytest.raises(MailError, match="De bevraging is afgesloten"):
        retry_message(example_campaign, message_to(failed_invitations[0].email).id)
    assert retry_all_failed(example_campaign).retried == 0


def test_an_erased_resume_mail_cannot_be_retried(smtp_server, example_campaign):
    sink, _port = smtp_server
    sink.refuse = lambda envelope: REFUSED
    queue_personal_mail(example_campaign, "resume", "resp@example.org", "Je link", "geheim")
    assert send_queued().failed == 1
    resume = db.session.scalars(select(Message).where(Message.kind == "resume")).one()
    with pytest.raises(MailError, match="gewist"):
        retry_message(example_campaign, resume.id)


def test_the_retry_buttons_queue_and_record_the_coordinator(
    client, auth, smtp_server, example_campaign, failed_invitations
):
    auth.login()
    one = message_to(failed_invitations[0].email)
    html = client.get(mails_url(example_campaign)).text
    assert "Alle mislukte opnieuw proberen (3)" in html
    assert f"/mails/{one.id}/opnieuw-proberen" in html
    reply = client.post(
        mails_url(example_campaign) + f"{one.id}/opnieuw-proberen",
        data={"status": "mislukt"},
    )
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/mails/?status=mislukt#mails-per-ontvanger")
    assert message_to(one.recipient_email).status == MessageStatus.QUEUED.value
    html = client.post(mails_url(example_campaign) + "opnieuw-proberen", follow_redirects=True)
    assert "2 mislukte mails worden opnieuw geprobeerd." in html.text
    assert send_queued().sent == 3
    events = db.session.scalars(select(CampaignEvent).order_by(CampaignEvent.id)).all()
    assert [(e.kind, e.actor, e.details["count"]) for e in events] == [
        ("mail_retried", COORDINATOR_EMAIL, 1),
        ("mail_retried", COORDINATOR_EMAIL, 2),
    ]


def test_the_buttons_need_a_csrf_token(app, client, auth, example_campaign, failed_invitations):
    auth.login()
    app.config["WTF_CSRF_ENABLED"] = True
    one = message_to(failed_invitations[0].email)
    assert client.post(mails_url(example_campaign) + "opnieuw-proberen").status_code == 400
    assert (
        client.post(mails_url(example_campaign) + f"{one.id}/opnieuw-versturen").status_code == 400
    )
    assert message_to(one.recipient_email).status == MessageStatus.FAILED.value


def test_resend_queues_a_fresh_mail_in_the_next_round(
    smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    [kf] = add_key_figures(1)
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    kf.name = "Nieuwe Naam"  # edited after the first mail: the new one is rendered fresh
    db.session.commit()
    first = message_to(kf.email)
    assert resend_to_key_figure(example_campaign, first.id) == 2
    with pytest.raises(MailError, match="al een mail van deze soort"):
        resend_to_key_figure(example_campaign, first.id)  # a double click
    assert send_queued().sent == 1
    second = message_to(kf.email, round_=2)
    assert second.status == "sent" and second.message_id != first.message_id
    assert "Beste Nieuwe," in sink.messages[-1].get_body(("plain",)).get_content()
    assert resend_to_key_figure(example_campaign, second.id) == 3
    rounds = db.session.scalars(select(Message.round).where(Message.recipient_email == kf.email))
    assert sorted(rounds) == [1, 2, 3]


def test_resend_is_refused_for_an_opted_out_key_figure_and_after_the_close(
    app, smtp_server, example_campaign, add_key_figures
):
    opted, other = add_key_figures(2)
    queue_invitations(example_campaign)
    assert send_queued().sent == 2
    set_opted_out(opted, True)
    with pytest.raises(MailError, match="heeft zich afgemeld"):
        resend_to_key_figure(example_campaign, message_to(opted.email).id)
    app.config["CLOCK"] = lambda: example_campaign.closes_at
    with pytest.raises(MailError, match="De bevraging is afgesloten"):
        resend_to_key_figure(example_campaign, message_to(other.email).id)
    assert db.session.scalar(select(Message.id).where(Message.round > 1)) is None


def test_the_resend_button_records_the_coordinator(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    auth.login()
    [kf] = add_key_figures(1)
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    first = message_to(kf.email)
    html = client.get(mails_url(example_campaign)).text
    assert f"/mails/{first.id}/opnieuw-versturen" in html
    done = client.post(mails_url(example_campaign) + f"{first.id}/opnieuw-versturen")
    assert done.status_code == 302
    refused = client.post(
        mails_url(example_campaign) + f"{first.id}/opnieuw-versturen", follow_redirects=True
    )
    assert "Er staat al een mail van deze soort voor Persoon 0 in de wachtrij." in refused.text
    event = db.session.scalars(select(CampaignEvent)).one()
    assert (event.kind, event.actor, event.details["round"]) == (
        "mail_resent",
        COORDINATOR_EMAIL,
        2,
    )


# --- the command line ------------------------------------------------------------------------


def test_invite_says_how_many_failed_earlier_and_retry_sends_them(
    runner, smtp_server, example_campaign, failed_invitations
):
    sink, _port = smtp_server
    slug = example_campaign.slug
    invite = runner.invoke(args=["mail", "invite", slug])
    assert invite.exit_code == 0, invite.output
    assert (
        f"3 uitnodigingen mislukten eerder; probeer ze opnieuw met `flask mail retry {slug}`."
        in invite.output
    )
    retry = runner.invoke(args=["mail", "retry", slug])
    assert retry.exit_code == 0, retry.output
    assert "3 mislukte mails opnieuw in de wachtrij gezet." in retry.output
    assert "3 verstuurd, 0 mislukt" in retry.output
    again = runner.invoke(args=["mail", "retry", slug])
    assert again.exit_code == 0
    assert "Er zijn geen mislukte mails om opnieuw te proberen." in again.output
    assert "0 verstuurd" in again.output
    assert len(sink.messages) == 3
    assert "mislukten eerder" not in runner.invoke(args=["mail", "invite", slug]).output


def test_invite_and_retry_after_the_close(app, runner, example_campaign, failed_invitations):
    app.config["CLOCK"] = lambda: example_campaign.closes_at + timedelta(days=1)
    invite = runner.invoke(args=["mail", "invite", example_campaign.slug])
    assert invite.exit_code == 1
    assert "De bevraging is afgesloten: er worden geen uitnodigingen meer verstuurd." in (
        invite.output
    )
    retry = runner.invoke(args=["mail", "retry", example_campaign.slug])
    assert "3 mislukte mails niet opnieuw geprobeerd" in retry.output
    assert runner.invoke(args=["mail", "retry", "bestaat-niet"]).exit_code == 1
