"""The mail page's per-recipient list: states in Dutch, reasons in words, filters, pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from campaign.extensions import db
from campaign.mailing.queries import PER_PAGE
from campaign.mailing.reasons import ADDRESS_UNKNOWN, TRY_LATER
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations, queue_personal_mail
from campaign.models import Message

#: 09.00 u in Brussels (summer time): the list shows local times.
T0 = datetime(2027, 7, 1, 7, 0, tzinfo=UTC)


def mails_url(campaign) -> str:
    return f"/dashboard/{campaign.slug}/mails/"


def rows(html: str) -> list[str]:
    body = html.split('<table class="stack mail-table">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr class=\"mail-[a-z]+\">(.*?)</tr>", body, re.S)


def test_each_state_is_said_in_dutch_with_the_reason_in_words(
    app, client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    app.config.update(CLOCK=lambda: T0, MAIL_RETRY_BASE_SECONDS=900.0, MAIL_MAX_ATTEMPTS=0)
    add_key_figures(4)

    def answer(envelope):
        if "persoon1@example.org" in envelope.rcpt_tos:
            return "550 5.1.1 Requested action not taken: mailbox unavailable"
        if "persoon2@example.org" in envelope.rcpt_tos:
            return "451 4.7.1 Greylisted, please try again later"
        return None

    sink.refuse = answer
    queue_invitations(example_campaign)
    assert send_queued(now=lambda: T0).sent == 2
    save_new = client.post(mails_url(example_campaign) + "test", data={"sleutelfiguur": 1})
    assert save_new.status_code == 302  # a test mail, still in the queue

    page = client.get(mails_url(example_campaign)).text
    lines = {re.sub(r"\s+", " ", row) for row in rows(page)}
    text = " ".join(lines)
    assert "Verstuurd op 1 juli 2027 om 09.00 u" in text
    assert "Mislukt" in text and ADDRESS_UNKNOWN in text
    assert "550 5.1.1 Requested action not taken: mailbox unavailable" in text  # small print
    assert re.search(r"Uitgesteld tot 09\.(1[5-9]) u \(poging 2\)", text)
    assert TRY_LATER in text
    assert "In de wachtrij" in text and "Testmail" in text
    assert "Persoon 1" in text and "persoon1@example.org" in text


def test_a_resume_mail_never_shows_its_address(client, auth, example_campaign):
    auth.login()
    queue_personal_mail(example_campaign, "resume", "resp@example.org", "Je link", "geheim")
    page = client.get(mails_url(example_campaign)).text
    assert "respondent (adres niet getoond)" in page and "resp@example.org" not in page
    found = client.get(mails_url(example_campaign) + "?q=resp@example").text
    assert "resp@example.org" not in found and "Geen mails gevonden" in found


def test_the_list_is_paginated_and_filtered_by_state(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(PER_PAGE + 10)
    sink.refuse = lambda env: "550 5.1.1 Nee" if "persoon7@example.org" in env.rcpt_tos else None
    queue_invitations(example_campaign)
    send_queued()
    first = client.get(mails_url(example_campaign)).text
    assert len(rows(first)) == PER_PAGE
    assert "Pagina 1 van 2" in first and "60 mails, 1–50 getoond." in first
    second = client.get(mails_url(example_campaign) + "?page=2").text
    assert len(rows(second)) == 10
    failed = client.get(mails_url(example_campaign) + "?status=mislukt").text
    assert len(rows(failed)) == 1 and "persoon7@example.org" in failed
    assert "Mislukt <strong>1</strong>" in failed and "Verstuurd <strong>59</strong>" in failed
    found = client.get(mails_url(example_campaign) + "?q=Persoon%2012").text
    assert [("persoon12@example.org" in row) for row in rows(found)] == [True]
    empty = client.get(mails_url(example_campaign) + "?status=bezig").text
    assert "Geen mails gevonden" in empty


def test_the_counts_the_page_polls_follow_the_sender(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    auth.login()
    add_key_figures(2)
    queue_invitations(example_campaign)
    page = client.get(mails_url(example_campaign)).text
    assert 'data-poll="/dashboard/' in page and page.count(" data-follow>") == 5
    status = client.get(mails_url(example_campaign) + "status.json").get_json()
    assert (status["due"], status["queued"], status["deferred"]) == (2, 2, 0)
    send_queued()
    status = client.get(mails_url(example_campaign) + "status.json").get_json()
    assert (status["due"], status["sent"]) == (0, 2)


def test_the_invite_button_is_disabled_with_the_reason_after_the_close(
    app, client, auth, example_campaign, add_key_figures
):
    auth.login()
    add_key_figures(2)
    app.config["CLOCK"] = lambda: example_campaign.closes_at + timedelta(hours=1)
    page = client.get(mails_url(example_campaign)).text
    assert re.search(r"<button[^>]*disabled[^>]*>Uitnodigingen versturen</button>", page)
    assert "De bevraging is afgesloten: er worden geen uitnodigingen meer verstuurd." in page
    html = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True).text
    assert "De bevraging is afgesloten: er worden geen uitnodigingen meer verstuurd." in html
    assert db.session.scalar(select(Message.id)) is None
