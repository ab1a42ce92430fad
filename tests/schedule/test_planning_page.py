"""The Planning page and the banner every dashboard page shows without a scheduler."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from campaign import clock
from campaign.extensions import db
from campaign.models import CampaignEvent
from campaign.schedule import runner, services

SLUG = "eerste-hulp-digitale-vragen"
BANNER = "De planner draait niet."


def test_every_dashboard_page_warns_when_no_scheduler_was_seen(client, auth, example_campaign):
    auth.login()
    for path in ("/dashboard/", f"/dashboard/{SLUG}/", f"/dashboard/{SLUG}/mails/"):
        page = client.get(path).get_data(as_text=True)
        assert BANNER in page and "nog nooit gestart" in page, path
    runner.heartbeat("planner-1")
    assert BANNER not in client.get("/dashboard/").get_data(as_text=True)


def test_the_banner_comes_back_when_the_heartbeat_is_older_than_three_minutes(
    app, client, auth, example_campaign
):
    auth.login()
    runner.heartbeat("planner-1", clock.now() - timedelta(minutes=4))
    page = client.get("/dashboard/").get_data(as_text=True)
    assert BANNER in page and "Laatst gezien op" in page
    # Public pages never show it, not even to a logged-in coordinator.
    assert BANNER not in client.get("/login").get_data(as_text=True)


def test_the_timeline_shows_the_dates_in_brussels_time_and_what_ran(
    app, client, auth, example_campaign
):
    auth.login()
    page = client.get(f"/dashboard/{SLUG}/planning/").get_data(as_text=True)
    # The example file: reminder 30 August 2027 09:00, close 15 September 23:59 (summer time).
    assert "30 augustus 2027 om 09.00 u" in page
    assert "15 september 2027 om 23.59 u" in page
    assert "Gerichte herinnering" in page and "Sluiting" in page
    assert "volgende" in page

    app.config["CLOCK"] = lambda: example_campaign.closes_at + timedelta(minutes=5)
    services.run_job("close", example_campaign.id, example_campaign.closes_at)
    page = client.get(f"/dashboard/{SLUG}/planning/").get_data(as_text=True)
    assert "De bevraging sloot op het geplande uur; 0 ingevulde vragenlijsten." in page
    assert "Sluiting: uitgevoerd" in page


def test_switching_the_invitations_at_the_opening_is_recorded(client, auth, example_campaign):
    auth.login()
    url = f"/dashboard/{SLUG}/planning/uitnodigingen"
    wanted = "aan" if not example_campaign.invite_at_open else "uit"
    reply = client.post(url, data={"automatisch": wanted}, follow_redirects=True)
    assert reply.status_code == 200
    [event] = select_events()
    assert event.actor == "coordinator@example.org"
    assert event.details == {"old": wanted != "aan", "new": wanted == "aan"}
    assert "Automatische uitnodigingen gewijzigd" in reply.get_data(as_text=True)


def select_events() -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.kind == "invite_at_open")
    return list(db.session.scalars(query))
