"""The dashboard's page of one key figure: mails with their state, link and own page,
counts from attribution (forwards included), and "opnieuw versturen"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign.contacts.queries import root_link_url
from campaign.contacts.services import set_opted_out
from campaign.extensions import db
from campaign.models import CampaignEvent, KeyFigure, Link, Message
from tests.conftest import COORDINATOR_EMAIL
from tests.dashboard.test_dashboard import TEN_DAYS_IN, seed
from tests.test_attribution import load_small


@pytest.fixture
def campaign(app):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small()


def detail_url(campaign, key_figure: KeyFigure) -> str:
    return f"/dashboard/{campaign.slug}/sleutelfiguren/{key_figure.id}/overzicht"


def text_of(html: str) -> str:
    html = html.split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def stat(html: str, label: str) -> int:
    found = re.search(
        rf'<span class="value">([\d.]+)</span><span class="label">{label}</span>', html
    )
    assert found, label
    return int(found.group(1).replace(".", ""))


def messages_to(email: str) -> list[Message]:
    db.session.expire_all()
    query = select(Message).where(Message.recipient_email == email).order_by(Message.round)
    return list(db.session.scalars(query))


def test_the_page_shows_counts_through_the_link_and_its_forwards(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    reply = client.get(detail_url(campaign, an))
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    # seeded: 2 completed through An's link, 1 completed forward, 1 stopped; 3 opens
    assert stat(html, "keer geopend") == 3
    assert stat(html, "gestart") == 4
    assert stat(html, "afgerond") == 3
    assert stat(html, "afgerond via doorsturen") == 1
    forwards = db.session.scalar(
        select(func.count()).where(Link.key_figure_id == an.id, Link.parent_id.is_not(None))
    )
    assert f"{forwards} doorgestuurde links" in text_of(html)
    assert f'id="kf-link" type="text" readonly value="{root_link_url(an)}"' in html
    assert 'data-copy="kf-link"' in html
    assert re.search(r'href="http://campagne\.example\.org/k/[^"]+" target="_blank"', html)


def test_the_page_lists_the_mails_with_their_state(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    page = text_of(client.get(detail_url(campaign, an)).get_data(as_text=True))
    assert "Uitnodiging Verstuurd op" in page
    assert "Uitnodiging opnieuw versturen" in page
    dirk = db.session.scalar(select(KeyFigure).where(KeyFigure.email == "dirk@example.org"))
    page = text_of(client.get(detail_url(campaign, dirk)).get_data(as_text=True))
    assert "Uitnodiging In de wachtrij" in page
    assert "opnieuw versturen" not in page  # still waiting: nothing to send again


def test_resend_queues_a_new_round_once_and_records_it(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    [invitation] = messages_to(an.email)
    reply = client.post(
        f"{detail_url(campaign, an).removesuffix('overzicht')}opnieuw-versturen",
        data={"mail": invitation.id},
    )
    assert reply.headers["Location"] == detail_url(campaign, an)
    assert [(m.round, m.status) for m in messages_to(an.email)] == [(1, "sent"), (2, "queued")]
    event = db.session.scalars(
        select(CampaignEvent).where(CampaignEvent.kind == "mail_resent")
    ).one()
    assert (event.actor, event.details["key_figure_id"]) == (COORDINATOR_EMAIL, an.id)
    page = text_of(client.get(reply.headers["Location"]).get_data(as_text=True))
    assert "Een nieuwe mail voor An staat in de wachtrij" in page
    # a second click while the first is waiting changes nothing
    client.post(
        f"{detail_url(campaign, an).removesuffix('overzicht')}opnieuw-versturen",
        data={"mail": invitation.id},
    )
    assert len(messages_to(an.email)) == 2


def test_another_key_figures_mail_cannot_be_resent_from_this_page(campaign, app, client, auth):
    an, bo = seed(campaign, app)
    auth.login()
    [bos_invitation] = messages_to(bo.email)
    reply = client.post(
        f"{detail_url(campaign, an).removesuffix('overzicht')}opnieuw-versturen",
        data={"mail": bos_invitation.id},
    )
    page = text_of(client.get(reply.headers["Location"]).get_data(as_text=True))
    assert "Deze mail hoort niet bij deze sleutelfiguur." in page
    assert len(messages_to(bo.email)) == 1


def test_an_opted_out_key_figure_gets_no_resend_button(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    set_opted_out(an, True)
    auth.login()
    page = text_of(client.get(detail_url(campaign, an)).get_data(as_text=True))
    assert "opnieuw versturen" not in page
    assert "An heeft zich afgemeld en krijgt geen mail meer." in page


def test_the_lists_link_to_the_page(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    href = f'href="{detail_url(campaign, an)}"'
    assert href in client.get(f"/dashboard/{campaign.slug}/sleutelfiguren/").get_data(as_text=True)
    assert href in client.get(f"/dashboard/{campaign.slug}/").get_data(as_text=True)


def test_a_key_figure_of_another_campaign_is_not_found(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    assert client.get(f"/dashboard/andere/sleutelfiguren/{an.id}/overzicht").status_code == 404
    assert (
        client.get(f"/dashboard/{campaign.slug}/sleutelfiguren/99999/overzicht").status_code == 404
    )
