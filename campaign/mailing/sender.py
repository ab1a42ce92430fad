"""Sending the outbox so that a crash loses nothing and duplicates at most one mail.

Each message is *claimed* (status ``sending``, committed) right before it is
handed to the server, and marked ``sent`` (committed) right after the server
accepted it.  A process killed in between leaves that one message in
``sending``; the next run sends it again, with the same Message-ID.  Claims
are conditional updates, so two senders running at once never both claim a
queued message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from campaign.database import IMMEDIATE
from campaign.extensions import db
from campaign.mailing.transport import (
    PermanentError,
    ServerUnavailable,
    TransientError,
    Transport,
    build_message,
    transport_for,
)
from campaign.models import Campaign, KeyFigure, Message, MessageStatus, utcnow

log = logging.getLogger(__name__)

MESSAGES = Message.__table__
KEY_FIGURES = KeyFigure.__table__
#: Statuses the sender picks up: ``sending`` is a claim left behind by a killed sender.
PENDING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
SENDING = MessageStatus.SENDING.value
SENT = MessageStatus.SENT.value
BATCH = 200

DEFAULTS = {
    #: First retry delay after a transient failure; it doubles with every attempt.
    "MAIL_RETRY_BASE_SECONDS": 5.0,
    #: Attempts before a transiently failing message is given up as failed.
    "MAIL_MAX_ATTEMPTS": 5,
    #: Longest a run waits for a deferred retry before leaving it to the next run.
    "MAIL_RETRY_WAIT_SECONDS": 60.0,
    #: Tries to open the SMTP connection before the run gives up (nothing lost).
    "MAIL_CONNECT_TRIES": 3,
}


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    #: Still queued after this run, waiting for a retry.
    deferred: int = 0
    #: "recipient: reason" for every message that failed in this run.
    failures: list[str] = field(default_factory=list)
    #: Set when the mail server could not be reached at all.
    server_error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.deferred or self.server_error)


def _pending(campaign_id: int | None, moment: datetime) -> Any:
    due = or_(MESSAGES.c.next_attempt_at.is_(None), MESSAGES.c.next_attempt_at <= moment)
    condition = and_(MESSAGES.c.status.in_(PENDING), due)
    if campaign_id is not None:
        condition = and_(condition, MESSAGES.c.campaign_id == campaign_id)
    return condition


def count_due(campaign_id: int | None = None, now: datetime | None = None) -> int:
    """Messages a run would send now (queued or left in ``sending``, not waiting for a retry)."""
    query = select(func.count()).select_from(MESSAGES).where(_pending(campaign_id, now or utcnow()))
    return db.session.scalar(query) or 0


def _due_query(campaign_id: int | None, after_id: int, moment: datetime) -> Any:
    return (
        select(MESSAGES, KEY_FIGURES.c.opted_out_at, Campaign.slug)
        .outerjoin(KEY_FIGURES, KEY_FIGURES.c.id == MESSAGES.c.key_figure_id)
        .join(Campaign, Campaign.id == MESSAGES.c.campaign_id)
        .where(_pending(campaign_id, moment), MESSAGES.c.id > after_id)
        .order_by(MESSAGES.c.id)
        .limit(BATCH)
    )


# Built once: the two statements run for every message.
_MARK_SENT = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"))
    .values(status=SENT, sent_at=bindparam("moment"), last_error=None, next_attempt_at=None)
)
_CLAIM = (
    update(MESSAGES)
    .where(
        MESSAGES.c.id == bindparam("row_id"),
        MESSAGES.c.status == bindparam("old_status"),
        MESSAGES.c.attempts == bindparam("old_attempts"),
    )
    .values(status=SENDING, attempts=MESSAGES.c.attempts + 1)
)


class Ledger:
    """The sender's own database connection, used from one worker thread only.

    Every call is one short write transaction.  On SQLite each starts with
    ``BEGIN IMMEDIATE`` (as ``begin_write`` does for the ORM session).  A
    message the server accepted is recorded as sent in the same transaction
    that claims the next one, so at any moment at most one message is
    accepted-but-not-recorded: that is the one a crash can duplicate.

    ``claim_async`` runs that transaction while the main thread already
    talks to the SMTP server about the next message (MAIL, RCPT, DATA and the
    content); the final dot, which makes the server accept it, waits for the
    claim.  So the bookkeeping overlaps with the server's work instead of
    adding to it.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._connection: Any = None
        self._accepted: tuple[int, datetime] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-ledger")

    # -- run in the worker thread ---------------------------------------------------------

    def _begin(self) -> Any:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(**{IMMEDIATE: True})
        transaction = self._connection.begin()
        if self._accepted is not None:
            row_id, moment = self._accepted
            self._connection.execute(_MARK_SENT, {"row_id": row_id, "moment": moment})
            self._accepted = None
        return transaction

    def _execute(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        with self._begin():
            result = self._connection.execute(statement, params or {})
            return result.all() if result.returns_rows else result.rowcount

    def _close(self) -> None:
        if self._accepted is not None:
            with self._begin():
                pass
        if self._connection is not None:
            self._connection.close()

    # -- called from the sending thread ---------------------------------------------------

    def read(self, query: Any) -> list[Any]:
        return self._worker.submit(self._execute, query).result()

    def write(self, row_id: int, expected: dict[str, Any] | None = None, **values: Any) -> bool:
        """UPDATE one message (when ``expected`` still holds); False when it did not."""
        statement = update(MESSAGES).where(MESSAGES.c.id == row_id)
        for column, value in (expected or {}).items():
            statement = statement.where(MESSAGES.c[column] == value)
        return self._worker.submit(self._execute, statement.values(**values)).result() == 1

    def claim_async(self, row: Any) -> Future:
        """Start claiming ``row`` (unless another sender changed it since it was read);
        the future's result is True when the claim holds."""
        params = {"row_id": row.id, "old_status": row.status, "old_attempts": row.attempts}
        return self._worker.submit(lambda: self._execute(_CLAIM, params) == 1)

    def accepted(self, row_id: int, moment: datetime) -> None:
        """Remember that the server accepted ``row_id``: recorded with the next transaction."""
        self._accepted = (row_id, moment)

    def flush(self) -> None:
        self._worker.submit(lambda: self._begin().commit()).result()

    def close(self) -> None:
        try:
            self._worker.submit(self._close).result()
        finally:
            self._worker.shutdown()


def _fail(ledger: Ledger, row: Any, reason: str, report: SendReport) -> bool:
    ledger.write(row.id, status=MessageStatus.FAILED.value, last_error=reason)
    report.failed += 1
    report.failures.append(f"{row.recipient_email}: {reason}")
    return True


def _defer_or_fail(
    ledger: Ledger, row: Any, reason: str, moment: datetime, report: SendReport
) -> bool:
    attempts = row.attempts + 1
    if attempts >= int(setting("MAIL_MAX_ATTEMPTS")):
        return _fail(ledger, row, f"na {attempts} pogingen: {reason}", report)
    delay = float(setting("MAIL_RETRY_BASE_SECONDS")) * 2 ** (attempts - 1)
    ledger.write(
        row.id,
        status=MessageStatus.QUEUED.value,
        last_error=reason,
        next_attempt_at=moment + timedelta(seconds=min(delay, 3600)),
    )
    return False


def _deliver(
    transport: Transport, ledger: Ledger, row: Any, now: Callable[[], datetime], report: SendReport
) -> bool:
    """Send one outbox row and record the outcome; True when the row is done (sent,
    failed or cancelled), False when it waits for a retry or another sender has it."""
    if row.opted_out_at is not None:
        ledger.write(
            row.id,
            {"status": row.status},
            status=MessageStatus.CANCELLED.value,
            last_error="niet verstuurd: de ontvanger heeft zich afgemeld",
        )
        report.cancelled += 1
        return True
    try:
        sender, raw = build_message(row, now())
    except ValueError as exc:
        return _fail(ledger, row, f"ongeldige mail: {exc}", report)
    claim = ledger.claim_async(row)
    try:
        transport.send(sender, row.recipient_email, raw, _filename(row), gate=claim.result)
    except PermanentError as exc:
        transport.reset()
        return claim.result() and _fail(ledger, row, str(exc), report)
    except TransientError as exc:
        transport.reset()
        return claim.result() and _defer_or_fail(ledger, row, str(exc), now(), report)
    if not claim.result():
        return False  # another sender took it; the transport did not finish the message
    ledger.accepted(row.id, now())
    report.sent += 1
    return True


def _filename(row: Any) -> str:
    return f"{row.slug}-{row.id:06d}-{row.kind}.eml"


def _connect(transport: Transport, sleep: Callable[[float], None]) -> None:
    """Make sure the transport is connected, retrying with backoff; ``ServerUnavailable``
    after the last try (before any message was claimed, so nothing is lost)."""
    tries = int(setting("MAIL_CONNECT_TRIES"))
    for attempt in range(tries):
        try:
            transport.ready()
            return
        except ServerUnavailable:
            if attempt == tries - 1:
                raise
            sleep(float(setting("MAIL_RETRY_BASE_SECONDS")) * 2**attempt)


def _one_pass(
    transport: Transport,
    ledger: Ledger,
    campaign_id: int | None,
    clock: tuple[Callable[[], datetime], Callable[[float], None]],
    progress: Callable[[int], None] | None,
    report: SendReport,
) -> None:
    now, sleep = clock
    after = 0
    while batch := ledger.read(_due_query(campaign_id, after, now())):
        for row in batch:
            _connect(transport, sleep)
            if _deliver(transport, ledger, row, now, report) and progress is not None:
                progress(1)
        after = batch[-1].id
    ledger.flush()


def seconds_to_next_retry(campaign_id: int | None, moment: datetime) -> float | None:
    """Seconds until the earliest deferred message is due; None when none waits."""
    query = select(func.min(MESSAGES.c.next_attempt_at)).where(
        MESSAGES.c.status == MessageStatus.QUEUED.value, MESSAGES.c.next_attempt_at.is_not(None)
    )
    if campaign_id is not None:
        query = query.where(MESSAGES.c.campaign_id == campaign_id)
    earliest = db.session.execute(query).scalar()
    db.session.commit()
    if earliest is None:
        return None
    if earliest.tzinfo is None:  # SQLite through Core: stored naive in UTC
        earliest = earliest.replace(tzinfo=moment.tzinfo)
    return max((earliest - moment).total_seconds(), 0.0)


def send_queued(
    campaign_id: int | None = None,
    *,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """Send every due message in the outbox (of one campaign, or of all).

    Retries transient failures with exponential backoff, waiting for a retry
    when it is due within ``MAIL_RETRY_WAIT_SECONDS``; later ones stay queued
    for the next run.  ``progress(1)`` is called for each message that is done.
    """
    report = SendReport()
    db.session.commit()  # no read transaction of ours stays open while we write
    transport = transport_for(current_app)
    ledger = Ledger(db.engine)
    try:
        while True:
            _one_pass(transport, ledger, campaign_id, (now, sleep), progress, report)
            wait = seconds_to_next_retry(campaign_id, now())
            if wait is None or wait > float(setting("MAIL_RETRY_WAIT_SECONDS")):
                break
            transport.close()  # do not hold an idle connection while waiting
            sleep(wait)
    except ServerUnavailable as exc:
        report.server_error = str(exc)
    finally:
        ledger.close()
        transport.close()
    report.deferred = (
        db.session.scalar(
            select(func.count())
            .select_from(MESSAGES)
            .where(
                MESSAGES.c.status.in_(PENDING),
                *([MESSAGES.c.campaign_id == campaign_id] if campaign_id is not None else []),
            )
        )
        or 0
    )
    db.session.commit()
    log.info(
        "outbox run: %s sent, %s failed, %s cancelled, %s still queued%s",
        report.sent,
        report.failed,
        report.cancelled,
        report.deferred,
        f", server unavailable: {report.server_error}" if report.server_error else "",
    )
    return report
