"""Sending the outbox: a queue that any number of senders work on at once.

A sender *claims* a small batch of due messages in one short write transaction
(status ``sending``, ``claimed_by`` = the sender's identity, ``lease_until`` =
now + ``MAIL_LEASE_SECONDS``), sends them over one SMTP connection, and records
each outcome with an UPDATE that only holds while the claim is still its own
(``claimed_by = me``).  A message is due when it is queued (and not waiting for
a retry), or when it is ``sending`` under a lease that ran out: the claim of a
killed sender, taken over by the next one.  A live lease is never taken over.

A sender killed between the server's 250 and the outcome UPDATE leaves that one
message ``sending``: it is sent again (with the same Message-ID) once its lease
ends.  That is the only duplicate a crash can cause.

On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED``, so senders
never wait for each other; on SQLite the transaction starts with ``BEGIN
IMMEDIATE`` and the database's write lock puts the claims in a row.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from campaign import clock
from campaign.database import begin_write
from campaign.extensions import db
from campaign.failpoints import failpoint
from campaign.mailing.retries import retry_delay, should_give_up, span_text
from campaign.mailing.settings import DEFAULTS as DEFAULTS  # noqa: F401 (public: the defaults)
from campaign.mailing.settings import setting
from campaign.mailing.transport import (
    PermanentError,
    ServerUnavailable,
    TransientError,
    Transport,
    build_message,
    transport_for,
)
from campaign.models import Campaign, CampaignState, KeyFigure, Message, MessageStatus

log = logging.getLogger(__name__)

# The tables (typed as ``Table``, which ``update()`` takes): Core statements through the
# session, without the ORM's per-statement bookkeeping for objects we never load.
MESSAGES = Message.metadata.tables[Message.__tablename__]
KEY_FIGURES = KeyFigure.metadata.tables[KeyFigure.__tablename__]
QUEUED = MessageStatus.QUEUED.value
SENDING = MessageStatus.SENDING.value
SENT = MessageStatus.SENT.value
FAILED = MessageStatus.FAILED.value
CANCELLED = MessageStatus.CANCELLED.value
#: Kinds of mail whose recipient and bodies are blanked once the mail is done.
FORGOTTEN_KINDS = ("resume",)

#: Kinds of mail that invite people to fill in the survey: once it is closed, those still
#: in the outbox are cancelled rather than sent (winner and resume mails still go out).
SURVEY_KINDS = ("invitation", "reminder")
#: ``last_error`` of a mail cancelled because its recipient opted out.
OPTED_OUT_REASON = "niet verstuurd: de ontvanger heeft zich afgemeld"
#: ``last_error`` of an invitation or reminder cancelled because the survey closed.
CLOSED_REASON = "niet verstuurd: de bevraging is afgesloten"


def sender_identity() -> str:
    """``host:pid:random``: unique per sender, and says where a stuck claim came from."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


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


def _scope(condition: Any, campaign_id: int | None) -> Any:
    if campaign_id is None:
        return condition
    return and_(condition, MESSAGES.c.campaign_id == campaign_id)


def due_condition(moment: datetime, campaign_id: int | None = None) -> Any:
    """Queued and not waiting for a retry, or ``sending`` under an expired lease."""
    queued = and_(
        MESSAGES.c.status == QUEUED,
        or_(MESSAGES.c.next_attempt_at.is_(None), MESSAGES.c.next_attempt_at <= moment),
    )
    abandoned = and_(MESSAGES.c.status == SENDING, MESSAGES.c.lease_until < moment)
    return _scope(or_(queued, abandoned), campaign_id)


def count_due(campaign_id: int | None = None, now: datetime | None = None) -> int:
    """Messages a sender would claim now."""
    query = select(func.count()).select_from(MESSAGES)
    return db.session.scalar(query.where(due_condition(now or clock.now(), campaign_id))) or 0


_SEND_COLUMNS = [
    MESSAGES.c[name]
    for name in (
        "id",
        "campaign_id",
        "kind",
        "recipient_email",
        "message_id",
        "subject",
        "body_text",
        "body_html",
        "headers",
        "attempts",
        "created_at",
    )
]


