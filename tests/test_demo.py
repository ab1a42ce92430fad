"""`flask demo`: a living example campaign, and stats that equal the database."""

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.mailing.transport import outbox_dir
from campaign.models import KeyFigure, Link, Response, Sector


def stats(runner) -> dict:
    result = runner.invoke(args=["campaign", "stats", "eerste-hulp-digitale-vragen", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_demo_loads_an_open_campaign_with_key_figures_answers_and_a_login(runner, client):
    result = runner.invoke(args=["demo", "--respondents", "30"])
    assert result.exit_code == 0, result.output
    assert "demo@example.org / demo-wachtwoord-2026" in result.output
    data = stats(runner)
    assert data["state"] == "open"
    assert len(data["key_figures"]) == 40
    assert data["started"] == 30
    assert 0 < data["completed"] < 30
    login = client.post(
        "/login", data={"email": "demo@example.org", "password": "demo-wachtwoord-2026"}
    )
    assert login.status_code == 302


def test_demo_twice_adds_nothing(runner):
    runner.invoke(args=["demo", "--respondents", "10"])
    again = runner.invoke(args=["demo", "--respondents", "10"])
    assert again.exit_code == 0
    assert "0 sleutelfiguren, 0 verstuurde uitnodigingen en 0 antwoorden" in again.output
    assert stats(runner)["started"] == 10


def test_stats_json_equals_the_database(runner):
    runner.invoke(args=["demo", "--respondents", "40"])
    data = stats(runner)
    completed = Response.completed_at.is_not(None)
    assert data["started"] == db.session.scalar(select(func.count()).select_from(Response))
    assert data["completed"] == db.session.scalar(select(func.count()).where(completed))
    for sector in data["sectors"]:
        expected = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Sector, Response.sector_id == Sector.id)
            .where(Sector.code == sector["code"], completed)
        )
        assert sector["completed"] == expected, sector
    for key_figure in data["key_figures"]:
        expected = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Link, Response.link_id == Link.id)
            .join(KeyFigure, Link.key_figure_id == KeyFigure.id)
            .where(KeyFigure.email == key_figure["email"], completed)
        )
        assert key_figure["completed"] == expected, key_figure
    assert sum(s["completed"] for s in data["sectors"]) == data["completed"]
    # What the key figures did not bring came through the demo's channels.
    through_channels = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .join(Link, Response.link_id == Link.id)
        .where(Link.channel_id.is_not(None), completed)
    )
    assert sum(k["completed"] for k in data["key_figures"]) + through_channels == data["completed"]


def test_demo_follows_the_pinned_clock(app, runner):
    pinned = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    app.config["CLOCK"] = lambda: pinned
    assert runner.invoke(args=["demo", "--respondents", "8"]).exit_code == 0
    assert stats(runner)["state"] == "open"
    latest = db.session.scalar(select(func.max(Response.started_at)))
    assert latest.replace(tzinfo=UTC) <= pinned


def test_the_demo_is_half_way_invitations_sent_channels_used_answers_over_weeks(app, runner):
    from campaign.models import Channel, Message, MessageStatus

    result = runner.invoke(args=["demo", "--respondents", "120"])
    assert "40 sleutelfiguren, 40 verstuurde uitnodigingen en 120 antwoorden" in result.output
    campaign_id = db.session.scalar(select(Response.campaign_id))
    invitations = list(db.session.scalars(select(Message).where(Message.kind == "invitation")))
    assert len(invitations) == 40 and {m.status for m in invitations} == {MessageStatus.SENT}
    assert len(list(outbox_dir(app).glob("*.eml"))) == 40
    channels = list(db.session.scalars(select(Channel).where(Channel.campaign_id == campaign_id)))
    assert len(channels) == 2
    through_channels = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .join(Link, Link.id == Response.link_id)
        .where(Link.channel_id.is_not(None))
    )
    assert 0 < through_channels < 120
    days = {r.started_at.date() for r in db.session.scalars(select(Response))}
    assert len(days) > 10  # spread over the three weeks since the opening
