"""The one access check: every /dashboard/ URL rule of the app, walked as an account
limited to a partner, as a viewer and without logging in.  A new page is covered by
itself (refused to a partner-limited account until it is marked ``partner_scoped``)."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaign.auth import roles
from campaign.auth.services import create_coordinator
from campaign.channels.services import ChannelValues, create_channel
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.models import Campaign, Channel, KeyFigure

PASSWORD = "een-lang-wachtwoord"
OWN, OTHER = "Huis van het Leren", "POM West-Vlaanderen"

#: The pages an account limited to a partner may open: each filters what it shows by that
#: partner.  Marking another page ``partner_scoped`` is a decision: add it here with care.
PARTNER_SCOPED = {
    "dashboard.index",
    "dashboard.campaign",
    "dashboard.figures_json",
    "dashboard.plotly_js",
    "contacts.index",
    "contacts.new",
    "contacts.edit",
    "contacts.detail",
    "contacts.resend",
    "contacts.opt_out",
    "contacts.upload",
    "contacts.import_checked",
    "contacts.confirm_opt_out",
    "contacts.download_template",
    "preview.page",
    "preview.clear",
    "channels.index",
    "channels.edit",
    "channels.qr",
}

#: The pages about the logged-in account itself (``own_account``), open to every account.
OWN_ACCOUNT = {"auth.change_password"}


def dashboard_rules(app: Flask) -> list:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/dashboard/")),
        key=lambda r: r.rule,
    )


def url_for_rule(rule, values: dict) -> str:
    """The rule's path with a sample value for each argument; fails on an argument
    nobody chose a sample for, so a new kind of URL is looked at."""

    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        assert name in values, f"{rule.rule}: no sample value for <{name}> in this test"
        return str(values[name])

    return re.sub(r"<([^>]+)>", value, rule.rule)


@pytest.fixture
def world(app: Flask, example_campaign: Campaign) -> dict:
    """Key figures and channels of two partners, and one account of each kind."""
    own = save_key_figure(example_campaign, name="Eigen", email="eigen@example.org", partner=OWN)
    other = save_key_figure(
        example_campaign, name="Ander", email="ander@example.org", partner=OTHER
    )
    own_channel = create_channel(example_campaign, ChannelValues("Eigen site", partner=OWN))
    other_channel = create_channel(example_campaign, ChannelValues("Andere site", partner=OTHER))
    admin = create_coordinator("admin@example.org", PASSWORD, "Beheerder")
    create_coordinator("partner@example.org", PASSWORD, role=roles.COORDINATOR, partner=OWN)
    create_coordinator("kijker@example.org", PASSWORD, role=roles.VIEWER)
    return {
        "campaign": example_campaign,
        "own": own.id,
        "other": other.id,
        "own_channel": own_channel.id,
        "other_channel": other_channel.id,
        "admin": admin.id,
    }


def samples(world: dict, mine: bool) -> dict:
    return {
        "slug": world["campaign"].slug,
        "key_figure_id": world["own" if mine else "other"],
        "channel_id": world["own_channel" if mine else "other_channel"],
        "account_id": world["admin"],
        "message_id": 1,
        "kind": "png",
        "file_format": "csv",
        "name": "1.eml",
        "question_id": "sector",
        "number": 1,
    }


def login(client: FlaskClient, email: str) -> None:
    reply = client.post("/login", data={"email": email, "password": PASSWORD})
    assert reply.status_code == 302, reply.get_data(as_text=True)


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_the_partner_scoped_pages_are_exactly_the_reviewed_ones(app):
    marked = {
        rule.endpoint
        for rule in dashboard_rules(app)
        if getattr(app.view_functions[rule.endpoint], "partner_scoped", False)
    }
    assert marked == PARTNER_SCOPED
    own = {
        rule.endpoint
        for rule in dashboard_rules(app)
        if getattr(app.view_functions[rule.endpoint], "own_account", False)
    }
    assert own == OWN_ACCOUNT


def test_a_partner_limited_coordinator_gets_only_its_partners_pages_and_items(app, client, world):
    login(client, "partner@example.org")
    for rule in dashboard_rules(app):
        for method in methods(rule):
            for mine in (True, False):
                url = url_for_rule(rule, samples(world, mine))
                reply = client.open(url, method=method)
                reply.close()  # a file or a streamed download
                where = f"{method} {url} ({rule.endpoint})"
                if rule.endpoint in OWN_ACCOUNT:
                    assert reply.status_code < 500 and reply.status_code != 403, where
                elif rule.endpoint not in PARTNER_SCOPED:
                    assert reply.status_code == 403, where
                    text = reply.get_data(as_text=True)
                    assert "beperkt tot Huis van het Leren" in text or "campagnebeheerder" in text
                elif not mine and ("<int:key_figure_id>" in rule.rule or "channel_id" in rule.rule):
                    assert reply.status_code == 404, where
                    assert "hoort niet bij Huis van het Leren" in reply.get_data(as_text=True)
                else:
                    assert reply.status_code < 500 and reply.status_code not in (403, 404), where
    # Nothing of the other partner changed on the way (the opt-out was refused).
    other = db.session.get(KeyFigure, world["other"])
    db.session.refresh(other)
    assert other.opted_out_at is None and other.partner == OTHER


def test_a_viewer_reads_every_page_but_changes_nothing(app, client, world):
    login(client, "kijker@example.org")
    for rule in dashboard_rules(app):
        for method in methods(rule):
            url = url_for_rule(rule, samples(world, mine=True))
            reply = client.open(url, method=method)
            reply.close()
            where = f"{method} {url} ({rule.endpoint})"
            admin_only = getattr(app.view_functions[rule.endpoint], "admin_only", False)
            if rule.endpoint in OWN_ACCOUNT:
                assert reply.status_code < 500 and reply.status_code != 403, where
            elif method != "GET" or admin_only:
                assert reply.status_code == 403, where
            else:
                assert reply.status_code < 500 and reply.status_code != 403, where
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 2


def test_nobody_logged_out_gets_a_dashboard_page(app, client, world):
    for rule in dashboard_rules(app):
        for method in methods(rule):
            url = url_for_rule(rule, samples(world, mine=True))
            reply = client.open(url, method=method)
            reply.close()
            assert reply.status_code == 302 and "/login" in reply.location, f"{method} {url}"


def test_only_the_administrator_manages_accounts(app, client, world):
    create_coordinator("coord@example.org", PASSWORD, role=roles.COORDINATOR)
    login(client, "coord@example.org")
    slug = world["campaign"].slug
    assert client.get(f"/dashboard/{slug}/team/").status_code == 403
    reply = client.post(f"/dashboard/{slug}/team/", data={"email": "x@example.org"})
    assert reply.status_code == 403
    assert client.get(f"/dashboard/{slug}/sleutelfiguren/").status_code == 200


def test_the_partner_sees_its_own_key_figures_networks_and_channels_and_the_totals(client, world):
    slug = world["campaign"].slug
    login(client, "partner@example.org")
    listing = client.get(f"/dashboard/{slug}/sleutelfiguren/").get_data(as_text=True)
    assert "eigen@example.org" in listing and "ander@example.org" not in listing
    overview = client.get(f"/dashboard/{slug}/").get_data(as_text=True)
    assert "eigen@example.org" in overview and "ander@example.org" not in overview
    assert "Eigen site" in overview and "Andere site" not in overview
    # The campaign-wide totals stay: both key figures are counted.
    assert 'data-figure="key_figures">2<' in overview
    channels = client.get(f"/dashboard/{slug}/kanalen/").get_data(as_text=True)
    assert "Eigen site" in channels and "Andere site" not in channels
    # The tabs show only what the account may open.
    assert "/team/" not in overview and "/mails/" not in overview


def test_a_partner_cannot_give_a_key_figure_or_channel_to_another_partner(client, world):
    slug = world["campaign"].slug
    login(client, "partner@example.org")
    reply = client.post(
        f"/dashboard/{slug}/sleutelfiguren/nieuw",
        data={"name": "Nieuw", "email": "nieuw@example.org", "partner": OTHER},
    )
    assert reply.status_code == 200 and "beperkt tot Huis van het Leren" in reply.get_data(
        as_text=True
    )
    client.post(
        f"/dashboard/{slug}/sleutelfiguren/nieuw", data={"name": "N", "email": "n@example.org"}
    )
    assert (
        db.session.scalar(select(KeyFigure.partner).where(KeyFigure.email == "n@example.org"))
        == OWN
    )
    assert (
        db.session.scalar(select(func.count()).where(KeyFigure.email == "nieuw@example.org")) == 0
    )


def test_a_partners_import_refuses_another_partners_key_figure(client, world):
    slug = world["campaign"].slug
    login(client, "partner@example.org")
    data = "naam;e-mail\r\nAnder Nieuw;ander@example.org\r\nIemand;iemand@example.org\r\n"
    reply = client.post(
        f"/dashboard/{slug}/sleutelfiguren/importeren",
        data={"file": (io.BytesIO(data.encode()), "lijst.csv"), "submit": "1"},
        content_type="multipart/form-data",
    )
    page = reply.get_data(as_text=True)
    assert (
        "Niets geïmporteerd" in page
        and "ander@example.org is een sleutelfiguur van een andere partner" in page
    )
    other = db.session.get(KeyFigure, world["other"])
    db.session.refresh(other)
    assert other.name == "Ander"
    assert (
        db.session.scalar(select(func.count()).where(KeyFigure.email == "iemand@example.org")) == 0
    )


def test_the_csv_template_names_the_partner_column(client, world):
    login(client, "partner@example.org")
    reply = client.get(f"/dashboard/{world['campaign'].slug}/sleutelfiguren/sjabloon.csv")
    lines = reply.data.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(";bereik;partner")
    assert all(line.endswith(";Huis van het Leren") for line in lines[1:])


def test_a_coordinator_of_every_partner_filters_the_key_figures_by_partner(client, world):
    slug = world["campaign"].slug
    login(client, "admin@example.org")
    everyone = client.get(f"/dashboard/{slug}/sleutelfiguren/").get_data(as_text=True)
    assert "eigen@example.org" in everyone and "ander@example.org" in everyone
    assert '<td data-label="Partner">POM West-Vlaanderen</td>' in everyone
    one = client.get(f"/dashboard/{slug}/sleutelfiguren/?partner={OTHER}").get_data(as_text=True)
    assert "ander@example.org" in one and "eigen@example.org" not in one
    # A limited account cannot widen its view with the same parameter.
    client.post("/logout")
    login(client, "partner@example.org")
    url = f"/dashboard/{slug}/sleutelfiguren/?partner={OTHER}"
    limited = client.get(url).get_data(as_text=True)
    assert "ander@example.org" not in limited and 'id="partner"' not in limited
