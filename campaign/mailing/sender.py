"""Sending the outbox so that a crash loses nothing and duplicates at most one mail.

Each message is *claimed* (status ``sending``, committed) before the server
can accept it, and recorded as ``sent`` once the server accepted it, in the
same statement that claims the next message.  A process killed in between
leaves that one message in ``sending``; the next run sends it again, with the
same Message-ID.  Claims are conditional updates, so two senders running at
once never both claim a queued message.

The claim's commit runs while the server handles MAIL FROM and the next
message's bytes are built while it handles RCPT TO, so our bookkeeping
overlaps with the server's work instead of adding to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select, update

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
#: WAL pages between checkpoints on the sender's SQLite connection (about 40 MB).
WAL_CHECKPOINT_PAGES = 10_000
SQLITE_DEFAULT_CHECKPOINT_PAGES = 1_000

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


#: What sending a row needs (no timestamps to convert, no counters but ``attempts``).
_SEND_COLUMNS = [
    MESSAGES.c[name]
    for name in (
        "id",
        "kind",
        "recipient_email",
        "message_id",
        "subject",
        "body_text",
        "body_html",
        "headers",
        "status",
        "attempts",
    )
]


def _due_query(campaign_id: int | None, after_id: int, moment: datetime) -> Any:
    return (
        select(*_SEND_COLUMNS, KEY_FIGURES.c.opted_out_at, Campaign.slug)
        .outerjoin(KEY_FIGURES, KEY_FIGURES.c.id == MESSAGES.c.key_figure_id)
        .join(Campaign, Campaign.id == MESSAGES.c.campaign_id)
        .where(_pending(campaign_id, moment), MESSAGES.c.id > after_id)
        .order_by(MESSAGES.c.id)
        .limit(BATCH)
    )


# Built once: they run for every message.
_MARK_SENT = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("sent_id"))
    .values(status=SENT, sent_at=bindparam("moment"), last_error=None, next_attempt_at=None)
)
_IS_CLAIMED = MESSAGES.c.id == bindparam("claim_id")
#: One statement that records the previous message as sent and claims the next one: a
#: single round trip and a single commit per message.  The claim holds only when the
#: row is still as it was read (no other sender took it), so the RETURNING list tells.
_SENT_AND_CLAIM = (
    update(MESSAGES)
    .where(
        or_(
            and_(
                _IS_CLAIMED,
                MESSAGES.c.status == bindparam("old_status"),
                MESSAGES.c.attempts == bindparam("old_attempts"),
            ),
            MESSAGES.c.id == bindparam("sent_id"),
        )
    )
    .values(
        status=case((_IS_CLAIMED, SENDING), else_=SENT),
        attempts=case((_IS_CLAIMED, MESSAGES.c.attempts + 1), else_=MESSAGES.c.attempts),
        sent_at=case(
            (_IS_CLAIMED, MESSAGES.c.sent_at),
            else_=bindparam("moment", type_=MESSAGES.c.sent_at.type),
        ),
        last_error=case((_IS_CLAIMED, MESSAGES.c.last_error), else_=None),
        next_attempt_at=case((_IS_CLAIMED, MESSAGES.c.next_attempt_at), else_=None),
    )
    .returning(MESSAGES.c.id)
)


class _Prepared:
    """A Core statement compiled once for a dialect, run straight on the DBAPI cursor.

    For the one statement that runs for every message: SQLAlchemy's execution layer
    (events, contexts, result objects) costs about as much as the database work.
    """

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.defaults: dict[str, Any] = dict(compiled.params)  # literals such as 'sending'
        self.order: list[str] | None = compiled.positiontup  # None for named paramstyles
        processors = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.defaults
        }
        self.processors = {name: p for name, p in processors.items() if p is not None}

    def params(self, values: dict[str, Any]) -> Any:
        merged = {**self.defaults, **values}
        for name, process in self.processors.items():
            merged[name] = process(merged[name])
        return [merged[name] for name in self.order] if self.order else merged


class Ledger:
    """The sender's own database connection: every call is one short write transaction.

    On SQLite each starts with ``BEGIN IMMEDIATE`` (as ``begin_write`` does for the
    ORM session); on PostgreSQL the connection autocommits, so a claim is one round
    trip.  A message the server accepted is recorded as sent by the statement that
    claims the next one, so at any moment at most one message is accepted but not
    recorded: that is the one a crash can duplicate.
    """

    def __init__(self, engine: Any) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        options: dict[str, Any] = {IMMEDIATE: True}
        if not self._sqlite:
            options = {"isolation_level": "AUTOCOMMIT"}
        self._connection = engine.connect().execution_options(**options)
        # Each claim appends a few pages to the WAL; SQLite's default checkpoint (every
        # 1,000 pages, with two fsyncs) would run every ~100 messages.
        self._checkpoint_pages(WAL_CHECKPOINT_PAGES)
        self._claim = _Prepared(_SENT_AND_CLAIM, engine.dialect)
        self._accepted: dict[str, Any] | None = None

    def _run(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        with self._connection.begin():
            if self._accepted is not None:
                self._connection.execute(_MARK_SENT, self._accepted)
            result = self._connection.execute(statement, params or {})
            outcome = result.all() if result.returns_rows else result.rowcount
        self._accepted = None
        return outcome

    def read(self, query: Any) -> list[Any]:
        return self._run(query)

    def write(self, row_id: int, expected: dict[str, Any] | None = None, **values: Any) -> bool:
        """UPDATE one message (when ``expected`` still holds); False when it did not."""
        statement = update(MESSAGES).where(MESSAGES.c.id == row_id)
        for column, value in (expected or {}).items():
            statement = statement.where(MESSAGES.c[column] == value)
        return self._run(statement.values(**values)) == 1

    def claim(self, row: Any) -> bool:
        """Claim ``row`` (unless another sender changed it since it was read), recording
        the previously accepted message as sent in the same statement."""
        params = {
            "claim_id": row.id,
            "old_status": row.status,
            "old_attempts": row.attempts,
            "sent_id": None,
            "moment": None,
        }
        params.update(self._accepted or {})
        claimed = self._run_prepared(self._claim, params)
        self._accepted = None
        return any(claimed_id == row.id for (claimed_id,) in claimed)

    def _run_prepared(self, prepared: _Prepared, values: dict[str, Any]) -> list[Any]:
        """Run ``prepared`` as a transaction of its own, on the DBAPI connection."""
        raw = self._connection.connection.dbapi_connection
        cursor = raw.cursor()
        try:
            if self._sqlite:  # PostgreSQL autocommits the one statement
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(prepared.sql, prepared.params(values))
            rows = cursor.fetchall()
            if self._sqlite:
                cursor.execute("COMMIT")
        except BaseException:
            if self._sqlite and raw.in_transaction:
                raw.rollback()
            raise
        finally:
            cursor.close()
        return rows

    def accepted(self, row_id: int, moment: datetime) -> None:
        """Remember that the server accepted ``row_id``: recorded with the next statement."""
        self._accepted = {"sent_id": row_id, "moment": moment}

    def flush(self) -> None:
        if self._accepted is not None:
            with self._connection.begin():
                self._connection.execute(_MARK_SENT, self._accepted)
            self._accepted = None

    def _checkpoint_pages(self, pages: int) -> None:
        if self._sqlite:
            cursor = self._connection.connection.dbapi_connection.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
            cursor.close()

    def close(self) -> None:
        try:
            self.flush()
            self._checkpoint_pages(SQLITE_DEFAULT_CHECKPOINT_PAGES)  # back in the pool
        finally:
            self._connection.close()


class Claim:
    """The claim of one row, made once, when first asked for.

    The SMTP transport asks right after sending MAIL FROM, so the claim's commit
    overlaps with the server's work on that command; the final dot is only sent
    once it holds.  An error before that point claims the row then, so the failed
    attempt is counted as before.
    """

    def __init__(self, ledger: Ledger, row: Any) -> None:
        self._ledger = ledger
        self._row = row
        self.held: bool | None = None

    def __call__(self) -> bool:
        if self.held is None:
            self.held = self._ledger.claim(self._row)
        return self.held


class Builder:
    """The MIME bytes of outbox rows: the next row's are built while the server handles
    the current message's RCPT TO, off the critical path."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._next: tuple[int, tuple[str, bytes] | ValueError] | None = None

    def prepare(self, row: Any | None) -> None:
        if row is None:
            return
        try:
            self._next = (row.id, build_message(row, self._now()))
        except ValueError as exc:  # reported when the row's turn comes
            self._next = (row.id, exc)

    def take(self, row: Any) -> tuple[str, bytes]:
        """Sender and bytes of ``row``; ``ValueError`` for a header that cannot be encoded."""
        if self._next is None or self._next[0] != row.id:
            self.prepare(row)
        assert self._next is not None
        built, self._next = self._next[1], None
        if isinstance(built, ValueError):
            raise built
        return built


