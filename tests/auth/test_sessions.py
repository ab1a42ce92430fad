"""Coordinators' sessions end for good (ASVS V7.4.1, V7.4.3, V7.3.1, V6.2.2, V6.2.3): a
copy of the session or remember cookie taken before a logout, a password change or
reset, a deactivation or a role change opens nothing; one's own password changes with
the current one; an idle session without "Aangemeld blijven" ends after 8 hours."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from campaign import config as default_config
from campaign.auth import roles
from campaign.auth.services import (
    authenticate,
    create_coordinator,
    find_coordinator,
    send_password_link,
)
from campaign.extensions import db
from campaign.models import CampaignEvent, Message
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD

NEW_PASSWORD = "een-heel-nieuw-wachtwoord"
CHANGE = "/dashboard/wachtwoord/"


def login(client: FlaskClient, remember: bool = False, password: str = COORDINATOR_PASSWORD):
    data = {"email": COORDINATOR_EMAIL, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def copy_of(app, source: FlaskClient, *names: str) -> FlaskClient:
    """A second browser holding copies of ``names`` of ``source``'s cookies."""
    copy = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        copy.set_cookie(name, cookie.value)
    return copy


def goes_to_login(reply) -> bool:
    return reply.status_code == 302 and urlsplit(reply.location).path == "/login"


def test_a_copied_session_cookie_opens_nothing_after_the_logout(app, client, coordinator, caplog):
    assert login(client).status_code == 302
    copy = copy_of(app, client, "session")
    assert copy.get("/dashboard/").status_code == 200
    client.post("/logout")
    with caplog.at_level(logging.INFO, logger="campaign"):
        assert goes_to_login(copy.get("/dashboard/"))
    assert f"refused an ended session of coordinator {coordinator.id}" in caplog.text
    # The refused login was taken out of the copy's session: it asks to log in, no more.
    assert goes_to_login(copy.get("/dashboard/"))


def test_a_copied_remember_cookie_opens_nothing_after_the_logout(app, client, coordinator):
    assert login(client, remember=True).status_code == 302
    remembered = copy_of(app, client, "remember_token")
    assert remembered.get("/dashboard/").status_code == 200  # logged in through the cookie
    again = copy_of(app, client, "remember_token")
    client.post("/logout")
    reply = again.get("/dashboard/")
    assert goes_to_login(reply)
    # The refused remember cookie is deleted from that browser.
    assert any(c.startswith("remember_token=;") for c in reply.headers.getlist("Set-Cookie")), (
        reply.headers.getlist("Set-Cookie")
    )
    # The browser that came in through the cookie before the logout is out too.
    assert goes_to_login(remembered.get("/dashboard/"))


