"""Queueing mail in the outbox, and the key-figure links that mails carry.

Every mail is rendered completely when it is queued (subject, both bodies,
headers, Message-ID) so that sending is a dumb copy of the stored row, and a
copy sent again after a crash is byte-for-byte the same message.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import segno
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from campaign import attribution, clock
from campaign.contacts.services import set_opted_out
from campaign.database import begin_write
from campaign.extensions import db
from campaign.formatting import first_name
from campaign.mailing.render import (
    MailError,
    campaign_context,
    format_address,
    one_line,
    render_forward_text,
    render_mail,
    sender_for,
    subject_for,
)
from campaign.models import (
    Campaign,
    CampaignState,
    KeyFigure,
    Link,
    Message,
    MessageStatus,
)
from campaign.tokens import KEY_FIGURE_PAGE, UNSUBSCRIBE, InvalidToken, make_token, read_token
from campaign.urls import public_url

log = logging.getLogger(__name__)

__all__ = ["InvalidToken", "MailError"]

#: Kinds of mail sent to key figures: they carry the key figure's links and an unsubscribe.
KEY_FIGURE_KINDS = ("invitation", "reminder", "test")


@dataclass
class Recipient:
    """One addressee of a queued mail, with what their template needs beyond the campaign's."""

    email: str
    name: str = ""
    key_figure: KeyFigure | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class QueueResult:
    queued: int = 0
    #: Already in the outbox with the same (recipient, kind, round): never queued twice.
    already: int = 0
    opted_out: int = 0


# --- links and tokens --------------------------------------------------------------------


def survey_url(link: Link) -> str:
    return public_url("survey.welcome", code=link.code)


def key_figure_page_url(key_figure: KeyFigure) -> str:
    return public_url("mailing.key_figure", token=make_token(KEY_FIGURE_PAGE, {"k": key_figure.id}))


def unsubscribe_url(key_figure: KeyFigure) -> str:
    return public_url("mailing.unsubscribe", token=make_token(UNSUBSCRIBE, {"k": key_figure.id}))


def key_figure_from_token(purpose: Any, token: str) -> KeyFigure:
    """The key figure a signed token names; ``InvalidToken`` when it does not verify
    or the key figure no longer exists."""
    payload = read_token(purpose, token)
    key_figure_id = payload.get("k") if isinstance(payload, dict) else None
    key_figure = (
        db.session.get(KeyFigure, key_figure_id) if isinstance(key_figure_id, int) else None
    )
    if key_figure is None:
        raise InvalidToken()
    return key_figure


def key_figure_context(
    key_figure: KeyFigure, link: Link, shared: dict[str, Any], *, unsubscribe: bool = True
) -> dict[str, Any]:
    """Template context for a mail to ``key_figure``: ``shared`` is ``campaign_context``."""
    context = {
        **shared,
        "name": one_line(key_figure.name) or "collega",
        #: For the greeting: "Beste An," rather than "Beste An Peeters,".
        "first_name": first_name(one_line(key_figure.name)) or "collega",
        "organisation": one_line(key_figure.organisation),
        "survey_url": survey_url(link),
        "page_url": key_figure_page_url(key_figure),
        "unsubscribe_url": unsubscribe_url(key_figure) if unsubscribe else None,
    }
    context["forward_text"] = render_forward_text(context)
    return context


def root_links(key_figures: Sequence[KeyFigure]) -> dict[int, Link]:
    """Each key figure's own link, creating the missing ones (committed)."""
    ids = [kf.id for kf in key_figures]
    links: dict[int, Link] = {}
    for start in range(0, len(ids), 500):
        query = select(Link).where(
            Link.key_figure_id.in_(ids[start : start + 500]), Link.parent_id.is_(None)
        )
        links.update(
            {link.key_figure_id: link for link in db.session.scalars(query) if link.key_figure_id}
        )
    missing = [kf for kf in key_figures if kf.id not in links]
    if missing:
        begin_write()
        for key_figure in missing:
            links[key_figure.id] = attribution.root_link(key_figure)
        db.session.commit()
    return links


# --- queueing ----------------------------------------------------------------------------


def new_message_id(sender: str, kind: str) -> str:
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    return f"<{secrets.token_hex(12)}.{kind}@{domain}>"