@dataclass
class _Run:
    """What one ``send_queued`` call works with."""

    transport: Transport
    ledger: Ledger
    builder: Builder
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    report: SendReport


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


def _cancel(ledger: Ledger, row: Any, report: SendReport) -> bool:
    ledger.write(
        row.id,
        {"status": row.status},
        status=MessageStatus.CANCELLED.value,
        last_error="niet verstuurd: de ontvanger heeft zich afgemeld",
    )
    report.cancelled += 1
    return True


def _deliver(run: _Run, row: Any, next_row: Any | None) -> bool:
    """Send one outbox row and record the outcome; True when the row is done (sent,
    failed or cancelled), False when it waits for a retry or another sender has it."""
    if row.opted_out_at is not None:
        return _cancel(run.ledger, row, run.report)
    try:
        sender, raw = run.builder.take(row)
    except ValueError as exc:
        return _fail(run.ledger, row, f"ongeldige mail: {exc}", run.report)
    claim = Claim(run.ledger, row)
    try:
        delivered = run.transport.send(
            sender,
            row.recipient_email,
            raw,
            _filename(row),
            gate=claim,
            meanwhile=lambda: run.builder.prepare(next_row),
        )
    except PermanentError as exc:
        run.transport.reset()
        return claim() and _fail(run.ledger, row, str(exc), run.report)
    except TransientError as exc:
        run.transport.reset()
        return claim() and _defer_or_fail(run.ledger, row, str(exc), run.now(), run.report)
    if not delivered:
        return False  # another sender took it; the transport abandoned the message
    run.ledger.accepted(row.id, run.now())
    run.report.sent += 1
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


def _one_pass(run: _Run, campaign_id: int | None, progress: Callable[[int], None] | None) -> None:
    after = 0
    while batch := run.ledger.read(_due_query(campaign_id, after, run.now())):
        for row, next_row in zip(batch, [*batch[1:], None], strict=True):
            _connect(run.transport, run.sleep)
            if _deliver(run, row, next_row) and progress is not None:
                progress(1)
        after = batch[-1].id
    run.ledger.flush()


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
    run = _Run(transport, ledger, Builder(now), now, sleep, report)
    try:
        while True:
            _one_pass(run, campaign_id, progress)
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
