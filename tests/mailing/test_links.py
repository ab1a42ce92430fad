"""A key figure's page /k/<token> and the unsubscribe page /u/<token>."""

from __future__ import annotations

import time

from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from campaign.attribution import forward_link
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.services import (
    key_figure_page_url,
    key_figure_recipients,
    queue_invitations,
    queue_messages,
    unsubscribe_url,
)
from campaign.models import KeyFigure, Link, Response, utcnow
from campaign.survey.links import find_link
from campaign.tokens import KEY_FIGURE_PAGE


def path_of(url: str) -> str:
    return url.removeprefix("http://campagne.example.org")


def old_token(purpose, payload, age_seconds: int) -> str:
    """A correctly signed token made ``age_seconds`` ago (itsdangerous' own clock, set back)."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=purpose.salt, signer=PastSigner
    )
    return serializer.dumps(payload)


def add_responses(link: Link, started: int, completed: int) -> None:
    # The survey capability is written in parallel; its rows are plain Response rows.
    for index in range(started):
        done = utcnow() if index < completed else None
        db.session.add(Response(campaign_id=link.campaign_id, link_id=link.id, completed_at=done))
    db.session.commit()


def test_key_figure_page_counts_answers_through_the_link_and_its_forwards(client, example_campaign):
    kf = save_key_figure(example_campaign, name="Annelies Vandenbussche", email="a@example.org")
    other = save_key_figure(example_campaign, name="Iemand Anders", email="b@example.org")
    link = db.session.scalar(select(Link).where(Link.key_figure_id == kf.id))
    forward = find_link(forward_link(link))
    db.session.commit()
    add_responses(link, started=3, completed=2)
    add_responses(forward, started=2, completed=1)
    add_responses(db.session.scalar(select(Link).where(Link.key_figure_id == other.id)), 4, 4)
    page = client.get(path_of(key_figure_page_url(kf)))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dag Annelies</h1>" in html
    assert '<span class="value">3</span><span class="label">ingevulde' in html
    assert '<span class="value">2</span><span class="label">nog bezig' in html
    assert f"http://campagne.example.org/s/{link.code}" in html
    assert "Beste collega," in html and "<svg" in html


def test_qr_code_downloads_encode_the_link(client, example_campaign):
    kf = save_key_figure(example_campaign, name="A", email="a@example.org")
    png = client.get(path_of(key_figure_page_url(kf)) + "/qr.png")
    svg = client.get(path_of(key_figure_page_url(kf)) + "/qr.svg")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert svg.status_code == 200 and b"<svg" in svg.data


def tampered(token: str) -> str:
    """The token with one character of its signature changed.  (Not the last ones: the
    last base64 character carries padding bits, so changing it may keep the signature.)"""
    index = len(token) - 10
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def test_tampered_expired_or_foreign_tokens_get_a_dutch_page(client, example_campaign):
    kf = save_key_figure(example_campaign, name="A", email="a@example.org")
    good = path_of(key_figure_page_url(kf))
    expired = old_token(KEY_FIGURE_PAGE, {"k": kf.id}, KEY_FIGURE_PAGE.max_age + 60)
    unsubscribe_token = path_of(unsubscribe_url(kf)).removeprefix("/u/")
    for path in (
        "/k/" + tampered(good.removeprefix("/k/")),
        f"/k/{expired}",
        f"/k/{unsubscribe_token}",  # signed for another purpose
        "/k/niet-eens-een-token",
        "/u/" + tampered(unsubscribe_token),
        "/k/kapot/qr.png",
    ):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "Deze link werkt niet" in html and "ongeldig of verlopen" in html
        assert "Traceback" not in html


def test_unsubscribe_link_confirms_before_it_changes_anything(client, example_campaign):
    kf = save_key_figure(example_campaign, name="A", email="a@example.org")
    path = path_of(unsubscribe_url(kf))
    page = client.get(path)
    assert page.status_code == 200 and "Afmelden" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(KeyFigure, kf.id).opted_out_at is None
    done = client.post(path, data={"action": "afmelden"})
    assert "Je bent afgemeld" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(KeyFigure, kf.id).opted_out
    again = client.post(path, data={"action": "opnieuw"})
    assert "opnieuw aangemeld" in again.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(KeyFigure, kf.id).opted_out


def test_one_click_unsubscribe_from_a_mail_client_stops_all_mail(
    app, client, smtp_server, example_campaign
):
    sink, _port = smtp_server
    app.config["WTF_CSRF_ENABLED"] = True  # a mail client sends no CSRF token
    kf = save_key_figure(example_campaign, name="A", email="a@example.org")
    queue_invitations(example_campaign)
    send_queued()
    [mail] = sink.messages
    url = mail["List-Unsubscribe"].strip("<>")
    response = client.post(
        path_of(url),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(KeyFigure, kf.id).opted_out
    other = save_key_figure(example_campaign, name="B", email="b@example.org")
    db.session.expire_all()
    everyone = [db.session.get(KeyFigure, kf.id), other]
    reminders = queue_messages(
        example_campaign, "reminder", key_figure_recipients(example_campaign, everyone)
    )
    send_queued()
    assert (reminders.queued, reminders.opted_out) == (1, 1)
    assert [(str(m["To"]), m["Subject"][:8]) for m in sink.messages] == [
        ("A <a@example.org>", "Help je "),
        ("B <b@example.org>", "Nog tot "),
    ]
