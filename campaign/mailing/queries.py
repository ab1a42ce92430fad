"""Read-only figures for the mail pages: outbox counts, the per-recipient list, .eml files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import load_only, selectinload

from campaign import clock
from campaign.extensions import db
from campaign.formatting import format_datetime
from campaign.mailing.reasons import explain_failure
from campaign.mailing.render import MailError
from campaign.mailing.resend import count_failed, resend_refusal, retry_refusal
from campaign.mailing.sender import FORGOTTEN_KINDS, count_due
from campaign.mailing.services import refuse_when_closed, uninvited_key_figures
from campaign.mailing.transport import eml_path, outbox_dir
from campaign.models import Campaign, CampaignState, KeyFigure, Message, MessageStatus

#: Names ``DirectoryTransport`` gives .eml files: ``<message id>.eml``.
EML_NAME = re.compile(r"^([0-9]{1,18})\.eml$")


def status_counts(campaign: Campaign) -> dict[str, int]:
    """Messages per status (every status present, zero when none)."""
    rows = db.session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.status)
    )
    counts = {status.value: 0 for status in MessageStatus}
    counts.update({status: count for status, count in rows})
    return counts


def kind_counts(campaign: Campaign) -> dict[str, dict[str, int]]:
    """Per kind of mail, the messages per status."""
    rows = db.session.execute(
        select(Message.kind, Message.status, func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.kind, Message.status)
    )
    result: dict[str, dict[str, int]] = {}
    for kind, status, count in rows:
        result.setdefault(kind, {})[status] = count
    return result


def key_figure_choices(campaign: Campaign, limit: int = 500) -> list[KeyFigure]:
    query = (
        select(KeyFigure)
        .where(KeyFigure.campaign_id == campaign.id)
        .order_by(KeyFigure.name, KeyFigure.email)
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass
class OutboxFile:
    name: str
    size: int
    modified: datetime
    subject: str
    to: str


def _parse(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def _listed_messages(campaign: Campaign) -> Any:
    """Sent messages of ``campaign`` that the .eml list may show: not the forgotten kinds,
    whose file (if a developer's outbox kept one) holds a respondent's secret link."""
    return select(Message).where(
        Message.campaign_id == campaign.id,
        Message.status == MessageStatus.SENT.value,
        Message.kind.not_in(FORGOTTEN_KINDS),
    )


def outbox_files(campaign: Campaign, limit: int = 200) -> list[OutboxFile]:
    """The campaign's sent messages that have an .eml file in the outbox folder, newest first."""
    folder = outbox_dir(current_app)
    if not folder.is_dir():
        return []
    query = _listed_messages(campaign).order_by(Message.sent_at.desc(), Message.id.desc())
    files = []
    for message in db.session.scalars(query.limit(limit)):
        path = eml_path(folder, message.id)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # sent through a mail server, or the file was cleaned up
        files.append(
            OutboxFile(
                name=path.name,
                size=stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                subject=message.subject,
                to=(message.headers or {}).get("To", message.recipient_email),
            )
        )
    return files


def header_date(campaign: Campaign, value: str | None) -> str:
    """A mail's ``Date:`` header (RFC 5322, ``Tue, 01 Dec 2026 14:05:00 +0000``) as nl-BE
    text in the campaign's zone (``1 december 2026 om 15.05 u``); the header itself when
    it cannot be read."""
    if not value:
        return "—"
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(campaign.local(moment))


def read_outbox_file(campaign: Campaign, name: str) -> tuple[EmailMessage, str, str] | None:
    """(message, text body, html body) of one .eml file of the campaign; None when the
    name is not ``<id>.eml`` of a listed message of this campaign, or there is no file."""
    match = EML_NAME.match(name)
    if match is None:
        return None
    listed = db.session.scalar(_listed_messages(campaign).where(Message.id == int(match[1])))
    if listed is None:
        return None
    path = eml_path(outbox_dir(current_app), listed.id)
    if not path.is_file():
        return None
    message = _parse(path)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (
        message,
        text.get_content() if text is not None else "",
        html.get_content() if html is not None else "",
    )


def count_uninvited(campaign: Campaign) -> int:
    """Key figures without an invitation in the outbox who did not opt out."""
    invited = select(Message.recipient_email).where(
        Message.campaign_id == campaign.id, Message.kind == "invitation", Message.round == 1
    )
    query = select(func.count()).where(
        KeyFigure.campaign_id == campaign.id,
        KeyFigure.opted_out_at.is_(None),
        KeyFigure.email.not_in(invited),
    )
    return db.session.scalar(query) or 0


#: Rows per page of the per-recipient list.
PER_PAGE = 50
#: The list's state filter: Dutch value in the address -> label.
STATE_FILTERS = {
    "wachtrij": "In de wachtrij",
    "uitgesteld": "Uitgesteld",
    "bezig": "Bezig",
    "verstuurd": "Verstuurd",
    "mislukt": "Mislukt",
    "geannuleerd": "Geannuleerd",
}


@dataclass(frozen=True)
class ListFilter:
    """What the coordinator chose above the list: a state (a key of ``STATE_FILTERS``
    or "" for all), a search in the address or name, and the page."""

    state: str = ""
    search: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: Any) -> ListFilter:
        state = str(args.get("status", ""))
        page = args.get("page", 1, type=int) or 1
        search = str(args.get("q", "")).strip()[:100]
        return cls(state if state in STATE_FILTERS else "", search, max(page, 1))


