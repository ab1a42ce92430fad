"""Resume links: continue a response on another device, and mail the link on request.

The mail goes through the outbox like every mail of the tool: the request
only queues it.  The address and the body (the resume URL is a secret) stay in
the outbox row only until the background sender is done with it; the same
UPDATE that records the outcome replaces them (``sender.FORGOTTEN_KINDS``).
They are never logged, and the dashboard never lists the mail's ``.eml`` file.
"""

from __future__ import annotations

import logging

from flask import render_template

from campaign.auth.services import normalise_email
from campaign.extensions import db
from campaign.mailing.render import MailError
from campaign.mailing.services import queue_personal_mail
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
    """Queue a mail with ``url`` to ``email`` and return at once (the background
    sender sends it, then forgets the address).

    Raises ``ResumeError`` for an invalid address or when no mail can be queued.
    """
    if len(email.strip()) > MAX_EMAIL_LENGTH:
        raise ResumeError("Dit e-mailadres is te lang.")
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise ResumeError("Vul een geldig e-mailadres in, bv. naam@organisatie.be.") from exc
    text = render_template("survey/resume_mail.txt", campaign=campaign, url=url)
    try:
        queue_personal_mail(
            campaign, "resume", address, f"Je link om verder te gaan: {campaign.title}", text
        )
    except MailError as exc:
        log.warning("resume mail of campaign %s could not be queued", campaign.slug)
        raise ResumeError(
            "De mail kan nu niet verstuurd worden. Kopieer de link hierboven of probeer het later opnieuw."
        ) from exc
    log.info("resume mail queued for campaign %s", campaign.slug)