def claim_batch(
    me: str, moment: datetime, lease: timedelta, limit: int, campaign_id: int | None = None
) -> Sequence[Any]:
    """Claim up to ``limit`` due messages for sender ``me`` (committed) and return them.

    ``attempts`` of the returned rows is the count before this claim.
    """
    begin_write()  # SQLite: BEGIN IMMEDIATE, so two claims cannot interleave
    query = (
        select(*_SEND_COLUMNS, KEY_FIGURES.c.opted_out_at)
        .outerjoin(KEY_FIGURES, KEY_FIGURES.c.id == MESSAGES.c.key_figure_id)
        .where(due_condition(moment, campaign_id))
        .order_by(MESSAGES.c.id)
        .limit(limit)
        # PostgreSQL: rows another sender is claiming right now are skipped, not waited
        # for.  SQLite has no row locks and ignores this; its write lock serialises claims.
        .with_for_update(of=MESSAGES, skip_locked=True)
    )
    rows = db.session.execute(query).all()
    if rows:
        db.session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id.in_([row.id for row in rows]))
            .values(
                status=SENDING,
                claimed_by=me,
                lease_until=moment + lease,
                attempts=MESSAGES.c.attempts + 1,
            )
        )
    db.session.commit()
    failpoint("after_claim_commit")
    return rows


def release(me: str, ids: Sequence[int]) -> None:
    """Give back claimed messages that were not tried (a stop, an unreachable server)."""
    if not ids:
        return
    begin_write()
    db.session.execute(
        update(MESSAGES)
        .where(MESSAGES.c.id.in_(list(ids)), MESSAGES.c.claimed_by == me)
        .where(MESSAGES.c.status == SENDING)
        .values(status=QUEUED, claimed_by=None, lease_until=None, attempts=MESSAGES.c.attempts - 1)
    )
    db.session.commit()


def _placeholder(row: Any) -> dict[str, Any]:
    """What replaces the person in a finished mail of a ``FORGOTTEN_KINDS`` kind: the
    address (unique per row, so the outbox's unique key still holds) and the bodies,
    which hold a secret link."""
    return {
        "recipient_email": f"verwijderd-{row.id}@invalid",
        "body_text": "",
        "body_html": "",
        "headers": {},
    }


@functools.lru_cache(maxsize=32)
def _outcome_statement(columns: tuple[str, ...]) -> Update:
    """``UPDATE messages SET lease_until = NULL, <columns> WHERE id = :outcome_id AND
    claimed_by = :outcome_me``, built once per set of columns (one per kind of outcome):
    building a new statement and its cache key for every message cost about as much
    as running it."""
    return (
        update(MESSAGES)
        .where(
            MESSAGES.c.id == bindparam("outcome_id"),
            MESSAGES.c.claimed_by == bindparam("outcome_me"),
        )
        .values(
            lease_until=None,
            **{name: bindparam(name, type_=MESSAGES.c[name].type) for name in columns},
        )
    )