def _state_condition(state: str, moment: datetime) -> Any:
    queued = Message.status == MessageStatus.QUEUED.value
    waiting = and_(Message.next_attempt_at.is_not(None), Message.next_attempt_at > moment)
    return {
        "wachtrij": and_(queued, ~waiting),
        "uitgesteld": and_(queued, waiting),
        "bezig": Message.status == MessageStatus.SENDING.value,
        "verstuurd": Message.status == MessageStatus.SENT.value,
        "mislukt": Message.status == MessageStatus.FAILED.value,
        "geannuleerd": Message.status == MessageStatus.CANCELLED.value,
    }[state]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_condition(search: str) -> Any:
    """Address or key figure's name contains ``search``; never matches a forgotten kind's
    address (the list does not show it, so it must not be findable either)."""
    pattern = f"%{_escape_like(search.lower())}%"
    names = select(KeyFigure.id).where(func.lower(KeyFigure.name).like(pattern, escape="\\"))
    return and_(
        Message.kind.not_in(FORGOTTEN_KINDS),
        or_(
            func.lower(Message.recipient_email).like(pattern, escape="\\"),
            Message.key_figure_id.in_(names),
        ),
    )


def state_counts(campaign: Campaign, moment: datetime) -> dict[str, int]:
    """Messages per value of the list's state filter (every key present)."""
    counts = {state: 0 for state in STATE_FILTERS}
    by_status = status_counts(campaign)
    deferred = db.session.scalar(
        select(func.count()).where(
            Message.campaign_id == campaign.id, _state_condition("uitgesteld", moment)
        )
    )
    counts.update(
        wachtrij=by_status["queued"] - (deferred or 0),
        uitgesteld=deferred or 0,
        bezig=by_status["sending"],
        verstuurd=by_status["sent"],
        mislukt=by_status["failed"],
        geannuleerd=by_status["cancelled"],
    )
    return counts


@dataclass(frozen=True)
class MessageLine:
    """One row of the per-recipient list, as the page shows it."""

    id: int
    kind: str
    #: The name (of a key figure) and the address; None for a kind whose address is forgotten.
    name: str
    email: str | None
    #: ``queued``, ``deferred``, ``sending``, ``sent``, ``failed`` or ``cancelled``.
    state: str
    #: "verstuurd op 1 juli 2027 om 09.05 u", "uitgesteld tot 09.20 u (poging 3)", ...
    state_text: str
    #: What went wrong, in words, and the server's own reply (both "" when nothing did).
    explanation: str
    raw_error: str
    retry_refusal: str | None
    resend_refusal: str | None


def _state_text(message: Message, campaign: Campaign, moment: datetime) -> tuple[str, str]:
    status = message.status
    if status == MessageStatus.SENT.value and message.sent_at is not None:
        return "sent", f"verstuurd op {format_datetime(campaign.local(message.sent_at))}"
    if status == MessageStatus.QUEUED.value:
        waiting = message.next_attempt_at is not None and message.next_attempt_at > moment
        if waiting and message.next_attempt_at is not None:
            until = _moment_text(campaign.local(message.next_attempt_at), campaign.local(moment))
            return "deferred", f"uitgesteld tot {until} (poging {message.attempts + 1})"
        if message.attempts or message.last_error:
            return "queued", f"in de wachtrij (poging {message.attempts + 1})"
        return "queued", "in de wachtrij"
    labels = {"sending": "bezig", "failed": "mislukt", "cancelled": "geannuleerd"}
    return status, labels.get(status, status)


def _moment_text(local: datetime, today: datetime) -> str:
    """``14.05 u`` today, else the date with the time."""
    if local.date() == today.date():
        return f"{local.hour:02d}.{local.minute:02d} u"
    return format_datetime(local)


def _line(message: Message, campaign: Campaign, moment: datetime, closed: bool) -> MessageLine:
    forgotten = message.kind in FORGOTTEN_KINDS
    key_figure = message.key_figure
    state, text = _state_text(message, campaign, moment)
    show_error = message.status != MessageStatus.SENT.value and message.last_error
    return MessageLine(
        id=message.id,
        kind=message.kind,
        name="respondent (adres niet getoond)"
        if forgotten
        else (key_figure.name if key_figure else ""),
        email=None if forgotten else message.recipient_email,
        state=state,
        state_text=text,
        explanation=explain_failure(message.last_error) if show_error else "",
        raw_error=(message.last_error or "") if show_error else "",
        retry_refusal=retry_refusal(message, closed),
        resend_refusal=resend_refusal(message, closed),
    )


@dataclass(frozen=True)
class MessageListing:
    page: Pagination
    lines: list[MessageLine]
    counts: dict[str, int]
    chosen: ListFilter
    failed: int


