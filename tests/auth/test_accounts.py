"""Accounts managed on the dashboard: an invitation by mail with a one-time link to set a
password (through the outbox), single use and expiring; deactivation; a new link (reset);
roles and partner limits; ``flask users create --role``; and the audit trail."""

from __future__ import annotations

import re
import threading
import time

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from campaign.auth import roles
from campaign.auth.services import (
    AccountChoice,
    AccountError,
    create_coordinator,
    find_coordinator,
    invite_coordinator,
    set_password,
)
from campaign.extensions import db
from campaign.models import Campaign, CampaignEvent, Coordinator, Message
from campaign.tokens import SET_PASSWORD, InvalidToken
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD

NEW_PASSWORD = "nog-een-lang-wachtwoord"


def queued_link(email: str) -> str:
    """The set-password link in the newest account mail queued for ``email``."""
    message = db.session.scalars(
        select(Message)
        .where(Message.recipient_email == email, Message.kind == "account")
        .order_by(Message.round.desc())
    ).first()
    assert message is not None
    return re.search(r"http://\S+/wachtwoord/\S+", message.body_text).group(0)


def path_of(url: str) -> str:
    return url.split("campagne.example.org", 1)[1]


@pytest.fixture
def admin(auth, example_campaign):
    auth.login()
    return find_coordinator(COORDINATOR_EMAIL)


def invite(client: FlaskClient, campaign: Campaign, **data: str):
    form = {"email": "collega@example.org", "name": "Ann Peeters", "role": "coordinator"}
    return client.post(f"/dashboard/{campaign.slug}/team/", data={**form, **data})