def test_cookies_replayed_by_a_plain_http_client_are_refused_after_the_logout(
    app, client, coordinator, live_server
):
    assert login(client, remember=True).status_code == 302
    header = "; ".join(
        f"{name}={client.get_cookie(name).value}" for name in ("session", "remember_token")
    )
    opener = urllib.request.build_opener(NoRedirect)

    def status() -> tuple[int, str]:
        request = urllib.request.Request(f"{live_server}/dashboard/", headers={"Cookie": header})
        try:
            with opener.open(request) as reply:
                return reply.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", "")

    assert status() == (200, "")
    client.post("/logout")
    code, location = status()
    assert code == 302 and urlsplit(location).path == "/login"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(
    app, client, coordinator, example_campaign
):
    login(client)
    phone = app.test_client()
    assert login(phone, remember=True).status_code == 302
    phone_cookie = copy_of(app, phone, "remember_token")
    page = client.get("/dashboard/")
    assert f'href="{CHANGE}"' in page.text  # in the header's account menu
    form = client.get(CHANGE)
    assert form.status_code == 200 and "Huidig wachtwoord" in form.text
    reply = client.post(
        CHANGE,
        data={
            "current": COORDINATOR_PASSWORD,
            "password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
    )
    assert reply.status_code == 302
    assert "Je wachtwoord is gewijzigd" in client.get(reply.location).text
    assert client.get(f"/dashboard/{example_campaign.slug}/").status_code == 200
    assert goes_to_login(phone.get("/dashboard/"))
    assert goes_to_login(phone_cookie.get("/dashboard/"))
    assert authenticate(COORDINATOR_EMAIL, COORDINATOR_PASSWORD) is None
    assert authenticate(COORDINATOR_EMAIL, NEW_PASSWORD) is not None
    event = db.session.scalar(select(CampaignEvent).where(CampaignEvent.kind == "password_changed"))
    assert event is not None and event.actor == COORDINATOR_EMAIL
    audit = client.get(f"/dashboard/{example_campaign.slug}/logboek/").text
    assert "Wachtwoord gewijzigd" in audit


def test_a_remembered_browser_stays_remembered_after_its_own_password_change(
    app, client, coordinator
):
    login(client, remember=True)
    reply = client.post(
        CHANGE,
        data={
            "current": COORDINATOR_PASSWORD,
            "password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
    )
    assert reply.status_code == 302
    # The browser is closed (its session cookie gone): the new remember cookie lets it in.
    reopened = copy_of(app, client, "remember_token")
    assert reopened.get("/dashboard/").status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "fout-wachtwoord"}, "Je huidige wachtwoord klopt niet."),
        ({"password": "kort", "confirmation": "kort"}, "minstens 10 tekens"),
        ({"password": "Azerty123456", "confirmation": "Azerty123456"}, "te makkelijk te raden"),
        ({"confirmation": "iets-helemaal-anders"}, "De twee wachtwoorden zijn niet gelijk."),
        (
            {"password": COORDINATOR_PASSWORD, "confirmation": COORDINATOR_PASSWORD},
            "Kies een ander wachtwoord dan je huidige.",
        ),
        ({"current": ""}, "Vul je huidige wachtwoord in."),
    ],
)
def test_a_refused_password_change_says_why_in_dutch_and_changes_nothing(
    app, client, coordinator, data, message
):
    login(client)
    other = app.test_client()
    login(other)
    form = {"current": COORDINATOR_PASSWORD, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    reply = client.post(CHANGE, data={**form, **data})
    assert reply.status_code == 400
    assert message in reply.text
    assert authenticate(COORDINATOR_EMAIL, COORDINATOR_PASSWORD) is not None
    assert other.get("/dashboard/").status_code == 200
    assert db.session.scalar(select(CampaignEvent.id)) is None


def test_a_viewer_and_a_partners_coordinator_change_their_own_password(app, example_campaign):
    create_coordinator("kijker@example.org", COORDINATOR_PASSWORD, role=roles.VIEWER)
    create_coordinator(
        "partner@example.org",
        COORDINATOR_PASSWORD,
        role=roles.COORDINATOR,
        partner="Huis van het Leren",
    )
    for email in ("kijker@example.org", "partner@example.org"):
        browser = app.test_client()
        browser.post("/login", data={"email": email, "password": COORDINATOR_PASSWORD})
        reply = browser.post(
            CHANGE,
            data={
                "current": COORDINATOR_PASSWORD,
                "password": NEW_PASSWORD,
                "confirmation": NEW_PASSWORD,
            },
        )
        assert reply.status_code == 302, email
        assert authenticate(email, NEW_PASSWORD) is not None


def test_a_new_password_through_a_reset_link_ends_every_session(
    app, client, coordinator, example_campaign
):
    login(client, remember=True)
    kept = copy_of(app, client, "remember_token")
    send_password_link(example_campaign, coordinator)
    message = db.session.scalar(select(Message).where(Message.kind == "account"))
    link = re.search(r"http://\S+(/wachtwoord/\S+)", message.body_text).group(1)
    stranger = app.test_client()
    reply = stranger.post(link, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert reply.status_code == 302
    assert goes_to_login(client.get("/dashboard/"))
    assert goes_to_login(kept.get("/dashboard/"))


def test_another_role_ends_the_accounts_sessions(app, client, coordinator, example_campaign):
    colleague = create_coordinator(
        "ander@example.org", COORDINATOR_PASSWORD, role=roles.COORDINATOR
    )
    other = app.test_client()
    other.post("/login", data={"email": "ander@example.org", "password": COORDINATOR_PASSWORD})
    slug = example_campaign.slug
    assert other.get(f"/dashboard/{slug}/").status_code == 200
    login(client)
    # Only the name changes: the colleague stays logged in.
    page = f"/dashboard/{slug}/team/{colleague.id}/"
    client.post(page, data={"name": "Ann", "role": roles.COORDINATOR, "partner": ""})
    assert other.get(f"/dashboard/{slug}/").status_code == 200
    client.post(page, data={"name": "Ann", "role": roles.VIEWER, "partner": ""})
    assert goes_to_login(other.get(f"/dashboard/{slug}/"))
    assert find_coordinator("ander@example.org").role == roles.VIEWER


#: The shipped setting (the tests' base config sets a longer one: see tests/conftest.py).
DEFAULT_IDLE_TIMEOUT = default_config.COORDINATOR_IDLE_TIMEOUT


def test_the_shipped_idle_timeout_is_eight_hours():
    assert DEFAULT_IDLE_TIMEOUT == 8 * 3600


class Clock:
    """The app's pinned clock (``CLOCK``), moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_eight_idle_hours_end_a_session_without_remember_me(make_app, coordinator):
    clock = Clock()
    app = make_app(CLOCK=clock, COORDINATOR_IDLE_TIMEOUT=DEFAULT_IDLE_TIMEOUT)
    browser = app.test_client()
    assert login(browser).status_code == 302
    clock.now += timedelta(hours=7, minutes=59)
    assert browser.get("/dashboard/").status_code == 200  # a request: the hours start again
    clock.now += timedelta(hours=7, minutes=59)
    assert browser.get("/dashboard/").status_code == 200
    clock.now += timedelta(hours=8, minutes=1)
    reply = browser.get("/dashboard/?tab=1")
    assert goes_to_login(reply)
    assert reply.location.endswith("next=%2Fdashboard%2F%3Ftab%3D1")
    page = browser.get(reply.location)
    assert "Je sessie is verlopen" in page.text
    assert "Meld je aan om deze pagina te bekijken" not in page.text
    assert goes_to_login(browser.get("/dashboard/"))
    # Logging in again starts a new session.
    assert login(browser).status_code == 302
    assert browser.get("/dashboard/").status_code == 200


def test_idle_hours_leave_a_remembered_session_open(make_app, coordinator):
    clock = Clock()
    app = make_app(CLOCK=clock, COORDINATOR_IDLE_TIMEOUT=DEFAULT_IDLE_TIMEOUT)
    browser = app.test_client()
    assert login(browser, remember=True).status_code == 302
    clock.now += timedelta(hours=30)
    assert browser.get("/dashboard/").status_code == 200


def test_the_idle_timeout_is_a_setting(make_app, coordinator):
    clock = Clock()
    app = make_app(CLOCK=clock, COORDINATOR_IDLE_TIMEOUT=15 * 60)
    browser = app.test_client()
    login(browser)
    clock.now += timedelta(minutes=16)
    assert goes_to_login(browser.get("/dashboard/"))


def test_a_stranger_remember_cookie_does_not_stretch_an_idle_session(make_app, coordinator):
    clock = Clock()
    app = make_app(CLOCK=clock, COORDINATOR_IDLE_TIMEOUT=DEFAULT_IDLE_TIMEOUT)
    browser = app.test_client()
    login(browser)
    browser.set_cookie("remember_token", f"{coordinator.id}|bogus")
    clock.now += timedelta(hours=9)
    assert goes_to_login(browser.get("/dashboard/"))


def test_the_remember_cookie_is_samesite_lax(client, coordinator):
    reply = login(client, remember=True)
    cookie = next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "; SameSite=Lax" in cookie