def message_list(
    campaign: Campaign, chosen: ListFilter, now: datetime | None = None
) -> MessageListing:
    """One page (``PER_PAGE``) of the campaign's mails matching ``chosen``, newest first,
    with the counts per state; bodies are never loaded."""
    moment = now or clock.now()
    query = select(Message).where(Message.campaign_id == campaign.id)
    if chosen.state:
        query = query.where(_state_condition(chosen.state, moment))
    if chosen.search:
        query = query.where(_search_condition(chosen.search))
    query = query.options(
        load_only(
            Message.id,
            Message.campaign_id,
            Message.kind,
            Message.recipient_email,
            Message.key_figure_id,
            Message.status,
            Message.attempts,
            Message.last_error,
            Message.next_attempt_at,
            Message.sent_at,
        ),
        selectinload(Message.key_figure).load_only(
            KeyFigure.id, KeyFigure.name, KeyFigure.email, KeyFigure.opted_out_at
        ),
    ).order_by(Message.id.desc())
    page = db.paginate(query, page=chosen.page, per_page=PER_PAGE, error_out=False)
    closed = campaign.state(moment) is CampaignState.CLOSED
    counts = state_counts(campaign, moment)
    return MessageListing(
        page=page,
        lines=[_line(m, campaign, moment, closed) for m in page.items],
        counts=counts,
        chosen=chosen,
        failed=counts["mislukt"],
    )


def key_figure_mail_lines(
    campaign: Campaign, key_figure: KeyFigure, now: datetime | None = None
) -> list[tuple[Message, MessageLine]]:
    """Every mail to one key figure (invitations, reminders, tests, ...), newest first, as
    the mail page's list shows them (state in words, the server's reason, what may be
    done again); bodies are never loaded."""
    moment = now or clock.now()
    query = (
        select(Message)
        .where(Message.campaign_id == campaign.id, Message.key_figure_id == key_figure.id)
        .options(
            load_only(
                Message.id,
                Message.campaign_id,
                Message.kind,
                Message.round,
                Message.recipient_email,
                Message.key_figure_id,
                Message.status,
                Message.attempts,
                Message.last_error,
                Message.next_attempt_at,
                Message.sent_at,
                Message.created_at,
            )
        )
        .order_by(Message.id.desc())
    )
    closed = campaign.state(moment) is CampaignState.CLOSED
    return [(m, _line(m, campaign, moment, closed)) for m in db.session.scalars(query)]


def outbox_overview(campaign: Campaign, chosen: ListFilter | None = None) -> dict[str, object]:
    """Everything the campaign's mail page shows, with the list as ``chosen``."""
    return {
        "listing": message_list(campaign, chosen or ListFilter()),
        "progress": outbox_progress(campaign),
        "counts": status_counts(campaign),
        "kinds": kind_counts(campaign),
        "closed": campaign.state() is CampaignState.CLOSED,
        "failed_invitations": count_failed(campaign, "invitation"),
        "key_figures": key_figure_choices(campaign),
        "uninvited": count_uninvited(campaign),
        "files": outbox_files(campaign),
        "mail_server": bool(current_app.config.get("MAIL_SERVER")),
        "due": count_due(campaign.id),
    }


def outbox_progress(campaign: Campaign, now: datetime | None = None) -> dict[str, int]:
    """Messages per status, how many are due now and how many wait for a retry: what the
    mail page polls (it reloads its list when these change)."""
    moment = now or clock.now()
    counts = state_counts(campaign, moment)
    return {
        **status_counts(campaign),
        "due": count_due(campaign.id, moment),
        "deferred": counts["uitgesteld"],
    }


@dataclass(frozen=True)
class InvitationPlan:
    """What "Uitnodigingen versturen" would do now: for its confirm step."""

    #: Key figures who would get an invitation (not invited yet, not opted out).
    key_figures: list[KeyFigure]
    opted_out: int
    already: int
    sender: str
    subject: str
    #: Why no invitation can go out now (the survey closed), else None.
    refusal: str | None
    #: The survey is not open yet: when it opens (local), else None.
    opens_at: datetime | None


def invitation_plan(campaign: Campaign, now: datetime | None = None) -> InvitationPlan:
    moment = now or clock.now()
    key_figures, opted_out = uninvited_key_figures(campaign)
    already = db.session.scalar(
        select(func.count()).where(
            Message.campaign_id == campaign.id, Message.kind == "invitation", Message.round == 1
        )
    )
    try:
        refuse_when_closed(campaign, moment)
        refusal = None
    except MailError as exc:
        refusal = str(exc)
    mail = campaign.mail_settings or {}
    draft = campaign.state(moment) is CampaignState.DRAFT
    return InvitationPlan(
        key_figures=key_figures,
        opted_out=opted_out,
        already=already or 0,
        sender=f"{mail.get('sender_name', '')} ({mail.get('sender_email', '')})",
        subject=mail.get("subjects", {}).get("invitation", ""),
        refusal=refusal,
        opens_at=campaign.local(campaign.opens_at) if draft else None,
    )
