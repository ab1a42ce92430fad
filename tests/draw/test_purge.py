"""After the prizes and the retention period the entrants' addresses are gone: from the
draw tables, the winner mails, the SQLite file and its WAL, the .eml outbox and the log;
the proof stays and still verifies.  And the scheduler's purge job waits for all that."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from campaign.draw.prizes import mark_delivered, pass_to_reserve
from campaign.draw.published import verify_draw
from campaign.draw.purge import purge_entries
from campaign.draw.services import DrawRefused, run_draw
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.transport import outbox_dir
from campaign.models import Draw, DrawEntry, DrawTicket, Message
from campaign.schedule import services as schedule
from tests.draw.conftest import AFTER_CLOSE, COORDINATOR, enter, entrants

pytestmark = pytest.mark.usefixtures("clock")


def database_files(app: Flask) -> list[Path]:
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def draw_of(campaign) -> Draw:
    db.session.expire_all()
    return db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))


def settle_all(campaign, clock) -> None:
    """Run the draw, send the mails, pass one prize on, hand both over."""
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    assert send_queued(campaign.id, wait_for_retries=False).sent == 2
    clock.moment += timedelta(days=15)
    pass_to_reserve(campaign, 1, actor=COORDINATOR)
    assert send_queued(campaign.id, wait_for_retries=False).sent == 1
    mark_delivered(campaign, 0, actor=COORDINATOR)
    mark_delivered(campaign, 1, actor=COORDINATOR)


@pytest.mark.sqlite_only
def test_after_the_purge_no_address_is_in_the_database_file_its_wal_or_the_log(
    app, campaign, clock, runner, caplog
):
    caplog.set_level(logging.DEBUG)
    addresses = entrants(6)
    receipts = [enter(campaign, address).receipt for address in addresses]
    settle_all(campaign, clock)
    eml_files = list(outbox_dir(app).glob("*.eml"))
    assert eml_files and any(addresses[0].encode() in p.read_bytes() for p in database_files(app))
    clock.moment += timedelta(days=31)
    result = runner.invoke(args=["draw", "purge", campaign.slug])
    assert result.exit_code == 0, result.output
    assert "6 deelnames" in result.output and "3 winnaarsmails" in result.output
    db.session.remove()

    for path in database_files(app):
        data = path.read_bytes()
        for address in addresses:
            assert address.encode() not in data, (path.name, address)
            assert address.split("@")[0].encode() not in data, (path.name, address)
    wal = [p for p in database_files(app) if p.name.endswith("-wal")]
    assert all(p.stat().st_size == 0 for p in wal)
    assert not any(p.exists() for p in eml_files)
    logged = caplog.text
    for secret in [*addresses, *receipts]:
        assert secret not in logged
    # The proof stays, and verifies.
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0
    assert db.session.scalar(select(func.count()).select_from(DrawTicket)) == 0
    assert verify_draw(campaign, draw_of(campaign)) == []
    assert runner.invoke(args=["draw", "verify", campaign.slug]).exit_code == 0
    assert draw_of(campaign).receipts == sorted(receipts)


def test_the_purge_blanks_the_winner_mails_and_keeps_the_proof(campaign, clock, client):
    for address in entrants(6):
        enter(campaign, address)
    settle_all(campaign, clock)
    clock.moment += timedelta(days=31)
    purge_entries(campaign, actor=COORDINATOR)
    mails = list(db.session.scalars(select(Message).where(Message.kind == "winner")))
    assert len(mails) == 3
    for mail in mails:
        assert mail.recipient_email == f"verwijderd-{mail.id}@invalid"
        assert (mail.body_text, mail.body_html, mail.headers) == ("", "", {})
        assert mail.status == "sent" and mail.sent_at is not None
    assert verify_draw(campaign, draw_of(campaign)) == []
    page = client.get(f"/trekking/{campaign.slug}").text
    assert "zijn gewist op" in page and draw_of(campaign).seed in page
    with pytest.raises(DrawRefused, match="al gewist"):
        purge_entries(campaign, actor=COORDINATOR)
    with pytest.raises(DrawRefused, match="opnieuw trekken kan niet meer"):
        run_draw(campaign, actor=COORDINATOR, redraw_reason="te laat")


def test_the_purge_waits_for_the_prizes_and_the_retention_period(campaign, clock, runner):
    for address in entrants(6):
        enter(campaign, address)
    with pytest.raises(DrawRefused, match="nog niet gebeurd"):
        purge_entries(campaign, actor=COORDINATOR)
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    refused = runner.invoke(args=["draw", "purge", campaign.slug])
    assert refused.exit_code == 1 and "Niet elke prijs is al overhandigd" in refused.output
    mark_delivered(campaign, 0, actor=COORDINATOR)
    mark_delivered(campaign, 1, actor=COORDINATOR)
    with pytest.raises(DrawRefused, match="bewaartermijn loopt tot"):
        purge_entries(campaign, actor=COORDINATOR)

    # The scheduler's job: the purge date follows the last handover plus 30 days.
    erase_at = schedule.purge_date(campaign)
    assert erase_at == clock.moment + timedelta(days=30)
    clock.moment = erase_at - timedelta(hours=1)
    assert schedule.run_job("purge", campaign.id, erase_at)
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 6
    clock.moment = erase_at + timedelta(minutes=1)
    assert schedule.run_job("purge", campaign.id, erase_at)
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0
    event = [e for e in schedule_events(campaign) if e.kind == "draw_purged"]
    assert event and event[0].actor == "planner" and event[0].details["entries"] == 6


def schedule_events(campaign):
    from campaign.history import campaign_events

    return list(campaign_events(campaign))


def test_a_forced_purge_before_the_handover(campaign, clock, runner):
    enter(campaign, "een@example.org")
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    assert runner.invoke(args=["draw", "purge", campaign.slug, "--force"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0
    with pytest.raises(DrawRefused, match="gewist"):
        pass_to_reserve(campaign, 0, actor=COORDINATOR)