def _headers(campaign: Campaign, sender: str, recipient: Recipient, kind: str) -> dict[str, str]:
    headers = {"From": sender, "To": format_address(recipient.name, recipient.email)}
    reply_to = (campaign.mail_settings or {}).get("reply_to")
    if reply_to:
        headers["Reply-To"] = format_address(None, reply_to)
    unsubscribe = recipient.context.get("unsubscribe_url")
    # A test goes to the coordinator: its body shows the key figure's links, but a mail
    # client's unsubscribe button must not opt that key figure out.
    if unsubscribe and kind != "test":
        # RFC 8058 one-click: a mail client POSTs "List-Unsubscribe=One-Click" to the URL.
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def render_rows(
    campaign: Campaign, kind: str, recipients: Iterable[Recipient], round_: int
) -> list[dict[str, Any]]:
    """Outbox rows (not yet written) for ``recipients``; raises ``MailError``."""
    sender = sender_for(campaign, current_app.config.get("MAIL_DEFAULT_SENDER"))
    subject = subject_for(campaign, "invitation" if kind == "test" else kind)
    if kind == "test":
        subject = f"[Test] {subject}"
    rows = []
    for recipient in recipients:
        mail = render_mail(kind, subject, {**recipient.context, "recipient_email": recipient.email})
        rows.append(
            {
                "campaign_id": campaign.id,
                "kind": kind,
                "round": round_,
                "recipient_email": recipient.email,
                "key_figure_id": recipient.key_figure.id if recipient.key_figure else None,
                "message_id": new_message_id(sender, kind),
                "subject": mail.subject,
                "body_text": mail.text,
                "body_html": mail.html,
                "headers": _headers(campaign, sender, recipient, kind),
                "status": MessageStatus.QUEUED.value,
                "attempts": 0,
            }
        )
    return rows


