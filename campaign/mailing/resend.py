"""Second tries: "opnieuw proberen" a failed mail, "opnieuw versturen" to one key figure.

*Opnieuw proberen* puts the same outbox row back in the queue, due now, with its
attempts reset (its ``last_error`` stays until the next outcome), so it goes
out with the same Message-ID.  *Opnieuw versturen* queues a new mail of the
same kind for one key figure, rendered fresh, under the next free ``round``,
so the outbox's unique key (campaign, recipient, kind, round) still holds.
The rules of both are plain functions (``retry_refusal``, ``resend_refusal``)
that the mail page also uses to decide which buttons to show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from campaign import clock
from campaign.database import begin_write
from campaign.extensions import db
from campaign.history import current_actor, record_event
from campaign.mailing.render import MailError
from campaign.mailing.sender import CLOSED_REASON, FORGOTTEN_KINDS, SURVEY_KINDS
from campaign.mailing.services import (
    Recipient,
    insert_ignoring_duplicates,
    key_figure_recipients,
    render_rows,
)
from campaign.models import Campaign, CampaignState, KeyFigure, Message, MessageStatus

log = logging.getLogger(__name__)

FAILED = MessageStatus.FAILED.value
CANCELLED = MessageStatus.CANCELLED.value
PENDING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)

#: Per kind of mail that can be sent again: how its recipients are built, fresh.  The
#: reminder's figures come from the reminder's own code, which registers its builder
#: with ``register_resend``.
RecipientBuilder = Callable[[Campaign, Sequence[KeyFigure]], list[Recipient]]
RESEND_BUILDERS: dict[str, RecipientBuilder] = {"invitation": key_figure_recipients}

SURVEY_CLOSED = (
    "De bevraging is afgesloten: uitnodigingen en herinneringen worden niet meer verstuurd."
)
NOT_RESENDABLE = (
    "Alleen een uitnodiging (of herinnering) aan een sleutelfiguur kan opnieuw verstuurd worden."
)
UNKNOWN_MESSAGE = "Deze mail bestaat niet (meer) in deze campagne."


def register_resend(kind: str, builder: RecipientBuilder) -> None:
    """Let mails of ``kind`` be sent again to a key figure, with recipients from ``builder``."""
    RESEND_BUILDERS[kind] = builder


@dataclass
class RetryResult:
    retried: int = 0
    #: Failed mails left alone, each with the reason (opted out, closed survey, erased).
    refused: int = 0


def _opted_out(message: Message) -> bool:
    return message.key_figure is not None and message.key_figure.opted_out


def _who(message: Message) -> str:
    key_figure = message.key_figure
    return (key_figure.name or key_figure.email) if key_figure is not None else "De ontvanger"


def retry_refusal(message: Message, survey_closed: bool) -> str | None:
    """Why ``message`` cannot be tried again (Dutch), or None when it can.

    A mail can be tried again when it failed, or when it was cancelled because the
    survey closed (and the survey is open again).  Never a mail whose key figure opted
    out, never an invitation or reminder of a closed survey, never a mail whose
    address and body were erased after the try (a respondent's resume link).
    """
    closed_cancel = message.status == CANCELLED and message.last_error == CLOSED_REASON
    if message.status != FAILED and not closed_cancel:
        return "Alleen een mislukte mail kan opnieuw geprobeerd worden."
    if message.kind in FORGOTTEN_KINDS:
        return (
            "Deze mail bevatte de persoonlijke link van een respondent en werd daarom gewist; "
            "de respondent kan een nieuwe link aanvragen."
        )
    if _opted_out(message):
        return f"{_who(message)} heeft zich afgemeld en krijgt geen mail meer."
    if message.kind in SURVEY_KINDS and survey_closed:
        return SURVEY_CLOSED
    return None


def _closed(campaign: Campaign, now: datetime | None) -> bool:
    return campaign.state(now) is CampaignState.CLOSED


def _message_of(campaign: Campaign, message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None or message.campaign_id != campaign.id:
        raise MailError(UNKNOWN_MESSAGE)
    return message


def _requeue(ids: Sequence[int]) -> int:
    """Back to the queue, due now, attempts reset; only rows still failed or cancelled
    (a concurrent click or command may have requeued them already).  In the caller's
    write transaction; the number of rows requeued."""
    count = 0
    for start in range(0, len(ids), 500):
        result = db.session.execute(
            update(Message)
            .where(Message.id.in_(ids[start : start + 500]))
            .where(Message.status.in_([FAILED, CANCELLED]))
            .values(
                status=MessageStatus.QUEUED.value,
                next_attempt_at=None,
                attempts=0,
                claimed_by=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        count += getattr(result, "rowcount", 0) or 0
    return count


def retry_message(campaign: Campaign, message_id: int, now: datetime | None = None) -> Message:
    """Try one failed mail again (the sender sends it in the background).

    Raises ``MailError`` with the reason when it cannot be (see ``retry_refusal``).
    """
    begin_write()
    message = _message_of(campaign, message_id)
    refusal = retry_refusal(message, _closed(campaign, now))
    if refusal is not None:
        db.session.rollback()
        raise MailError(refusal)
    if _requeue([message.id]):
        record_event(
            campaign,
            "mail_retried",
            actor=current_actor(),
            now=now,
            count=1,
            mail_kind=message.kind,
        )
    db.session.commit()
    log.info("campaign %s: mail %s queued again", campaign.slug, message.id)
    return message


def retry_all_failed(campaign: Campaign, now: datetime | None = None) -> RetryResult:
    """Try every failed mail of the campaign again that ``retry_refusal`` allows."""
    begin_write()
    query = (
        select(Message)
        .where(Message.campaign_id == campaign.id, Message.status.in_([FAILED, CANCELLED]))
        .options(selectinload(Message.key_figure))
        .order_by(Message.id)
    )
    closed = _closed(campaign, now)
    candidates = [m for m in db.session.scalars(query) if m.status == FAILED or _closed_cancel(m)]
    allowed = [m.id for m in candidates if retry_refusal(m, closed) is None]
    result = RetryResult(retried=_requeue(allowed), refused=len(candidates) - len(allowed))
    if result.retried:
        record_event(campaign, "mail_retried", actor=current_actor(), now=now, count=result.retried)
    db.session.commit()
    log.info(
        "campaign %s: %s failed mails queued again, %s left alone",
        campaign.slug,
        result.retried,
        result.refused,
    )
    return result


def _closed_cancel(message: Message) -> bool:
    return message.status == CANCELLED and message.last_error == CLOSED_REASON


def count_failed(campaign: Campaign, kind: str | None = None) -> int:
    """Failed mails of the campaign (of one kind)."""
    query = select(func.count()).where(Message.campaign_id == campaign.id, Message.status == FAILED)
    if kind is not None:
        query = query.where(Message.kind == kind)
    return db.session.scalar(query) or 0


# --- opnieuw versturen ----------------------------------------------------------------------


def resend_refusal(message: Message, survey_closed: bool) -> str | None:
    """Why a new mail like ``message`` cannot be sent to its key figure (Dutch), or None."""
    if message.key_figure is None or message.kind not in RESEND_BUILDERS:
        return NOT_RESENDABLE
    if message.key_figure.opted_out:
        return f"{_who(message)} heeft zich afgemeld en krijgt geen mail meer."
    if message.kind in SURVEY_KINDS and survey_closed:
        return SURVEY_CLOSED
    return None


def _pending_for(campaign: Campaign, kind: str, email: str) -> bool:
    """Whether a mail of ``kind`` to ``email`` is still waiting or being sent."""
    query = select(func.count()).where(
        Message.campaign_id == campaign.id,
        Message.kind == kind,
        Message.recipient_email == email,
        Message.status.in_(PENDING),
    )
    return bool(db.session.scalar(query))


def _next_round(campaign: Campaign, kind: str, email: str) -> int:
    query = select(func.max(Message.round)).where(
        Message.campaign_id == campaign.id,
        Message.kind == kind,
        Message.recipient_email == email,
    )
    return (db.session.scalar(query) or 0) + 1


def resend_to_key_figure(campaign: Campaign, message_id: int, now: datetime | None = None) -> int:
    """Queue a new mail of the kind of ``message_id`` for its key figure, rendered fresh,
    as the next round; returns that round.

    Raises ``MailError`` when it cannot be sent again (``resend_refusal``) or a mail of
    that kind to that key figure is still waiting in the outbox.
    """
    message = _message_of(campaign, message_id)
    refusal = resend_refusal(message, _closed(campaign, now))
    if refusal is not None:
        raise MailError(refusal)
    key_figure, kind = message.key_figure, message.kind
    assert key_figure is not None  # resend_refusal checked it
    recipients = RESEND_BUILDERS[kind](campaign, [key_figure])
    begin_write()
    if _pending_for(campaign, kind, key_figure.email):
        db.session.rollback()
        raise MailError(f"Er staat al een mail van deze soort voor {_who(message)} in de wachtrij.")
    round_ = _next_round(campaign, kind, key_figure.email)
    rows = render_rows(campaign, kind, recipients, round_)
    insert_ignoring_duplicates(rows, now or clock.now())
    record_event(
        campaign,
        "mail_resent",
        actor=current_actor(),
        now=now,
        mail_kind=kind,
        key_figure_id=key_figure.id,
        round=round_,
    )
    db.session.commit()
    log.info(
        "campaign %s: %s queued again for key figure %s (round %s)",
        campaign.slug,
        kind,
        key_figure.id,
        round_,
    )
    return round_
