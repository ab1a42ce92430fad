"""The public page, its downloads, the dashboard's Trekking tab and `flask draw run`, and
the whole story of the issue's "done when" with a real SMTP server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaign.draw.prizes import pass_to_reserve
from campaign.draw.services import run_draw
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.models import CampaignEvent, Draw
from tests.draw.conftest import AFTER_CLOSE, COORDINATOR, enter, entrants

pytestmark = pytest.mark.usefixtures("clock")


def draw_of(campaign) -> Draw:
    db.session.expire_all()
    return db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))


def test_the_public_page_shows_receipts_never_addresses(client, campaign, clock, entered):
    before = client.get(f"/trekking/{campaign.slug}")
    assert before.status_code == 200 and "De wedstrijd loopt nog" in before.text
    assert not any(receipt in before.text for receipt in entered)  # not frozen yet
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    page = client.get(f"/trekking/{campaign.slug}").text
    draw = draw_of(campaign)
    for receipt, email in entered.items():
        assert receipt in page and email not in page
    assert draw.seed in page and draw.receipts_hash in page and draw.commitment in page
    assert COORDINATOR not in page
    winner = draw.winners[0]
    found = client.get(f"/trekking/{campaign.slug}?code={winner.lower()}").text
    assert f"{winner} wint prijs 1." in found
    missing = client.get(f"/trekking/{campaign.slug}?code=XXXX-XXXX").text
    assert "XXXX-XXXX staat niet op de lijst" in missing
    assert client.get("/trekking/bestaat-niet").status_code == 404


def test_anyone_can_recompute_the_draw_from_the_downloads(
    client, campaign, clock, entered, tmp_path
):
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    data = client.get(f"/trekking/{campaign.slug}.json")
    assert data.status_code == 200 and data.mimetype == "application/json"
    assert not any(email in data.text for email in entered.values())
    script = client.get(f"/trekking/{campaign.slug}/controle.py")
    (tmp_path / "trekking.json").write_bytes(data.data)
    (tmp_path / "controle.py").write_bytes(script.data)
    result = subprocess.run(
        [sys.executable, "-I", "-S", "controle.py", "trekking.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"1 {draw_of(campaign).winners[0]}" in result.stdout
    published = json.loads(data.text)
    published["receipts"] = published["receipts"][1:]
    (tmp_path / "trekking.json").write_text(json.dumps(published))
    tampered = subprocess.run(
        [sys.executable, "-I", "-S", "controle.py", "trekking.json"],
        cwd=tmp_path,
        capture_output=True,
    )
    assert tampered.returncode == 1


def test_the_dashboard_refuses_the_draw_before_the_close(client, auth, campaign, entered):
    auth.login()
    page = client.get(f"/dashboard/{campaign.slug}/trekking/").text
    assert 'aria-current="page">Trekking' in page
    assert "disabled" in page and "De trekking kan pas vanaf" in page
    reply = client.post(f"/dashboard/{campaign.slug}/trekking/uitvoeren", follow_redirects=True)
    assert "De trekking kan pas na de sluiting" in reply.text
    assert draw_of(campaign).performed_at is None


def test_a_coordinator_runs_passes_on_and_erases_from_the_dashboard(
    client, auth, campaign, clock, entered
):
    auth.login()
    clock.moment = AFTER_CLOSE
    confirm = client.get(f"/dashboard/{campaign.slug}/trekking/bevestigen").text
    assert "Ja, de trekking nu uitvoeren" in confirm
    reply = client.post(f"/dashboard/{campaign.slug}/trekking/uitvoeren", follow_redirects=True)
    assert "De trekking is gebeurd: 2 winnaars, 2 mails in de wachtrij." in reply.text
    draw = draw_of(campaign)
    for receipt in draw.winners:
        assert entered[receipt] in reply.text  # coordinators see who won
    again = client.post(f"/dashboard/{campaign.slug}/trekking/uitvoeren", follow_redirects=True)
    assert "al gebeurd" in again.text
    empty_reason = client.post(
        f"/dashboard/{campaign.slug}/trekking/uitvoeren",
        data={"opnieuw": "ja", "reden": " "},
        follow_redirects=True,
    )
    assert "Geef een reden" in empty_reason.text
    early = client.post(
        f"/dashboard/{campaign.slug}/trekking/prijs/2/doorgeven", follow_redirects=True
    )
    assert "kan de prijs nog opeisen tot" in early.text
    clock.moment += timedelta(days=15)
    passed = client.post(
        f"/dashboard/{campaign.slug}/trekking/prijs/2/doorgeven", follow_redirects=True
    )
    assert "Prijs 2 gaat naar de volgende reserve" in passed.text
    assert draw_of(campaign).awards[1]["receipt"] == draw.reserves[0]
    for number in (1, 2):
        client.post(f"/dashboard/{campaign.slug}/trekking/prijs/{number}/overhandigd")
    unconfirmed = client.post(f"/dashboard/{campaign.slug}/trekking/wissen", follow_redirects=True)
    assert "Vink aan" in unconfirmed.text
    early_purge = client.post(
        f"/dashboard/{campaign.slug}/trekking/wissen",
        data={"bevestig": "ja"},
        follow_redirects=True,
    )
    assert "De bewaartermijn loopt tot" in early_purge.text
    purged = client.post(
        f"/dashboard/{campaign.slug}/trekking/wissen",
        data={"bevestig": "ja", "toch": "ja"},
        follow_redirects=True,
    )
    assert "8 deelnames aan de trekking en 3 winnaarsmails gewist." in purged.text
    assert not any(email in purged.text for email in entered.values())
    kinds = {
        e.kind: e.actor
        for e in db.session.scalars(select(CampaignEvent).where(CampaignEvent.kind.like("draw_%")))
    }
    assert kinds == {
        "draw_frozen": "planner",
        "draw_run": "coordinator@example.org",
        "draw_passed": "coordinator@example.org",
        "draw_delivered": "coordinator@example.org",
        "draw_purged": "coordinator@example.org",
    }


def test_draw_run_on_the_command_line(runner, campaign, clock, entered):
    refused = runner.invoke(args=["draw", "run", campaign.slug])
    assert refused.exit_code == 1 and "pas na de sluiting" in refused.output
    clock.moment = AFTER_CLOSE
    result = runner.invoke(args=["draw", "run", campaign.slug])
    assert result.exit_code == 0, result.output
    draw = draw_of(campaign)
    assert f"Seed: {draw.seed}" in result.output and f"Prijs 1: {draw.winners[0]}" in result.output
    twice = runner.invoke(args=["draw", "run", campaign.slug])
    assert twice.exit_code == 1 and "al gebeurd" in twice.output
    redo = runner.invoke(args=["draw", "run", campaign.slug, "--redraw", "Fout in de mails"])
    assert redo.exit_code == 0, redo.output
    assert draw_of(campaign).rounds[0]["reason"] == "Fout in de mails"
    assert runner.invoke(args=["draw", "verify", "onbekend"]).exit_code == 1


def test_done_when_the_two_winners_get_their_mail_and_a_reserve_takes_over(
    smtp_app, smtp_server, campaign, clock
):
    sink, _port = smtp_server
    smtp_app.config["CLOCK"] = clock
    addresses = entrants(5)
    receipts = {enter(campaign, address).receipt: address for address in addresses}
    clock.moment = AFTER_CLOSE
    draw = run_draw(campaign, actor=COORDINATOR).draw
    assert send_queued(campaign.id, wait_for_retries=False).sent == 2
    got = {message["To"]: message for message in sink.messages}
    assert set(got) == {receipts[r] for r in draw.winners}
    for receipt in draw.winners:
        body = got[receipts[receipt]].get_body(("plain",)).get_content()
        assert receipt in body and "Proficiat" in body
    clock.moment += timedelta(days=15)
    pass_to_reserve(campaign, 0, actor=COORDINATOR)
    assert send_queued(campaign.id, wait_for_retries=False).sent == 1
    assert sink.messages[-1]["To"] == receipts[draw.reserves[0]]
    page = smtp_app.test_client().get(f"/trekking/{campaign.slug}").text
    assert f"naar reserve 1, {draw.reserves[0]}" in page
