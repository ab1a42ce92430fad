"""Resume links: continue a response on another device, and mail the link on request.

The address a resume link is mailed to is used once to send and then
forgotten: not stored in the database, not put in the outbox table, not
logged.  With no ``MAIL_SERVER`` the mail is written as an ``.eml`` file to
the outbox folder, as every mail of the tool is in a first run.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import current_app, render_template
from flask_mail import Message

from campaign.auth.services import normalise_email
from campaign.extensions import db, mail
from campaign.models import Campaign, Response
from campaign.survey.draw import MAX_EMAIL_LENGTH
from campaign.tokens import RESUME, InvalidToken, make_token, read_token
from campaign.urls import public_url

log = logging.getLogger(__name__)


class ResumeError(ValueError):
    """The resume link or the mail request cannot be used; the message is Dutch."""


def resume_token(response: Response) -> str:
    return make_token(RESUME, {"r": response.id})


def resume_url(link_code: str, response: Response) -> str:
    return public_url("survey.resume", code=link_code, token=resume_token(response))


def response_from_token(campaign: Campaign, token: str) -> Response:
    """The response a resume token points to; ``ResumeError`` when it does not verify."""
    try:
        payload = read_token(RESUME, token)
    except InvalidToken as exc:
        message = (
            "Deze link om verder te gaan is verlopen."
            if exc.expired
            else "Deze link om verder te gaan is niet geldig. Controleer of je hem volledig kopieerde."
        )
        raise ResumeError(message) from exc
    response_id = payload.get("r") if isinstance(payload, dict) else None
    response = db.session.get(Response, response_id) if isinstance(response_id, str) else None
    if response is None or response.campaign_id != campaign.id:
        raise ResumeError("Deze link om verder te gaan hoort niet bij deze vragenlijst.")
    return response


def mail_resume_link(campaign: Campaign, email: str, url: str) -> None:
    """Send ``url`` to ``email`` right away, then forget the address.

    Raises ``ResumeError`` for an invalid address or when the mail cannot be sent.
    """
    if len(email.strip()) > MAX_EMAIL_LENGTH:
        raise ResumeError("Dit e-mailadres is te lang.")
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise ResumeError("Vul een geldig e-mailadres in, bv. naam@organisatie.be.") from exc
    settings = campaign.mail_settings or {}
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or settings.get("sender_email")
    message = Message(
        subject=f"Je link om verder te gaan: {campaign.title}",
        sender=(settings.get("sender_name", campaign.title), sender) if sender else None,
        recipients=[address],
        body=render_template("survey/resume_mail.txt", campaign=campaign, url=url),
        reply_to=settings.get("reply_to"),
    )
    try:
        _deliver(message)
    except OSError as exc:
        log.warning("resume link could not be mailed: %s", type(exc).__name__)
        raise ResumeError(
            "De mail kon nu niet verstuurd worden. Kopieer de link hierboven of probeer het later opnieuw."
        ) from exc
    log.info("resume link mailed for campaign %s (address not kept)", campaign.slug)


def _deliver(message: Message) -> None:
    if current_app.config.get("MAIL_SERVER"):
        mail.send(message)
        return
    folder = Path(
        current_app.config.get("OUTBOX_DIR") or Path(current_app.instance_path) / "outbox"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"resume-{secrets.token_hex(8)}.eml"
    path.write_bytes(message.as_bytes())
