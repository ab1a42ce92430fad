"""The draw opt-in (one-time tickets, one entry per e-mail, never linkable) and resume links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select

from campaign.extensions import db
from campaign.models import DrawEntry, DrawTicket, Link, Response
from campaign.survey import services
from campaign.survey.draw import AlreadyEntered, DrawError, enter_draw
from campaign.survey.resume import ResumeError, response_from_token, resume_token
from tests.survey.conftest import EXAMPLE_FORMS, form, next_address, start_survey


def completed_ticket(link) -> str:
    response = services.start_response(link)
    outcome = None
    for index, data in enumerate(EXAMPLE_FORMS):
        outcome = services.save_page(response, index, form(data))
    return outcome.completion.ticket


def entries() -> list[DrawEntry]:
    return list(db.session.scalars(select(DrawEntry)))


def test_completed_response_enters_the_draw_with_a_receipt(key_link, open_campaign):
    ticket = completed_ticket(key_link)
    now = datetime(2027, 7, 2, 14, 33, 12, tzinfo=UTC)
    entry = enter_draw(open_campaign, ticket, " Jan.Peeters@Example.org ", True, now=now)
    assert entry.email == "jan.peeters@example.org"
    assert len(entry.receipt) == 9
    # the day is kept, not the moment: it could be matched with a completion time
    assert entry.created_at == datetime(2027, 7, 2, tzinfo=UTC)


def test_draw_entry_and_ticket_hold_no_reference_to_a_response():
    for model in (DrawEntry, DrawTicket):
        columns = {column.name for column in inspect(model).columns}
        assert not any("response" in name for name in columns), columns
        foreign = {fk.column.table.name for fk in model.__table__.foreign_keys}
        assert foreign == {"campaigns"}


def test_replayed_ticket_is_refused(key_link, open_campaign):
    ticket = completed_ticket(key_link)
    enter_draw(open_campaign, ticket, "een@example.org", True)
    with pytest.raises(DrawError, match="niet \\(meer\\) geldig"):
        enter_draw(open_campaign, ticket, "twee@example.org", True)
    assert [e.email for e in entries()] == ["een@example.org"]


def test_unknown_ticket_is_refused(open_campaign):
    with pytest.raises(DrawError):
        enter_draw(open_campaign, "verzonnen-ticket", "een@example.org", True)
    assert entries() == []


def test_one_entry_per_email_and_the_ticket_stays_usable(key_link, open_campaign):
    enter_draw(open_campaign, completed_ticket(key_link), "een@example.org", True)
    second = completed_ticket(key_link)
    with pytest.raises(AlreadyEntered, match="doet al mee"):
        enter_draw(open_campaign, second, "EEN@example.org", True)
    assert len(entries()) == 1
    enter_draw(open_campaign, second, "collega@example.org", True)
    assert len(entries()) == 2


@pytest.mark.parametrize(
    ("email", "consent", "message"),
    [
        ("", True, "Vul je e-mailadres in."),
        ("geen-adres", True, "Vul een geldig e-mailadres in"),
        ("een@example.org", False, "Duid aan dat we je e-mailadres mogen gebruiken"),
    ],
)
def test_entry_needs_a_valid_address_and_consent(key_link, open_campaign, email, consent, message):
    ticket = completed_ticket(key_link)
    with pytest.raises(DrawError, match=message):
        enter_draw(open_campaign, ticket, email, consent)
    assert entries() == []
    assert db.session.scalar(select(func.count()).where(DrawTicket.used.is_(True))) == 0


def test_thank_you_page_enters_the_draw_and_refuses_a_second_post(client, key_link):
    url = start_survey(client, key_link.code)
    for data in EXAMPLE_FORMS:
        url = next_address(client.post(url, data=form(data)))
    page = client.get(url).text
    ticket = page.split('name="ticket" value="')[1].split('"')[0]
    assert "Stuur de vragenlijst door" in page
    entered = client.post(
        f"/s/{key_link.code}/wedstrijd",
        data={"ticket": ticket, "email": "an@example.org", "consent": "ja"},
        follow_redirects=True,
    )
    receipt = entries()[0].receipt
    assert "Je doet mee aan de wedstrijd" in entered.text and receipt in entered.text
    replay = client.post(
        f"/s/{key_link.code}/wedstrijd",
        data={"ticket": ticket, "email": "iemand@example.org", "consent": "ja"},
    )
    assert replay.status_code == 422 and "niet (meer) geldig" in replay.text
    assert len(entries()) == 1


# --- resume ---------------------------------------------------------------------------------


def test_resume_token_finds_the_response_and_refuses_tampering(key_link, open_campaign):
    response = services.start_response(key_link)
    token = resume_token(response)
    assert response_from_token(open_campaign, token).id == response.id
    with pytest.raises(ResumeError, match="niet geldig"):
        response_from_token(open_campaign, token[:-2] + "xx")


def test_resume_link_continues_in_another_browser(app, client, key_link):
    url = start_survey(client, key_link.code)
    client.post(url, data=form(EXAMPLE_FORMS[0]))
    page = client.get(f"/s/{key_link.code}/vraag/2").text
    resume = page.split('id="resume-link" value="')[1].split('"')[0]
    other = app.test_client()
    reply = other.get(resume.replace(app.config["BASE_URL"], ""))
    assert reply.headers["Location"].endswith("/vraag/2")
    assert "Welkom terug" in other.get(reply.headers["Location"]).text
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_a_completed_responses_resume_link_creates_no_row_however_often_opened(
    app, client, key_link
):
    """Issue 13: each cookie-less visit of a completed response's resume link made a new
    forward link.  Another browser is offered the link the response came through (the same
    key figure gets the credit) and nothing is written."""
    url = start_survey(client, key_link.code)
    resume = client.get(url).text.split('id="resume-link" value="')[1].split('"')[0]
    for data in EXAMPLE_FORMS:
        url = next_address(client.post(url, data=form(data)))
    db.session.remove()
    links = db.session.scalar(select(func.count()).select_from(Link))
    for _ in range(3):
        fresh = app.test_client()  # no cookies: a new browser, a script
        reply = fresh.get(resume.replace(app.config["BASE_URL"], ""), follow_redirects=True)
        assert reply.status_code == 200 and "Hartelijk dank!" in reply.text
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Link)) == links
        shared = reply.text.split('id="forward-link" value="')[1].split('"')[0]
        assert shared == f"{app.config['BASE_URL']}/s/{key_link.code}"


def test_resume_link_is_queued_and_the_sender_forgets_the_address(smtp_app, smtp_server, caplog):
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure
    from campaign.mailing.sender import send_queued
    from tests.survey.conftest import load_example

    sink, _port = smtp_server
    campaign = load_example()
    link = root_link(save_key_figure(campaign, name="K", email="k@example.org"))
    db.session.commit()
    client = smtp_app.test_client()
    url = start_survey(client, link.code)
    reply = client.post(f"/s/{link.code}/link-mailen", data={"email": "resp@example.org"})
    assert reply.status_code == 302
    assert "We mailen je de link" in client.get(reply.headers["Location"]).text
    assert sink.messages == []  # the request only queued it
    assert send_queued().sent == 1
    [message] = sink.messages
    assert message["To"] == "resp@example.org"
    resume_link = message.get_body(("plain",)).get_content()
    assert f"/s/{link.code}/verder/" in resume_link
    assert url.endswith("/vraag/1")
    secret = resume_link.split(f"/s/{link.code}/verder/")[1].split()[0]
    # neither the address nor the secret link is anywhere in the database now
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            assert "resp@example.org" not in str(tuple(row))
            assert secret not in str(tuple(row))
    # nor in any log line (no address, no resume URL, no response id)
    [response_id] = db.session.scalars(select(Response.id))
    for record in caplog.records:
        line = record.getMessage()
        assert "@example.org" not in line and secret not in line and response_id not in line


def test_two_resume_requests_for_one_address_are_two_mails(smtp_app, smtp_server):
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure
    from campaign.mailing.sender import send_queued
    from tests.survey.conftest import load_example

    sink, _port = smtp_server
    campaign = load_example()
    link = root_link(save_key_figure(campaign, name="K", email="k@example.org"))
    db.session.commit()
    client = smtp_app.test_client()
    start_survey(client, link.code)
    for _ in range(2):
        client.post(f"/s/{link.code}/link-mailen", data={"email": "resp@example.org"})
    assert send_queued().sent == 2
    assert [m["To"] for m in sink.messages] == ["resp@example.org"] * 2


def test_invalid_address_for_the_resume_mail_gets_a_dutch_message(client, key_link):
    start_survey(client, key_link.code)
    reply = client.post(
        f"/s/{key_link.code}/link-mailen", data={"email": "niet-goed"}, follow_redirects=True
    )
    assert "Vul een geldig e-mailadres in" in reply.text
