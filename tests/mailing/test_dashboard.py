"""The campaign's mail page: counts, the invite button, previews, test mail, .eml outbox."""

from __future__ import annotations

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
    for kind in ("invitation", "reminder", "winner"):
        response = client.get(
            mails_url(example_campaign) + f"voorbeeld?soort={kind}&sleutelfiguur={kf.id}"
        )
        assert response.status_code == 200
        assert "Joëlle Vanhoutte" in response.get_data(as_text=True)


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
    assert "Help je mee?" in shown and "Beste Joëlle Vanhoutte" in shown
    assert (
        client.get(mails_url(example_campaign) + "bestanden/..%2Fcampaign.sqlite3").status_code
        == 404
    )
