"""The prize-draw opt-in: one-time tickets and draw entries that cannot be joined to answers.

Completing a response hands out a random ticket; only its SHA-256 is kept,
without any reference to the response, without a timestamp and under a
random key.  Entering the draw spends the ticket and stores the e-mail
address with a random receipt, under a random key.  The entry's
``created_at`` is cut to the day (UTC): an exact time could be matched
against a response's ``completed_at``.  No log line names a ticket, receipt
or address.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from campaign import clock
from campaign.auth.services import normalise_email
from campaign.database import begin_write
from campaign.draw.services import freeze_moment
from campaign.draw.settings import exclusion_rule, fold, settings_of
from campaign.extensions import db
from campaign.models import Campaign, Draw, DrawEntry, DrawTicket, day_of

log = logging.getLogger(__name__)

#: Longest e-mail address accepted (RFC 5321 path limit).
MAX_EMAIL_LENGTH = 254


class DrawError(ValueError):
    """The entry is refused; the message is Dutch and meant for the entrant."""


class AlreadyEntered(DrawError):
    """This e-mail address already takes part: a friendly refusal, nothing stored."""


def hash_ticket(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


#: One row, written with the completion: a Core INSERT of the table through the session,
#: built once (the ORM's unit of work, or its bulk INSERT of the entity, for one row that
#: nothing reads afterwards cost more than the write).  The random key comes from the
#: column's default.
_INSERT_TICKET = insert(cast(Table, DrawTicket.__table__))


def issue_ticket(campaign_id: int) -> str:
    """Inside the caller's write transaction: store a new ticket's hash and return the ticket."""
    ticket = secrets.token_urlsafe(24)
    db.session.execute(
        _INSERT_TICKET,
        {"campaign_id": campaign_id, "ticket_hash": hash_ticket(ticket), "used": False},
    )
    return ticket


def draw_performed(campaign: Campaign) -> bool:
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))
    return draw is not None and draw.performed_at is not None


def entry_address(campaign: Campaign, email: str) -> str:
    """The address an entry is stored and compared under: normalised, and folded for the
    campaign file's ``draw.fold_domains``; ``DrawError`` when the campaign file excludes it
    (the organisers' staff) or it is invalid."""
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise DrawError("Vul een geldig e-mailadres in, bv. naam@organisatie.be.") from exc
    settings = settings_of(campaign)
    address = fold(address, settings.fold_domains)
    if exclusion_rule(address, settings.exclude) is not None:
        raise DrawError(
            "Medewerkers van de organiserende organisaties kunnen niet meedoen aan de "
            "wedstrijd. Bedankt om de vragenlijst in te vullen!"
        )
    return address


def _check_entry(campaign: Campaign, ticket: str, email: str, consent: bool, now: datetime) -> str:
    """Validate before writing; return the address to store (see ``entry_address``)."""
    if not ticket or len(ticket) > 100:
        raise DrawError("Deze deelname is niet geldig. Vul eerst de vragenlijst volledig in.")
    if not email.strip():
        raise DrawError("Vul je e-mailadres in.")
    if len(email.strip()) > MAX_EMAIL_LENGTH:
        raise DrawError("Dit e-mailadres is te lang.")
    address = entry_address(campaign, email)
    if not consent:
        raise DrawError(
            "Duid aan dat we je e-mailadres mogen gebruiken voor de wedstrijd, "
            "anders kan je niet meedoen."
        )
    if now >= freeze_moment(campaign) or draw_performed(campaign):
        raise DrawError(
            "De wedstrijd is afgesloten: de lijst van deelnames is bevroren voor de trekking."
        )
    return address


def enter_draw(
    campaign: Campaign, ticket: str, email: str, consent: bool, now: datetime | None = None
) -> DrawEntry:
    """Spend a one-time ticket and enter ``email`` in the campaign's draw.

    Raises ``AlreadyEntered`` when the address already takes part (the ticket
    stays unused; ``j.an+x@gmail.com`` is ``jan@gmail.com`` when the campaign file folds
    gmail.com) and ``DrawError`` for a missing consent, an invalid or excluded address,
    an unknown or already used ticket, or once the entries are frozen (the grace period
    after the close has ended).  Nothing is stored on refusal.
    """
    now = now or clock.now()
    address = _check_entry(campaign, ticket, email, consent, now)
    begin_write()
    existing = db.session.scalar(
        select(DrawEntry.id).where(DrawEntry.campaign_id == campaign.id, DrawEntry.email == address)
    )
    if existing is not None:
        db.session.rollback()
        raise AlreadyEntered(
            "Dit e-mailadres doet al mee aan de wedstrijd. Eén deelname per e-mailadres volstaat."
        )
    spent = db.session.scalar(
        update(DrawTicket)
        .where(
            DrawTicket.campaign_id == campaign.id,
            DrawTicket.ticket_hash == hash_ticket(ticket),
            DrawTicket.used.is_(False),
        )
        .values(used=True)
        .returning(DrawTicket.id)
    )
    if spent is None:
        db.session.rollback()
        raise DrawError(
            "Deze deelname is niet (meer) geldig: elke ingevulde vragenlijst geeft één kans."
        )
    entry = DrawEntry(campaign_id=campaign.id, email=address, created_at=day_of(now))
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError as exc:  # the same address, entered at the same moment elsewhere
        db.session.rollback()
        raise AlreadyEntered(
            "Dit e-mailadres doet al mee aan de wedstrijd. Eén deelname per e-mailadres volstaat."
        ) from exc
    # No receipt or address in the log: next to "response ... completed" lines, a
    # receipt would let a log reader join an entry to the answers.
    log.info("draw entry created for campaign %s", campaign.slug)
    return entry
