"""The campaign's mail page: counts, the invite button, previews, test mail, .eml outbox."""

from __future__ import annotations

from campaign.contacts.services import save_key_figure
from tests.conftest import COORDINATOR_EMAIL


def mails_url(campaign) -> str:
    return f"/dashboard/{campaign.slug}/mails/"


def test_mail_pages_need_a_login(client, example_campaign):
    response = client.get(mails_url(example_campaign))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(mails_url(example_campaign) + "uitnodigen").status_code == 302


def test_invite_button_sends_and_a_second_click_sends_nothing(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(3)
    page = client.get(mails_url(example_campaign)).get_data(as_text=True)
    assert "Uitnodigingen versturen (3)" in page
    first = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True)
    html = first.get_data(as_text=True)
    assert "3 uitnodiging(en) in de wachtrij gezet." in html and "3 mail(s) verstuurd." in html
    second = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True)
    assert "Iedereen is al uitgenodigd" in second.get_data(as_text=True)
    assert len(sink.messages) == 3
    assert '<span class="value">3</span><span class="label">verstuurd' in second.get_data(
        as_text=True
    )


def test_failures_are_listed_with_the_server_reason(
    client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    auth.login()
    add_key_figures(2)
    sink.refuse = lambda env: (
        "550 5.1.1 Onbekende ontvanger" if "persoon1@example.org" in env.rcpt_tos else None
    )
    html = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True).get_data(
        as_text=True
    )
    assert "1 mail(s) mislukt" in html
    assert "persoon1@example.org" in html and "550 5.1.1 Onbekende ontvanger" in html


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
        assert f"Testmail verstuurd naar {COORDINATOR_EMAIL}" in response.get_data(as_text=True)
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
    html = client.post(mails_url(example_campaign) + "uitnodigen", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Bewaarde mails (.eml)" in html and "Joëlle Vanhoutte" in html
    name = html.split("/mails/bestanden/")[1].split('"')[0]
    shown = client.get(mails_url(example_campaign) + f"bestanden/{name}").get_data(as_text=True)
    assert "Help je mee?" in shown and "Beste Joëlle Vanhoutte" in shown
    assert (
        client.get(mails_url(example_campaign) + "bestanden/..%2Fcampaign.sqlite3").status_code
        == 404
    )