def insert_ignoring_duplicates(rows: list[dict[str, Any]], now: datetime) -> None:
    """Insert outbox rows; a row whose (campaign, recipient, kind, round) exists is skipped."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 500):
        chunk = [{**row, "created_at": now} for row in rows[start : start + 500]]
        statement = insert(Message).on_conflict_do_nothing(
            index_elements=["campaign_id", "recipient_email", "kind", "round"]
        )
        db.session.execute(statement, chunk)


def queue_messages(
    campaign: Campaign,
    kind: str,
    recipients: Sequence[Recipient],
    *,
    round_: int = 1,
    now: datetime | None = None,
) -> QueueResult:
    """Render and queue one mail of ``kind``/``round_`` per recipient, in one transaction.

    Recipients who already have this mail in the outbox and key figures who
    opted out are skipped.  Everything is rendered before anything is written.
    """
    allowed = [r for r in recipients if r.key_figure is None or not r.key_figure.opted_out]
    result = QueueResult(opted_out=len(recipients) - len(allowed))
    rows = render_rows(campaign, kind, allowed, round_)
    begin_write()
    existing = set(
        db.session.scalars(
            select(Message.recipient_email).where(
                Message.campaign_id == campaign.id, Message.kind == kind, Message.round == round_
            )
        )
    )
    fresh = [row for row in rows if row["recipient_email"] not in existing]
    insert_ignoring_duplicates(fresh, now or clock.now())
    db.session.commit()
    result.queued, result.already = len(fresh), len(rows) - len(fresh)
    log.info(
        "campaign %s: %s %s mails queued (round %s)", campaign.slug, result.queued, kind, round_
    )
    return result


def key_figure_recipients(
    campaign: Campaign, key_figures: Sequence[KeyFigure], *, unsubscribe: bool = True
) -> list[Recipient]:
    """Recipients with the full key-figure context (links, tokens, forward text)."""
    links = root_links(key_figures)
    shared = campaign_context(campaign)
    return [
        Recipient(
            email=kf.email,
            name=kf.name,
            key_figure=kf,
            context=key_figure_context(kf, links[kf.id], shared, unsubscribe=unsubscribe),
        )
        for kf in key_figures
    ]


def uninvited_key_figures(campaign: Campaign) -> tuple[list[KeyFigure], int]:
    """Key figures that have no invitation in the outbox yet, and how many of those opted out."""
    invited = select(Message.recipient_email).where(
        Message.campaign_id == campaign.id, Message.kind == "invitation", Message.round == 1
    )
    query = (
        select(KeyFigure)
        .where(KeyFigure.campaign_id == campaign.id, KeyFigure.email.not_in(invited))
        .order_by(KeyFigure.id)
    )
    key_figures = list(db.session.scalars(query))
    active = [kf for kf in key_figures if not kf.opted_out]
    return active, len(key_figures) - len(active)


#: Why nothing that invites people is queued once the survey is closed.
CLOSED_FOR_INVITATIONS = "De bevraging is afgesloten: er worden geen uitnodigingen meer verstuurd."


def refuse_when_closed(campaign: Campaign, now: datetime | None = None) -> None:
    """``MailError`` (with ``CLOSED_FOR_INVITATIONS``) when the survey is closed at ``now``."""
    if campaign.state(now) is CampaignState.CLOSED:
        raise MailError(CLOSED_FOR_INVITATIONS)


def queue_invitations(campaign: Campaign, now: datetime | None = None) -> QueueResult:
    """Queue an invitation for every key figure not yet invited and not opted out.

    Raises ``MailError`` once the survey is closed: an invitation would ask people to
    fill in a survey that no longer takes answers.
    """
    refuse_when_closed(campaign, now)
    key_figures, opted_out = uninvited_key_figures(campaign)
    invited = db.session.scalar(
        select(func.count()).where(
            Message.campaign_id == campaign.id, Message.kind == "invitation", Message.round == 1
        )
    )
    result = queue_messages(
        campaign, "invitation", key_figure_recipients(campaign, key_figures), now=now
    )
    result.opted_out += opted_out
    result.already += invited or 0
    return result


def queue_test_mail(
    campaign: Campaign, key_figure: KeyFigure, to_email: str, now: datetime | None = None
) -> QueueResult:
    """Queue the invitation as ``key_figure`` would get it, addressed to ``to_email``.

    Each test gets the next round number, so a coordinator can send as many as needed.
    """
    last_round = db.session.scalar(
        select(func.max(Message.round)).where(
            Message.campaign_id == campaign.id,
            Message.kind == "test",
            Message.recipient_email == to_email,
        )
    )
    [recipient] = key_figure_recipients(campaign, [key_figure])
    test_recipient = Recipient(email=to_email, context=recipient.context)
    rows = render_rows(campaign, "test", [test_recipient], (last_round or 0) + 1)
    begin_write()
    insert_ignoring_duplicates(rows, now or clock.now())
    db.session.commit()
    log.info("campaign %s: test mail queued (round %s)", campaign.slug, rows[0]["round"])
    return QueueResult(queued=len(rows))


def preview_mail(campaign: Campaign, kind: str, key_figure: KeyFigure) -> Any:
    """The mail of ``kind`` rendered for ``key_figure``, written nowhere (a reminder with
    the key figure's own figures, as the reminder would carry them now)."""
    if kind == "reminder":
        from campaign.schedule.reminder import reminder_preview

        return reminder_preview(campaign, key_figure)
    if kind == "winner":  # to an entrant of the draw, not to a key figure
        from campaign.draw.services import winner_preview_context

        return render_mail(kind, subject_for(campaign, kind), winner_preview_context(campaign))
    [recipient] = key_figure_recipients(campaign, [key_figure])
    context = {**recipient.context, "recipient_email": key_figure.email}
    return render_mail(kind, subject_for(campaign, kind), context)


# --- opt-out -----------------------------------------------------------------------------


def set_subscription(token: str, subscribed: bool, now: datetime | None = None) -> KeyFigure:
    """Opt the key figure of an unsubscribe token out of (or back into) all mail.

    Raises ``InvalidToken`` for a tampered token or an unknown key figure.
    """
    key_figure = key_figure_from_token(UNSUBSCRIBE, token)
    if key_figure.opted_out == (not subscribed):
        return key_figure
    set_opted_out(key_figure, not subscribed, now=now)
    log.info(
        "key figure %s %s through the unsubscribe link",
        key_figure.id,
        "opted in" if subscribed else "opted out",
    )
    return key_figure


# --- what the views and commands call ------------------------------------------------------


def queue_test_mail_for(campaign: Campaign, key_figure_id: int, to_email: str) -> QueueResult:
    """Queue the invitation of one key figure, addressed to ``to_email``; the sender
    sends it in the background.

    Raises ``MailError`` when the key figure is not one of the campaign's.
    """
    key_figure = db.session.get(KeyFigure, key_figure_id)
    if key_figure is None or key_figure.campaign_id != campaign.id:
        raise MailError("Kies een sleutelfiguur van deze campagne.")
    return queue_test_mail(campaign, key_figure, to_email)


def retry_now(campaign: Campaign) -> int:
    """Make the campaign's queued mails due now (also those waiting for a retry); the
    number of queued mails.  The background sender picks them up on its next look."""
    begin_write()
    db.session.execute(
        update(Message)
        .where(Message.campaign_id == campaign.id, Message.status == MessageStatus.QUEUED.value)
        .values(next_attempt_at=None)
    )
    queued = db.session.scalar(
        select(func.count()).where(
            Message.campaign_id == campaign.id, Message.status == MessageStatus.QUEUED.value
        )
    )
    db.session.commit()
    log.info("campaign %s: %s queued mails made due now", campaign.slug, queued)
    return queued or 0


def queue_personal_mail(
    campaign: Campaign, kind: str, email: str, subject: str, text: str, now: datetime | None = None
) -> None:
    """Queue one plain-text mail to someone who is not a key figure (a respondent's
    resume link) and return at once.

    Every call is a mail of its own (a random ``round``), and once it is sent or
    given up the sender replaces the address and the body (see ``sender.FORGOTTEN_KINDS``).
    Raises ``MailError`` for an address that cannot be put in a header or a missing sender.
    """
    sender = sender_for(campaign, current_app.config.get("MAIL_DEFAULT_SENDER"))
    headers = _headers(campaign, sender, Recipient(email=email), kind)
    begin_write()
    db.session.add(
        Message(
            campaign_id=campaign.id,
            kind=kind,
            round=1 + secrets.randbelow(2**31 - 2),
            recipient_email=email,
            message_id=new_message_id(sender, kind),
            subject=one_line(subject),
            body_text=text,
            body_html="",
            headers=headers,
            status=MessageStatus.QUEUED.value,
            attempts=0,
            created_at=now or clock.now(),
        )
    )
    db.session.commit()


def preview_for(campaign: Campaign, kind: str, key_figure_id: int | None) -> tuple[Any, KeyFigure]:
    """The mail of ``kind`` rendered for the chosen key figure (or the first one).

    Raises ``MailError`` when the campaign has no key figures or the kind is unknown.
    """
    query = select(KeyFigure).where(KeyFigure.campaign_id == campaign.id)
    if key_figure_id is not None:
        query = query.where(KeyFigure.id == key_figure_id)
    key_figure = db.session.scalars(query.order_by(KeyFigure.name).limit(1)).first()
    if key_figure is None:
        raise MailError("Er zijn nog geen sleutelfiguren om een voorbeeld mee te tonen.")
    return preview_mail(campaign, kind, key_figure), key_figure


@dataclass
class KeyFigurePage:
    key_figure: KeyFigure
    survey_url: str
    forward_text: str
    started: int
    completed: int
    qr_svg: str


def key_figure_page(token: str) -> KeyFigurePage:
    """Everything the key figure's own page shows; ``InvalidToken`` for a bad token."""
    key_figure = key_figure_from_token(KEY_FIGURE_PAGE, token)
    link = root_links([key_figure])[key_figure.id]
    context = key_figure_context(key_figure, link, campaign_context(key_figure.campaign))
    started, completed = attribution.answers_through_key_figure(key_figure)
    qr = segno.make(context["survey_url"], error="m")
    return KeyFigurePage(
        key_figure=key_figure,
        survey_url=context["survey_url"],
        forward_text=context["forward_text"],
        started=started,
        completed=completed,
        qr_svg=qr.svg_inline(scale=5, title="QR-code van je link"),
    )


def key_figure_qr(token: str, kind: str) -> tuple[bytes, str]:
    """The QR code of the key figure's link as a poster-sized PNG or SVG file."""
    key_figure = key_figure_from_token(KEY_FIGURE_PAGE, token)
    link = root_links([key_figure])[key_figure.id]
    return qr_file(survey_url(link), kind)


def qr_file(url: str, kind: str) -> tuple[bytes, str]:
    """The QR code of ``url`` as a poster-sized PNG or SVG file, with its mimetype (for a
    key figure's link and a channel's alike)."""
    buffer = io.BytesIO()
    qr = segno.make(url, error="m")
    if kind == "svg":
        qr.save(buffer, kind="svg", scale=10, border=4)
        return buffer.getvalue(), "image/svg+xml"
    qr.save(buffer, kind="png", scale=16, border=4)
    return buffer.getvalue(), "image/png"
