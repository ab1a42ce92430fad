"""Read-only figures for the mail pages: outbox counts, failures, .eml files, a key figure's answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.mailing.sender import FORGOTTEN_KINDS, count_due
from campaign.mailing.transport import eml_path, outbox_dir
from campaign.models import Campaign, KeyFigure, Message, MessageStatus

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


def problem_messages(campaign: Campaign, limit: int = 100) -> list[Message]:
    """Failed messages, and queued ones waiting for a retry, newest problem first."""
    query = (
        select(Message)
        .where(
            Message.campaign_id == campaign.id,
            Message.last_error.is_not(None),
            Message.status.in_([MessageStatus.FAILED.value, MessageStatus.QUEUED.value]),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


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


def outbox_overview(campaign: Campaign) -> dict[str, object]:
    """Everything the campaign's mail page shows."""
    return {
        "counts": status_counts(campaign),
        "kinds": kind_counts(campaign),
        "problems": problem_messages(campaign),
        "key_figures": key_figure_choices(campaign),
        "uninvited": count_uninvited(campaign),
        "files": outbox_files(campaign),
        "mail_server": bool(current_app.config.get("MAIL_SERVER")),
        "due": count_due(campaign.id),
    }


def outbox_progress(campaign: Campaign) -> dict[str, int]:
    """Messages per status and how many are due now: what the mail page polls."""
    return {**status_counts(campaign), "due": count_due(campaign.id)}
