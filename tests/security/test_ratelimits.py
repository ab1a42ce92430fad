"""Rate limits: the login per account and per client (and the same work for an unknown
account), the resume-link mail per link and per address, the draw entry, the survey start,
the counted opens of a link; a Dutch 429 with Retry-After, nothing done past a limit; keys
that hold no e-mail or IP address."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from campaign.attribution import root_link
from campaign.auth import services as auth_services
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.models import Campaign, Link, Message, Response
from campaign.ratelimits import limits, wait_text
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.conftest import load_example


def limited_app(make_app, **limits_config) -> Flask:
    """An app with the limits on (the test suite's default is off)."""
    return make_app(RATELIMIT_ENABLED=True, **limits_config)


def new_link(app: Flask, email: str = "an@example.org") -> str:
    """A new key figure's link (the example campaign loaded first, once)."""
    with app.app_context():
        campaign = db.session.scalars(select(Campaign)).first() or load_example()
        key_figure = save_key_figure(
            campaign,
            name="An",
            email=email,
            organisation="CAW",
            sector_code="welzijn",
        )
        code = root_link(key_figure).code
        db.session.remove()
    return code


def count(app: Flask, model, *where) -> int:
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
    return int(found or 0)


def login(client, email: str, password: str):
    return client.post("/login", data={"email": email, "password": password})


def assert_dutch_429(reply) -> None:
    assert reply.status_code == 429
    assert int(reply.headers["Retry-After"]) >= 1
    text = reply.get_data(as_text=True)
    assert "Te veel pogingen na elkaar" in text
    assert "opnieuw" in text


def test_login_is_throttled_per_account_even_for_the_right_password(make_app, coordinator):
    app = limited_app(make_app, RATELIMIT_LOGIN_PER_ACCOUNT="5 per 15 minutes")
    client = app.test_client()
    for _ in range(5):
        assert login(client, COORDINATOR_EMAIL, "fout-wachtwoord").status_code == 200
    assert_dutch_429(login(client, COORDINATOR_EMAIL, COORDINATOR_PASSWORD))
    # Written otherwise, the same account.
    assert_dutch_429(login(client, "  Coordinator@Example.org ", COORDINATOR_PASSWORD))
    # Another account from the same client is not locked out by it.
    assert login(client, "iemand@example.org", "x").status_code == 200


def test_the_own_password_change_is_throttled_per_account(make_app, coordinator):
    app = limited_app(make_app, RATELIMIT_PASSWORD_CHANGE_PER_ACCOUNT="3 per 15 minutes")
    client = app.test_client()
    assert login(client, COORDINATOR_EMAIL, COORDINATOR_PASSWORD).status_code == 302
    new = "een-heel-ander-wachtwoord"
    form = {"password": new, "confirmation": new}
    for _ in range(3):
        guess = client.post("/dashboard/wachtwoord/", data={"current": "geraden", **form})
        assert guess.status_code == 400
    # Past the limit even the right current password changes nothing.
    right = client.post("/dashboard/wachtwoord/", data={"current": COORDINATOR_PASSWORD, **form})
    assert_dutch_429(right)
    assert auth_services.authenticate(COORDINATOR_EMAIL, COORDINATOR_PASSWORD) is not None
    # Another account is not held back by it.
    with app.app_context():
        auth_services.create_coordinator("tweede@example.org", COORDINATOR_PASSWORD)
        db.session.remove()
    other = app.test_client()
    assert login(other, "tweede@example.org", COORDINATOR_PASSWORD).status_code == 302
    reply = other.post("/dashboard/wachtwoord/", data={"current": COORDINATOR_PASSWORD, **form})
    assert reply.status_code == 302


def test_login_is_throttled_per_client_over_all_accounts(make_app, coordinator):
    app = limited_app(make_app, RATELIMIT_LOGIN_PER_CLIENT="8 per 15 minutes")
    client = app.test_client()
    for number in range(8):
        assert login(client, f"raden{number}@example.org", "x").status_code == 200
    assert_dutch_429(login(client, COORDINATOR_EMAIL, COORDINATOR_PASSWORD))
    other = app.test_client()
    reply = other.post(
        "/login",
        data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert reply.status_code == 302  # another client logs in


def test_an_unknown_account_costs_a_password_check_too(app):
    auth_services._dummy_hash.cache_clear()
    assert auth_services.authenticate("niemand@example.org", "raad-eens") is None
    assert auth_services._dummy_hash.cache_info().misses == 1
    assert auth_services.authenticate("niemand@example.org", "nog-eens") is None
    assert auth_services._dummy_hash.cache_info().hits == 1


def started(app: Flask, code: str):
    client = app.test_client()
    assert client.get(f"/s/{code}").status_code == 200
    assert client.post(f"/s/{code}/start").status_code == 200
    return client


def test_the_resume_mail_is_limited_per_link_and_per_address(make_app):
    app = limited_app(make_app)
    code = new_link(app)
    respondent = started(app, code)
    for number in range(3):
        reply = respondent.post(f"/s/{code}/link-mailen", data={"email": f"a{number}@example.org"})
        assert reply.status_code == 302
    assert_dutch_429(respondent.post(f"/s/{code}/link-mailen", data={"email": "b@example.org"}))
    assert count(app, Message, Message.kind == "resume") == 3
    # One address, through other respondents' links: at most three mails an hour.
    for number in range(3):
        other_code = new_link(app, f"kf{number}@example.org")
        reply = started(app, other_code).post(
            f"/s/{other_code}/link-mailen", data={"email": "Slachtoffer@example.org"}
        )
        assert reply.status_code == 302
    last_code = new_link(app, "kf9@example.org")
    reply = started(app, last_code).post(
        f"/s/{last_code}/link-mailen", data={"email": "slachtoffer@example.org"}
    )
    assert_dutch_429(reply)
    assert count(app, Message, Message.recipient_email == "slachtoffer@example.org") == 3


def test_the_survey_start_is_limited_per_client_and_nothing_is_made_past_it(make_app):
    app = limited_app(make_app, RATELIMIT_START_PER_CLIENT="4 per hour")
    code = new_link(app)
    for _ in range(4):
        assert app.test_client().post(f"/s/{code}/start").status_code == 200
    assert_dutch_429(app.test_client().post(f"/s/{code}/start"))
    assert count(app, Response) == 4


def test_the_survey_start_is_limited_per_link(make_app):
    app = limited_app(make_app, RATELIMIT_START_PER_LINK="3 per hour")
    code = new_link(app)
    for number in range(3):
        client = app.test_client()
        reply = client.post(f"/s/{code}/start", environ_base={"REMOTE_ADDR": f"192.0.2.{number}"})
        assert reply.status_code == 200
    reply = app.test_client().post(f"/s/{code}/start", environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert_dutch_429(reply)


def test_draw_entries_are_limited_per_client(make_app):
    app = limited_app(make_app, RATELIMIT_DRAW_PER_CLIENT="3 per hour")
    code = new_link(app)
    client = app.test_client()
    for _ in range(3):
        assert (
            client.post(f"/s/{code}/wedstrijd", data={"email": "x@example.org"}).status_code == 302
        )
    assert_dutch_429(client.post(f"/s/{code}/wedstrijd", data={"email": "x@example.org"}))


def test_draw_entries_are_limited_per_ticket(make_app):
    app = limited_app(make_app, RATELIMIT_DRAW_PER_TICKET="2 per hour")
    code = new_link(app)
    client = app.test_client()
    for _ in range(2):
        reply = client.post(f"/s/{code}/wedstrijd", data={"ticket": "een-ticket"})
        assert reply.status_code == 302
    assert_dutch_429(client.post(f"/s/{code}/wedstrijd", data={"ticket": "een-ticket"}))
    # Another ticket from the same client is not held back by it.
    assert client.post(f"/s/{code}/wedstrijd", data={"ticket": "ander"}).status_code == 302


def test_the_draw_limit_lets_an_office_behind_one_address_through(make_app):
    """The default limits: 50 colleagues behind one address, each with the ticket of their
    own completed response, within the hour (20 per client was the limit once)."""
    app = limited_app(make_app)
    code = new_link(app)
    for number in range(50):
        reply = app.test_client().post(f"/s/{code}/wedstrijd", data={"ticket": f"t{number}"})
        assert reply.status_code == 302, number


def test_openings_past_the_links_cap_are_shown_but_not_counted(make_app):
    app = limited_app(make_app, RATELIMIT_OPENS_PER_LINK="3 per hour")
    code = new_link(app)
    for _ in range(5):  # five browsers without cookies
        assert app.test_client().get(f"/s/{code}").status_code == 200
    with app.app_context():
        opened = db.session.scalar(select(Link.open_count).where(Link.code == code))
        db.session.remove()
    assert opened == 3


def test_the_limits_keys_hold_no_address_or_email(make_app, coordinator):
    app = limited_app(make_app)
    client = app.test_client()
    login(client, COORDINATOR_EMAIL, "fout")
    with app.app_context():
        storage = limits().limiter.storage
        keys = " ".join(str(key) for key in storage.storage)  # the memory store's counters
    assert keys  # something was counted
    assert "127.0.0.1" not in keys
    assert COORDINATOR_EMAIL not in keys


def test_the_wait_is_said_in_dutch():
    assert wait_text(1) == "over 1 seconde"
    assert wait_text(40.2) == "over 41 seconden"
    assert wait_text(60) == "over 1 minuut"
    assert wait_text(14 * 60 + 3) == "over 15 minuten"
    assert wait_text(3600) == "over een uur"
    assert wait_text(3601) == "over 2 uur"
