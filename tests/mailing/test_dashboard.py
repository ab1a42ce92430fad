"""The campaign's mail page: counts, the invite button, previews, test mail, .eml outbox."""

from __future__ import annotations

from sqlalchemy import select

from campaign.contacts.services import save_key_figure
from campaign.mailing.sender import send_queued
from tests.conftest import COORDINATOR_EMAIL


def mails_url(campaign) -> str:
    return f"/dashboard/{campaign.slug}/mails/"


def test_mail_pages_need_a_login(client, example_campaign):
    response = client.get(mails_url(example_campaign))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(mails_url(example_campaign) + "uitnodigen").status_code == 302


def test_invite_button_only_queues_and_the_sender_sends_once(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(3)
    page = client.get(mails_url(example_campaign)).get_data(as_text=True)
    assert "Uitnodigingen versturen (3)" in page
    first = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True)
    html = first.get_data(as_text=True)
    assert "3 uitnodigingen in de wachtrij gezet." in html
    assert "op de achtergrond" in html
    assert sink.messages == []  # the request sent nothing
    assert 'data-poll="/dashboard/' in html  # the counters follow the background sender
    status = client.get(mails_url(example_campaign) + "status.json").get_json()
    assert (status["queued"], status["due"], status["sent"]) == (3, 3, 0)
    assert send_queued().sent == 3
    second = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True)
    html = second.get_data(as_text=True)
    assert "Iedereen is al uitgenodigd" in html
    assert '<span class="value" data-status="sent">3</span>' in html
    assert "data-poll" not in html  # nothing left to follow
    assert send_queued().sent == 0
    assert len(sink.messages) == 3


def test_one_invitation_is_counted_in_the_singular(client, auth, example_campaign):
    auth.login()
    save_key_figure(example_campaign, name="A", email="a@example.org")
    html = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True).text
    assert "1 uitnodiging in de wachtrij gezet." in html