def test_an_invited_colleague_sets_a_password_once_and_logs_in(
    app, client, admin, example_campaign
):
    reply = invite(client, example_campaign, partner="Huis van het Leren")
    assert reply.status_code == 302
    account = find_coordinator("collega@example.org")
    assert (account.role, account.partner, account.password_hash) == (
        "coordinator",
        "Huis van het Leren",
        "",
    )
    message = db.session.scalar(select(Message).where(Message.kind == "account"))
    assert message.subject == "Je account voor de campagne 'Eerste hulp bij digitale vragen'"
    assert (
        "Beste Ann," in message.body_text
        and "coördinator voor Huis van het Leren" in message.body_text
    )
    link = path_of(queued_link("collega@example.org"))
    # Before the password is set, there is no way in.
    client.post("/logout")
    assert (
        client.post("/login", data={"email": "collega@example.org", "password": ""}).status_code
        == 200
    )
    page = client.get(link)
    assert page.status_code == 200 and "collega@example.org" in page.get_data(as_text=True)
    short = client.post(link, data={"password": "kort", "confirmation": "kort"})
    assert "minstens 10 tekens" in short.get_data(as_text=True)
    # Her own name and the campaign's words are the first an attacker tries.
    for guessable in ("AnnPeeters2026", "Eerstehulpbijdigitalevragen1"):
        easy = client.post(link, data={"password": guessable, "confirmation": guessable})
        assert easy.status_code == 200 and "te makkelijk te raden" in easy.get_data(as_text=True)
    reply = client.post(link, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert reply.status_code == 302 and reply.location.endswith("/login")
    again = client.get(link)
    assert again.status_code == 404 and "werkt niet (meer)" in again.get_data(as_text=True)
    login = client.post("/login", data={"email": "collega@example.org", "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_a_bad_invitation_shows_a_dutch_message_and_writes_nothing(client, admin, example_campaign):
    for data, message in [
        ({"email": "geen-adres"}, "Ongeldig e-mailadres"),
        ({"email": COORDINATOR_EMAIL}, "Er bestaat al een account"),
        ({"role": "admin", "partner": "Huis van het Leren"}, "ziet alle partners"),
        ({"partner": "Onbekende vzw"}, "Onbekende partnerorganisatie"),
    ]:
        reply = invite(client, example_campaign, **data)
        assert reply.status_code == 400 and message in reply.get_data(as_text=True), data
    assert db.session.scalar(select(func.count()).select_from(Coordinator)) == 1
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


class ThreeDaysAgo(TimestampSigner):
    """Signs as if it were three days and a minute ago (itsdangerous reads the system
    clock, which the app's pinnable clock does not reach)."""

    def get_timestamp(self) -> int:
        return int(time.time()) - SET_PASSWORD.max_age - 60


def test_the_link_expires_after_three_days(app, client, admin, example_campaign):
    invite(client, example_campaign)
    account = find_coordinator("collega@example.org")
    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=SET_PASSWORD.salt, signer=ThreeDaysAgo
    )
    token = old.dumps({"c": account.id, "n": account.token_nonce})
    reply = client.get(f"/wachtwoord/{token}")
    assert reply.status_code == 404 and "verlopen" in reply.get_data(as_text=True)
    # The same payload signed now works: it is the age that was refused.
    fresh = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SET_PASSWORD.salt)
    assert (
        client.get(
            f"/wachtwoord/{fresh.dumps({'c': account.id, 'n': account.token_nonce})}"
        ).status_code
        == 200
    )


def test_a_new_link_replaces_the_old_one(client, admin, example_campaign):
    invite(client, example_campaign)
    first = path_of(queued_link("collega@example.org"))
    account = find_coordinator("collega@example.org")
    reply = client.post(f"/dashboard/{example_campaign.slug}/team/{account.id}/wachtwoordlink")
    assert reply.status_code == 302
    second = path_of(queued_link("collega@example.org"))
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert db.session.scalar(select(func.count()).where(Message.kind == "account")) == 2


def test_a_deactivated_account_cannot_log_in_and_its_session_ends(
    app, client, admin, example_campaign
):
    create_coordinator("ander@example.org", COORDINATOR_PASSWORD, role=roles.COORDINATOR)
    other = app.test_client()
    other.post("/login", data={"email": "ander@example.org", "password": COORDINATOR_PASSWORD})
    slug = example_campaign.slug
    assert other.get(f"/dashboard/{slug}/").status_code == 200
    account = find_coordinator("ander@example.org")
    reply = client.post(f"/dashboard/{slug}/team/{account.id}/actief", data={"actief": "0"})
    assert reply.status_code == 302
    assert other.get(f"/dashboard/{slug}/").status_code == 302  # to the login page
    login = other.post(
        "/login", data={"email": "ander@example.org", "password": COORDINATOR_PASSWORD}
    )
    assert login.status_code == 200
    # Nobody deactivates themselves, and reactivating lets the colleague in again.
    me = client.post(f"/dashboard/{slug}/team/{admin.id}/actief", data={"actief": "0"})
    assert me.status_code == 302 and find_coordinator(COORDINATOR_EMAIL).is_active
    client.post(f"/dashboard/{slug}/team/{account.id}/actief", data={"actief": "1"})
    login = other.post(
        "/login", data={"email": "ander@example.org", "password": COORDINATOR_PASSWORD}
    )
    assert login.status_code == 302


def test_an_administrator_cannot_give_away_their_own_role(client, admin, example_campaign):
    reply = client.post(
        f"/dashboard/{example_campaign.slug}/team/{admin.id}/",
        data={"name": "Ik", "role": "viewer", "partner": ""},
    )
    assert reply.status_code == 400 and "eigen rol" in reply.get_data(as_text=True)
    db.session.expire_all()
    assert find_coordinator(COORDINATOR_EMAIL).role == roles.ADMIN


def test_one_link_used_twice_at_once_sets_one_password(app, example_campaign):
    invited = invite_coordinator(example_campaign, "tweemaal@example.org", AccountChoice())
    token = queued_link(invited.email).rsplit("/", 1)[1]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def use(password: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                set_password(token, password, password)
                outcomes.append(password)
            except InvalidToken:
                outcomes.append("geweigerd")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=use, args=(f"wachtwoord-{n}-lang",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "geweigerd" and len(set(outcomes)) == 2


def test_users_create_gains_a_role_and_a_partner(runner, app):
    result = runner.invoke(
        args=["users", "create", "kijker@example.org", "--role", "viewer", "--password-stdin"],
        input=f"{COORDINATOR_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "kijker" in result.output
    assert find_coordinator("kijker@example.org").role == roles.VIEWER
    bad = runner.invoke(
        args=["users", "create", "b@example.org", "--partner", "X", "--password-stdin"],
        input=f"{COORDINATOR_PASSWORD}\n",
    )
    assert bad.exit_code != 0 and "ziet alle partners" in bad.output
    with pytest.raises(AccountError):
        create_coordinator("c@example.org", COORDINATOR_PASSWORD, role="baas")


# --- the audit trail -------------------------------------------------------------------


def test_every_change_is_recorded_with_who_and_the_audit_page_filters_it(
    client, admin, example_campaign
):
    slug = example_campaign.slug
    client.post(
        f"/dashboard/{slug}/sleutelfiguren/nieuw",
        data={"name": "Piet", "email": "piet@example.org"},
    )
    client.post(f"/dashboard/{slug}/kanalen/", data={"name": "Website", "kind": "website"})
    invite(client, example_campaign)
    # A refused change records nothing.
    client.post(f"/dashboard/{slug}/kanalen/", data={"name": "", "kind": "website"})
    events = db.session.scalars(select(CampaignEvent).order_by(CampaignEvent.id)).all()
    assert [(e.kind, e.actor) for e in events] == [
        ("actie:contacts.new", COORDINATOR_EMAIL),
        ("channel_created", COORDINATOR_EMAIL),
        ("account_invited", COORDINATOR_EMAIL),
    ]
    page = client.get(f"/dashboard/{slug}/logboek/").get_data(as_text=True)
    assert "Sleutelfiguur toegevoegd" in page and "Kanaal aangemaakt" in page
    assert "3 gebeurtenissen" in page
    only = client.get(f"/dashboard/{slug}/logboek/?soort=channel_created").get_data(as_text=True)
    assert "1 gebeurtenis<" in only and "Website" in only
    nobody = client.get(f"/dashboard/{slug}/logboek/?wie=iemand@example.org").get_data(as_text=True)
    assert "0 gebeurtenissen" in nobody
    # The catch-all records stay off the Planning page's history.
    planning = client.get(f"/dashboard/{slug}/planning/").get_data(as_text=True)
    assert "actie:contacts.new" not in planning


def test_the_audit_page_is_paged(client, admin, example_campaign):
    slug = example_campaign.slug
    for number in range(55):
        client.post(
            f"/dashboard/{slug}/kanalen/", data={"name": f"Affiche {number}", "kind": "poster"}
        )
    first = client.get(f"/dashboard/{slug}/logboek/").get_data(as_text=True)
    assert "55 gebeurtenissen" in first and "Pagina 1 van 2" in first
    assert first.count('data-kind="channel_created"') == 50
    second = client.get(f"/dashboard/{slug}/logboek/?pagina=2").get_data(as_text=True)
    assert second.count('data-kind="channel_created"') == 5


def test_only_an_administrator_reads_the_copy_of_an_account_mail(
    app, client, admin, example_campaign
):
    from campaign.mailing.sender import send_queued

    invite(client, example_campaign, role="admin")
    assert send_queued().sent == 1
    message = db.session.scalar(select(Message).where(Message.kind == "account"))
    copy = f"/dashboard/{example_campaign.slug}/mails/bestanden/{message.id}.eml"
    assert client.get(copy).status_code == 200
    create_coordinator("coord@example.org", COORDINATOR_PASSWORD, role=roles.COORDINATOR)
    other = app.test_client()
    other.post("/login", data={"email": "coord@example.org", "password": COORDINATOR_PASSWORD})
    refused = other.get(copy)
    assert refused.status_code == 403 and "wachtwoord te kiezen" in refused.get_data(as_text=True)


def test_the_audit_page_shows_dates_in_words(client, admin, example_campaign):
    slug = example_campaign.slug
    client.post(f"/dashboard/{slug}/sluitdatum", data={"datum": "2027-09-30", "uur": "23:59"})
    page = client.get(f"/dashboard/{slug}/logboek/?soort=close_moved").get_data(as_text=True)
    assert "15 september 2027 om 23.59 u → 30 september 2027 om 23.59 u" in page
