"""Channels: general links (a website, a newsletter, a poster) with their own code, QR code
and counts, credited like a key figure's link (forwards too), shown apart on the
dashboard while the totals still add up."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from campaign import attribution
from campaign.channels import services
from campaign.channels.services import ChannelError, ChannelValues
from campaign.extensions import db
from campaign.models import Campaign, Channel, Link, Response
from tests.test_attribution import (
    SMALL_CAMPAIGN,
    TEN_DAYS_IN,
    forward_of,
    key_figure,
    load_small,
    own_link,
    respond,
)

TWO_PARTNERS = SMALL_CAMPAIGN.replace(
    "organisers: [Huis van het Leren]", "organisers: [Huis van het Leren, POM West-Vlaanderen]"
)


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small(text=TWO_PARTNERS)


def channel_link_of(channel: Channel) -> Link:
    return db.session.scalar(
        select(Link).where(Link.channel_id == channel.id, Link.parent_id.is_(None))
    )


def test_a_channel_gets_its_own_unguessable_link_and_credits_answers_and_forwards(campaign):
    channel = services.create_channel(campaign, ChannelValues("Nieuwsbrief juni", "newsletter"))
    link = channel_link_of(channel)
    assert link.key_figure_id is None and len(link.code) >= 14
    first = respond(link, sector="welzijn")
    forwarded = forward_of(first)
    assert forwarded.channel_id == channel.id and forwarded.key_figure_id is None
    respond(forwarded, sector="onderwijs")
    respond(forward_of(first), finish=False)
    counts = attribution.counts_by_channel(campaign)
    assert counts[channel.id] == attribution.Counts(started=3, completed=2)
    # Nobody else is credited: the key figures' counts know nothing of the channel.
    assert set(attribution.counts_by_key_figure(campaign)) == {None}


def test_channel_and_key_figure_counts_add_up_to_the_totals_and_sectors(campaign):
    person = key_figure(campaign, "an@example.org")
    respond(own_link(person), sector="welzijn")
    poster = services.create_channel(campaign, ChannelValues("Affiche bib", "poster"))
    respond(channel_link_of(poster), sector="onderwijs")
    respond(channel_link_of(poster))  # no sector answered, and a channel has none
    totals = attribution.response_totals(campaign)
    by_key_figure = attribution.counts_by_key_figure(campaign)[person.id]
    by_channel = attribution.counts_by_channel(campaign)[poster.id]
    assert totals.completed == by_key_figure.completed + by_channel.completed == 3
    sectors = attribution.counts_by_sector(campaign)
    assert sum(c.completed for c in sectors.values()) == totals.completed
    assert sectors[None].completed == 1


def test_opens_through_a_channel_are_counted_apart(app, campaign):
    channel = services.create_channel(campaign, ChannelValues("Website", "website"))
    code = channel_link_of(channel).code
    for _visitor in range(2):  # one opening per browser session
        app.test_client().get(f"/s/{code}")
    assert attribution.opens_by_channel(campaign) == {channel.id: 2}
    rows = services.channel_rows(campaign)
    assert [(r.name, r.opened, r.started) for r in rows] == [("Website", 2, 0)]
    assert rows[0].url.endswith(f"/s/{code}")


def test_a_bad_or_duplicate_name_is_refused_in_dutch_and_nothing_is_written(campaign):
    services.create_channel(campaign, ChannelValues("Nieuwsbrief", "newsletter"))
    with pytest.raises(ChannelError) as caught:
        services.create_channel(campaign, ChannelValues("  nieuwsbrief ", "newsletter"))
    assert "al een kanaal" in caught.value.errors["name"]
    with pytest.raises(ChannelError) as caught:
        services.create_channel(campaign, ChannelValues("", "raket", partner="Onbekend"))
    assert set(caught.value.errors) == {"name", "kind", "partner"}
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 1
    assert db.session.scalar(select(func.count()).where(Link.channel_id.is_not(None))) == 1


def test_the_partner_defaults_to_the_first_organiser_and_is_spelled_as_in_the_file(campaign):
    first = services.create_channel(campaign, ChannelValues("A"))
    second = services.create_channel(campaign, ChannelValues("B", partner="pom west-vlaanderen"))
    assert (first.partner, second.partner) == ("Huis van het Leren", "POM West-Vlaanderen")


def test_channels_page_creates_a_channel_and_shows_it_with_its_link(campaign, auth, client):
    auth.login()
    reply = client.post(
        f"/dashboard/{campaign.slug}/kanalen/",
        data={"name": "Affiche bibliotheek Brugge", "kind": "poster", "partner": "", "note": ""},
    )
    assert reply.status_code == 302
    channel = db.session.scalar(select(Channel))
    assert channel.created_by == "coordinator@example.org"
    page = client.get(f"/dashboard/{campaign.slug}/kanalen/{channel.id}/").get_data(as_text=True)
    assert channel_link_of(channel).code in page
    bad = client.post(f"/dashboard/{campaign.slug}/kanalen/", data={"name": "", "kind": "poster"})
    assert bad.status_code == 400 and "Geef het kanaal een naam" in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    "kind, mimetype, magic", [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<?xml")]
)
def test_the_qr_code_downloads_as_png_and_svg(campaign, auth, client, kind, mimetype, magic):
    channel = services.create_channel(campaign, ChannelValues("Affiche"))
    auth.login()
    reply = client.get(f"/dashboard/{campaign.slug}/kanalen/{channel.id}/qr.{kind}")
    assert reply.status_code == 200 and reply.mimetype == mimetype
    assert reply.data.startswith(magic)
    assert client.get(f"/dashboard/{campaign.slug}/kanalen/{channel.id}/qr.gif").status_code == 404


def test_the_dashboard_shows_channels_apart_with_their_counts(campaign, auth, client):
    channel = services.create_channel(campaign, ChannelValues("Nieuwsbrief juni", "newsletter"))
    respond(channel_link_of(channel), sector="welzijn")
    respond(channel_link_of(channel), sector="welzijn")
    auth.login()
    page = client.get(f"/dashboard/{campaign.slug}/").get_data(as_text=True)
    section = page[page.index('id="kanalen"') :]
    assert "Nieuwsbrief juni" in section
    row = section[section.index('data-channel="Nieuwsbrief juni"') :]
    assert 'data-figure-channel="completed">2<' in row
    assert db.session.scalar(select(func.count()).select_from(Response)) == 2