def test_failures_are_listed_with_the_server_reason(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(2)
    sink.refuse = lambda env: (
        "550 5.1.1 Onbekende ontvanger" if "persoon1@example.org" in env.rcpt_tos else None
    )
    client.post(mails_url(example_campaign) + "uitnodigen")
    assert send_queued().failed == 1
    html = client.get(mails_url(example_campaign)).get_data(as_text=True)
    assert "persoon1@example.org" in html and "550 5.1.1 Onbekende ontvanger" in html


def test_retry_button_makes_deferred_mails_due_without_sending(
    client, auth, smtp_server, example_campaign, add_key_figures, app
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(2)
    app.config["MAIL_RETRY_BASE_SECONDS"] = 3600.0
    sink.refuse = lambda env: "451 4.3.0 Later" if "persoon0@example.org" in env.rcpt_tos else None
    client.post(mails_url(example_campaign) + "uitnodigen")
    assert send_queued().deferred == 1  # waits an hour for its retry
    sink.refuse = None
    html = client.post(mails_url(example_campaign) + "versturen", follow_redirects=True).text
    assert "1 mail wordt nu opnieuw geprobeerd." in html
    assert len(sink.messages) == 1  # still only the first one: the request sent nothing
    assert send_queued().sent == 1
    assert len(sink.messages) == 2


def test_preview_renders_a_real_key_figure(client, auth, example_campaign):
    auth.login()
    kf = save_key_figure(example_campaign, name="Joëlle Vanhoutte", email="joelle@example.org")
    for kind in ("invitation", "reminder"):
        response = client.get(
            mails_url(example_campaign) + f"voorbeeld?soort={kind}&sleutelfiguur={kf.id}"
        )
        assert response.status_code == 200
        assert "Joëlle Vanhoutte" in response.get_data(as_text=True)


def test_the_winner_preview_addresses_an_entrant_not_a_key_figure(client, auth, example_campaign):
    auth.login()
    kf = save_key_figure(example_campaign, name="Joëlle Vanhoutte", email="joelle@example.org")
    response = client.get(
        mails_url(example_campaign) + f"voorbeeld?soort=winner&sleutelfiguur={kf.id}"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "een winnaar van de wedstrijd" in html and "VOORBEELD" in html
    assert "Joëlle" not in html and "joelle@example.org" not in html


def test_preview_without_key_figures_explains_why(client, auth, example_campaign):
    auth.login()
    response = client.get(mails_url(example_campaign) + "voorbeeld")
    assert response.status_code == 404
    assert "nog geen sleutelfiguren" in response.get_data(as_text=True)


def test_test_mail_goes_to_the_logged_in_coordinator(client, auth, smtp_server, example_campaign):
    sink, _port = smtp_server
    auth.login()
    kf = save_key_figure(example_campaign, name="Joëlle Vanhoutte", email="joelle@example.org")
    for _ in range(2):
        response = client.post(
            mails_url(example_campaign) + "test",
            data={"sleutelfiguur": kf.id},
            follow_redirects=True,
        )
        html = response.get_data(as_text=True)
        assert f"Testmail naar {COORDINATOR_EMAIL} in de wachtrij gezet" in html
    assert sink.messages == []
    assert send_queued().sent == 2
    assert [m["To"].addresses[0].addr_spec for m in sink.messages] == [COORDINATOR_EMAIL] * 2
    assert sink.messages[0]["Subject"].startswith("[Test] ")
    assert sink.messages[0]["List-Unsubscribe"] is None
    assert "Joëlle Vanhoutte" in sink.messages[0].get_body(("plain",)).get_content()


def test_without_mail_server_the_eml_outbox_is_listed_and_shown(
    app, client, auth, example_campaign
):
    app.config["MAIL_SERVER"] = None
    auth.login()
    save_key_figure(example_campaign, name="Joëlle Vanhoutte", email="joelle@example.org")
    client.post(mails_url(example_campaign) + "uitnodigen")
    assert send_queued().sent == 1
    html = client.get(mails_url(example_campaign)).get_data(as_text=True)
    assert "Bewaarde mails (.eml)" in html and "Joëlle Vanhoutte" in html
    name = html.split("/mails/bestanden/")[1].split('"')[0]
    shown = client.get(mails_url(example_campaign) + f"bestanden/{name}").get_data(as_text=True)
    assert "Help je mee?" in shown and "Beste Joëlle," in shown
    assert (
        client.get(mails_url(example_campaign) + "bestanden/..%2Fcampaign.sqlite3").status_code
        == 404
    )


def load_second_campaign(slug: str):
    from campaign.definitions.loader import parse_campaign_text
    from campaign.definitions.services import load_campaign
    from tests.conftest import EXAMPLE_CAMPAIGN

    text = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")
    text = text.replace("slug: eerste-hulp-digitale-vragen", f"slug: {slug}", 1)
    return load_campaign(parse_campaign_text(text, "tweede.yaml")).campaign


def test_eml_outbox_lists_only_the_campaigns_own_sent_mails_from_the_database(
    app, client, auth, example_campaign
):
    from campaign.mailing.services import queue_invitations, queue_personal_mail

    app.config["MAIL_SERVER"] = None
    auth.login()
    other = load_second_campaign("resume")  # the slug the old file-name prefix confused
    save_key_figure(example_campaign, name="Eerste Campagne", email="een@example.org")
    save_key_figure(other, name="Tweede Campagne", email="twee@example.org")
    queue_invitations(example_campaign)
    queue_invitations(other)
    queue_personal_mail(other, "resume", "resp@example.org", "Je link", "geheim")
    assert send_queued().sent == 3
    mine = client.get(mails_url(example_campaign)).get_data(as_text=True)
    theirs = client.get(mails_url(other)).get_data(as_text=True)
    assert "Eerste Campagne" in mine and "Tweede Campagne" not in mine
    assert "Tweede Campagne" in theirs and "Eerste Campagne" not in theirs
    assert "resp@example.org" not in theirs and "verwijderd-" not in theirs
    [name] = {part.split('"')[0] for part in theirs.split("/mails/bestanden/")[1:]}
    assert client.get(mails_url(other) + f"bestanden/{name}").status_code == 200
    # the other campaign's file, asked for through this campaign: refused
    assert client.get(mails_url(example_campaign) + f"bestanden/{name}").status_code == 404
    # the resume mail's file exists (for a developer) but is never shown
    from campaign.extensions import db
    from campaign.models import Message

    resume_id = db.session.scalar(select(Message.id).where(Message.kind == "resume"))
    assert (tmp_outbox(app) / f"{resume_id}.eml").is_file()
    assert client.get(mails_url(other) + f"bestanden/{resume_id}.eml").status_code == 404


def tmp_outbox(app):
    from pathlib import Path

    return Path(app.config["OUTBOX_DIR"])
