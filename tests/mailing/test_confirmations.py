"""Mass actions ask first: sending the invitations, the reminder's "Nu versturen" and opting
a key figure out show how many people and what will happen, and a confirmation whose
number no longer holds is shown again instead of acting.  Also the rough edges of the mail
pages: greetings by first name, the server's reply and the Date header in words."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from campaign.contacts.services import save_key_figure, set_opted_out
from campaign.extensions import db
from campaign.formatting import first_name
from campaign.mailing.queries import header_date
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations
from campaign.models import KeyFigure, Message


def text_of(reply) -> str:
    html = reply.get_data(as_text=True).split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def invitations() -> int:
    db.session.expire_all()
    query = select(func.count()).where(Message.kind == "invitation")
    return db.session.scalar(query) or 0


def test_sending_invitations_asks_first_with_the_number_and_what_happens(
    client, auth, example_campaign, add_key_figures
):
    add_key_figures(3)
    set_opted_out(save_key_figure(example_campaign, name="Weg", email="weg@example.org"), True)
    auth.login()
    url = f"/dashboard/{example_campaign.slug}/mails/uitnodigen"
    mails = client.get(f"/dashboard/{example_campaign.slug}/mails/").get_data(as_text=True)
    assert f'href="{url}">Uitnodigingen versturen (3)</a>' in mails
    page = text_of(client.get(url))
    assert "3 sleutelfiguren uitnodigen?" in page
    assert "3 sleutelfiguren krijgen een persoonlijke uitnodiging" in page
    assert "van Digiwijzer West-Vlaanderen (digiwijzer@example.org)" in page
    assert "Geen uitnodiging voor 1 sleutelfiguur die zich afmeldde." in page
    assert "De bevraging opent pas op 28 juni 2027 om 09.00 u" in page
    assert "Persoon 0" in page and "Weg" not in page.split("Wie precies?")[1]
    assert invitations() == 0  # asking changes nothing
    done = client.post(url, data={"aantal": 3})
    assert done.status_code == 302
    assert invitations() == 3


def test_a_confirmation_whose_number_changed_is_shown_again(
    client, auth, example_campaign, add_key_figures
):
    add_key_figures(2)
    auth.login()
    url = f"/dashboard/{example_campaign.slug}/mails/uitnodigen"
    assert "2 sleutelfiguren uitnodigen?" in text_of(client.get(url))
    add_key_figures(1, prefix="later")  # an import meanwhile
    again = client.post(url, data={"aantal": 2})
    assert again.status_code == 409
    page = text_of(again)
    assert "veranderde sinds je deze pagina opende" in page
    assert "3 sleutelfiguren uitnodigen?" in page
    assert invitations() == 0


def test_one_key_figure_is_written_in_the_singular(client, auth, example_campaign, add_key_figures):
    add_key_figures(1)
    auth.login()
    page = text_of(client.get(f"/dashboard/{example_campaign.slug}/mails/uitnodigen"))
    assert "1 sleutelfiguur uitnodigen?" in page
    assert "1 sleutelfiguur krijgt een persoonlijke uitnodiging" in page
    assert "Ja, 1 uitnodiging versturen" in page


def test_nobody_left_to_invite_shows_why_and_no_button(
    client, auth, example_campaign, add_key_figures
):
    add_key_figures(1)
    queue_invitations(example_campaign)
    auth.login()
    page = text_of(client.get(f"/dashboard/{example_campaign.slug}/mails/uitnodigen"))
    assert "Er is niemand om uit te nodigen" in page
    assert "versturen" not in page.split("uitnodigen?")[1]


def test_opting_out_asks_first_and_says_what_happens(client, auth, example_campaign):
    an = save_key_figure(example_campaign, name="An Peeters", email="an@example.org")
    queue_invitations(example_campaign)
    auth.login()
    base = f"/dashboard/{example_campaign.slug}/sleutelfiguren"
    listing = client.get(f"{base}/").get_data(as_text=True)
    assert f'href="{base}/{an.id}/afmelden?next=' in listing
    page = text_of(client.get(f"{base}/{an.id}/afmelden"))
    assert "An Peeters afmelden?" in page
    assert "1 mail die nog in de wachtrij staat, wordt niet meer verstuurd." in page
    assert "De link van An Peeters blijft werken" in page
    assert db.session.get(KeyFigure, an.id).opted_out_at is None
    client.post(f"{base}/{an.id}/afmelden", data={"opted_out": "1"})
    db.session.expire_all()
    assert db.session.get(KeyFigure, an.id).opted_out_at is not None


def test_greetings_use_the_first_name():
    assert first_name("An Peeters") == "An"
    assert first_name("dr. Jan De Smet") == "Jan"
    assert first_name("Mevr. Els") == "Els"
    assert first_name("  ") == ""
    assert first_name("Dr.") == "Dr."


def test_the_mail_greets_the_key_figure_by_first_name(example_campaign, smtp_server):
    sink, _port = smtp_server
    save_key_figure(example_campaign, name="Joëlle Vanhoutte", email="joelle@example.org")
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    text = sink.messages[0].get_body(("plain",)).get_content()
    assert text.startswith("Beste Joëlle,")


def test_a_mail_header_date_is_shown_in_words(example_campaign):
    assert (
        header_date(example_campaign, "Wed, 01 Dec 2027 14:05:00 +0000")
        == "1 december 2027 om 15.05 u"
    )
    assert header_date(example_campaign, "geen datum") == "geen datum"
    assert header_date(example_campaign, None) == "—"


def test_the_eml_page_shows_the_date_in_words(client, auth, example_campaign, app):
    app.config["MAIL_SERVER"] = None
    save_key_figure(example_campaign, name="Joëlle", email="joelle@example.org")
    queue_invitations(example_campaign)
    assert send_queued().sent == 1
    auth.login()
    mails = client.get(f"/dashboard/{example_campaign.slug}/mails/").get_data(as_text=True)
    name = mails.split("/mails/bestanden/")[1].split('"')[0]
    shown = client.get(f"/dashboard/{example_campaign.slug}/mails/bestanden/{name}")
    page = text_of(shown)
    assert re.search(r"Datum \d{1,2} \w+ \d{4} om \d{2}\.\d{2} u", page), page
    assert " +0000" not in page