def record(me: str, row: Any, *, final: bool, **values: Any) -> bool:
    """Write the outcome of ``row`` while the claim is still ``me``'s; False when another
    sender took the message over (then its outcome is that sender's to write)."""
    if final and row.kind in FORGOTTEN_KINDS:
        values.update(_placeholder(row))
    failpoint("before_record")
    begin_write()
    statement = _outcome_statement(tuple(sorted(values)))
    # A DML statement's result is a CursorResult (Session.execute is typed as Result).
    result = cast(
        CursorResult[Any],
        db.session.execute(statement, {"outcome_id": row.id, "outcome_me": me, **values}),
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("message %s: claim lost before its outcome was recorded", row.id)
        return False
    return True


@dataclass
class _Run:
    """What one ``send_queued`` call works with."""

    transport: Transport
    me: str
    now: Callable[[], datetime]
    sleep: Callable[[float], object]
    rng: random.Random
    report: SendReport
    stop: threading.Event | None


def _stopped(run: _Run) -> bool:
    return run.stop is not None and run.stop.is_set()


def _label(row: Any) -> str:
    """How a message is named in a report: never the address of a forgotten kind."""
    return f"mail {row.id} ({row.kind})" if row.kind in FORGOTTEN_KINDS else row.recipient_email


def _reason(row: Any, reason: str) -> str:
    """The server's reason, without the address when that must be forgotten."""
    if row.kind in FORGOTTEN_KINDS:
        return reason.replace(row.recipient_email, "<adres>")
    return reason


def _fail(run: _Run, row: Any, reason: str) -> bool:
    reason = _reason(row, reason)
    record(run.me, row, final=True, status=FAILED, last_error=reason)
    run.report.failed += 1
    run.report.failures.append(f"{_label(row)}: {reason}")
    return True


def _defer_or_fail(run: _Run, row: Any, reason: str) -> bool:
    attempts = row.attempts + 1  # this claim's attempt
    moment = run.now()
    if should_give_up(attempts, row.created_at, moment):
        span = span_text((moment - row.created_at).total_seconds())
        return _fail(run, row, f"opgegeven na {attempts} pogingen over {span}: {reason}")
    record(
        run.me,
        row,
        final=False,
        status=QUEUED,
        claimed_by=None,
        last_error=_reason(row, reason),
        next_attempt_at=moment + timedelta(seconds=retry_delay(attempts, run.rng)),
    )
    return False


def _cancel(run: _Run, row: Any, reason: str) -> bool:
    record(run.me, row, final=True, status=CANCELLED, last_error=reason)
    run.report.cancelled += 1
    return True


def closed_campaigns(batch: Sequence[Any], moment: datetime) -> set[int]:
    """Ids of the campaigns of the batch's invitations and reminders that are closed at
    ``moment`` (by ``Campaign.state``, the one rule of the close)."""
    ids = {row.campaign_id for row in batch if row.kind in SURVEY_KINDS}
    if not ids:
        return set()
    campaigns = db.session.scalars(select(Campaign).where(Campaign.id.in_(ids))).all()
    closed = {c.id for c in campaigns if c.state(moment) is CampaignState.CLOSED}
    db.session.commit()  # end the read: the outcomes are written in transactions of their own
    return closed


def _deliver(run: _Run, row: Any, closed: set[int]) -> bool:
    """Send one claimed row and record the outcome; True when the row is done (sent,
    failed or cancelled), False when it waits for a retry."""
    if row.opted_out_at is not None:
        return _cancel(run, row, OPTED_OUT_REASON)
    if row.kind in SURVEY_KINDS and row.campaign_id in closed:
        # It would invite someone to a survey that no longer takes answers.
        return _cancel(run, row, CLOSED_REASON)
    try:
        outgoing = build_message(row, run.now())
    except ValueError as exc:
        return _fail(run, row, f"ongeldige mail: {exc}")
    try:
        run.transport.send(outgoing)
    except PermanentError as exc:
        run.transport.reset()
        return _fail(run, row, str(exc))
    except TransientError as exc:
        run.transport.reset()
        return _defer_or_fail(run, row, str(exc))
    failpoint("after_250")
    record(run.me, row, final=True, status=SENT, sent_at=run.now(), last_error=None)
    run.report.sent += 1
    return True


def _connect(run: _Run) -> None:
    """Make sure the transport is connected, trying ``MAIL_CONNECT_TRIES`` times a few
    seconds apart; ``ServerUnavailable`` after the last try.  Called before anything is
    claimed, so an unreachable server costs no message an attempt."""
    tries = max(int(setting("MAIL_CONNECT_TRIES")), 1)
    pause = float(setting("MAIL_CONNECT_RETRY_SECONDS"))
    for attempt in range(tries):
        try:
            run.transport.ready()
            return
        except ServerUnavailable:
            if attempt == tries - 1 or _stopped(run):
                raise
            run.sleep(pause * 2**attempt)


def _send_batch(run: _Run, batch: Sequence[Any], deadline: datetime, progress: Any) -> None:
    """Send a claimed batch; what is left when the run stops, the server goes away or
    the lease runs short is given back untried."""
    closed = closed_campaigns(batch, run.now())
    for index, row in enumerate(batch):
        if _stopped(run) or run.now() >= deadline:
            release(run.me, [r.id for r in batch[index:]])
            return
        try:
            done = _deliver(run, row, closed)
        except ServerUnavailable:
            release(run.me, [r.id for r in batch[index:]])
            raise
        if done and progress is not None:
            progress(1)


def _one_pass(run: _Run, campaign_id: int | None, progress: Any) -> None:
    """Claim and send batches until nothing is due."""
    lease = timedelta(seconds=float(setting("MAIL_LEASE_SECONDS")))
    due = count_due(campaign_id, run.now())
    db.session.commit()
    if not due:
        return  # no connection to the mail server for nothing
    while not _stopped(run):
        _connect(run)  # before claiming: an unreachable server leaves the outbox as it is
        claimed_at = run.now()
        batch = claim_batch(run.me, claimed_at, lease, int(setting("MAIL_BATCH_SIZE")), campaign_id)
        if not batch:
            return
        # Stop starting messages with a quarter of the lease left: one message (and its
        # SMTP timeouts) must still fit before another sender may take the claim over.
        _send_batch(run, batch, claimed_at + lease * 0.75, progress)


def seconds_to_next_retry(campaign_id: int | None, moment: datetime) -> float | None:
    """Seconds until the earliest deferred message is due; None when none waits."""
    query = select(func.min(Message.next_attempt_at)).where(
        Message.status == QUEUED, Message.next_attempt_at.is_not(None)
    )
    if campaign_id is not None:
        query = query.where(Message.campaign_id == campaign_id)
    earliest = db.session.scalar(query)
    db.session.commit()
    if earliest is None:
        return None
    return max((earliest - moment).total_seconds(), 0.0)


def _count_queued(campaign_id: int | None) -> int:
    query = select(func.count()).select_from(MESSAGES)
    count = db.session.scalar(query.where(_scope(MESSAGES.c.status == QUEUED, campaign_id)))
    db.session.commit()
    return count or 0


def send_queued(
    campaign_id: int | None = None,
    *,
    now: Callable[[], datetime] = clock.now,
    sleep: Callable[[float], object] = time.sleep,
    progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    wait_for_retries: bool = True,
    rng: random.Random | None = None,
) -> SendReport:
    """Send every due message in the outbox (of one campaign, or of all) and return.

    Transient failures are retried with backoff; with ``wait_for_retries`` a retry
    due within ``MAIL_RETRY_WAIT_SECONDS`` is waited for, later ones stay queued
    for the next run.  ``progress(1)`` is called for each message that is done;
    ``stop`` ends the run after the message in hand.  Runs in an app context.
    """
    report = SendReport()
    db.session.commit()  # no read transaction of ours stays open while we write
    run = _Run(
        transport_for(current_app),
        sender_identity(),
        now,
        sleep,
        rng or random.Random(),
        report,
        stop,
    )
    try:
        _passes(run, campaign_id, progress, wait_for_retries)
    except ServerUnavailable as exc:
        report.server_error = str(exc)
    finally:
        run.transport.close()
    report.deferred = _count_queued(campaign_id)
    _log_report(report)
    return report


def _passes(run: _Run, campaign_id: int | None, progress: Any, wait_for_retries: bool) -> None:
    while True:
        _one_pass(run, campaign_id, progress)
        if _stopped(run) or not wait_for_retries:
            return
        wait = seconds_to_next_retry(campaign_id, run.now())
        if wait is None or wait > float(setting("MAIL_RETRY_WAIT_SECONDS")):
            return
        run.transport.close()  # do not hold an idle connection while waiting
        run.sleep(wait)


def _log_report(report: SendReport) -> None:
    if not (report.sent or report.failed or report.cancelled or report.server_error):
        return
    log.info(
        "outbox run: %s sent, %s failed, %s cancelled, %s still queued%s",
        report.sent,
        report.failed,
        report.cancelled,
        report.deferred,
        ", mail server unavailable" if report.server_error else "",
    )


def run_sender(
    *,
    now: Callable[[], datetime] = clock.now,
    stop: threading.Event | None = None,
    on_report: Callable[[SendReport], None] | None = None,
) -> None:
    """Send what is due, look again every ``MAIL_POLL_SECONDS``, until SIGTERM or SIGINT
    (or ``stop``): the message in hand is finished, the rest of its batch given back.

    While the mail server cannot be reached the looks are spaced out, doubling up to
    ``MAIL_UNAVAILABLE_MAX_WAIT_SECONDS``; deferred retries fall due on their own.
    """
    stop = stop or threading.Event()
    previous = _stop_on_signals(stop)
    poll = float(setting("MAIL_POLL_SECONDS"))
    log.info("mail sender started (polling every %s s)", poll)
    wait = poll
    try:
        while not stop.is_set():
            try:
                report = send_queued(now=now, sleep=stop.wait, stop=stop, wait_for_retries=False)
            except SQLAlchemyError as exc:  # e.g. the database is restarting: try again later
                log.warning("outbox pass failed: %s; trying again", type(exc).__name__)
            else:
                wait = _next_wait(report, wait, poll)
                if on_report is not None:
                    on_report(report)
            finally:
                db.session.remove()  # each pass starts with a fresh session
            stop.wait(wait)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("mail sender stopped")


def _next_wait(report: SendReport, previous: float, poll: float) -> float:
    """``poll`` after a pass that reached the server (or had nothing to send); twice the
    previous wait, up to the maximum, while the server is unreachable."""
    if not report.server_error:
        return poll
    return min(max(previous, poll) * 2, float(setting("MAIL_UNAVAILABLE_MAX_WAIT_SECONDS")))


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Make SIGTERM and SIGINT set ``stop``; the handlers they had (to restore)."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # only the main thread may install signal handlers
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda _signum, _frame: stop.set())
    return previous
