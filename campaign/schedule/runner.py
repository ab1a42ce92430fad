"""The scheduler process (``flask scheduler run``): fires the campaigns' jobs and sends mail.

Every few seconds the process writes its heartbeat row.  Of the processes whose
heartbeat is fresh, the one that started first leads: only the leader runs
APScheduler, whose SQLAlchemy job store (the ``apscheduler_jobs`` table) it
keeps in line with the campaigns' dates (``sync_jobs``).  A second process
started by mistake waits as a standby and takes over when the leader's
heartbeat stops; two APSchedulers on one job store fire jobs twice and crash
(STACK-NOTES).  Every process also sends the outbox in a thread of its own:
the outbox's leases already hold with several senders.

Web workers never import this module's loop: they only write dates and queue mail.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from campaign import clock
from campaign.database import begin_write
from campaign.extensions import db
from campaign.mailing.sender import run_sender, sender_identity
from campaign.models import SchedulerHeartbeat
from campaign.schedule import jobs, services
from campaign.schedule.settings import setting

log = logging.getLogger(__name__)

#: APScheduler's job store alias and table.
JOBSTORE = "campaigns"
JOB_TABLE = "apscheduler_jobs"
#: Key of the PostgreSQL advisory lock that puts heartbeats in a row.
HEARTBEAT_LOCK = 0x5C4ED1


# --- heartbeat and leadership ----------------------------------------------------------------


def heartbeat(identity: str, now: datetime | None = None) -> bool:
    """Write this process's heartbeat; True when this process leads."""
    now = now or clock.now()
    stale = now - timedelta(seconds=float(setting("SCHEDULER_LEADER_STALE_SECONDS")))
    begin_write()
    if db.session.get_bind().dialect.name == "postgresql":
        # Two processes starting at once must not both see themselves alone.
        db.session.execute(select(func.pg_advisory_xact_lock(HEARTBEAT_LOCK)))
    row = db.session.get(SchedulerHeartbeat, identity)
    if row is None:
        db.session.add(SchedulerHeartbeat(identity=identity, started_at=now, seen_at=now))
    else:
        row.seen_at = now
    db.session.flush()
    leader = db.session.scalar(
        select(SchedulerHeartbeat.identity)
        .where(SchedulerHeartbeat.seen_at >= stale)
        .order_by(SchedulerHeartbeat.started_at, SchedulerHeartbeat.identity)
        .limit(1)
    )
    db.session.execute(
        delete(SchedulerHeartbeat).where(SchedulerHeartbeat.seen_at < now - timedelta(days=1))
    )
    db.session.commit()
    return leader == identity


def sign_off(identity: str) -> None:
    """Remove this process's heartbeat, so that a standby takes over at once."""
    begin_write()
    db.session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.identity == identity))
    db.session.commit()


def last_heartbeat() -> datetime | None:
    """When a scheduler process was last seen; None when never."""
    return db.session.scalar(select(func.max(SchedulerHeartbeat.seen_at)))


# --- APScheduler -----------------------------------------------------------------------------


def job_store_engine() -> Engine:
    """An engine of its own for APScheduler's job store, on the application's database.

    The store disposes of its engine when its scheduler shuts down, and the scheduler's
    thread may still open a connection after that (it looks at its due jobs once more):
    so not the engine the rest of the process works with, and its owner disposes of it
    again once the scheduler's thread has ended (``SchedulerProcess.stop_scheduler``).
    """
    url = db.engine.url
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        # The store's statements are single writes; wait for the lock as the app does.
        timeout = int(current_app.config["SQLITE_BUSY_TIMEOUT_MS"]) / 1000
        options["connect_args"] = {"timeout": timeout}
    return create_engine(url, **options)


def new_scheduler(engine: Engine) -> BackgroundScheduler:
    """A started APScheduler whose job store is in the database of ``engine``."""
    scheduler = BackgroundScheduler(
        jobstores={JOBSTORE: SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    # Started before any job is added: jobs added to a scheduler that is not started
    # are never written to the job store (STACK-NOTES).
    scheduler.start()
    return scheduler


def _grace_seconds(item: services.JobToRun) -> int | None:
    latest = item.planned.latest_start
    if latest is None:
        return None
    return max(int((latest - item.run_at).total_seconds()), 1)


def _matches(job: Job, item: services.JobToRun, kwargs: dict[str, Any]) -> bool:
    run_date = getattr(job.trigger, "run_date", None)
    return (
        job.kwargs == kwargs
        and run_date == item.run_at
        and job.misfire_grace_time == _grace_seconds(item)
    )


def sync_jobs(scheduler: BackgroundScheduler, now: datetime | None = None) -> int:
    """Make the job store hold exactly the jobs still to run, at their current dates;
    the number of jobs added or moved."""
    wanted = {item.planned.job_id: item for item in services.jobs_to_schedule(now)}
    stored = {job.id: job for job in scheduler.get_jobs(jobstore=JOBSTORE)}
    for job_id in stored.keys() - wanted.keys():
        with contextlib.suppress(JobLookupError):  # it fired just now
            scheduler.remove_job(job_id, JOBSTORE)
    changed = 0
    for job_id, item in wanted.items():
        kwargs = {
            "campaign_id": item.planned.campaign_id,
            "due_at": item.planned.due_at.isoformat(),
        }
        if job_id in stored and _matches(stored[job_id], item, kwargs):
            continue
        scheduler.add_job(
            f"{jobs.__name__}:{item.planned.job}",
            trigger=DateTrigger(run_date=item.run_at, timezone=UTC),
            id=job_id,
            name=f"{item.planned.job} of campaign {item.planned.campaign_id}",
            jobstore=JOBSTORE,
            kwargs=kwargs,
            misfire_grace_time=_grace_seconds(item),
            replace_existing=True,
        )
        changed += 1
        log.info("job %s planned at %s", job_id, item.run_at.isoformat())
    return changed


def overdue_jobs(scheduler: BackgroundScheduler, now: datetime) -> list[str]:
    """Ids of stored jobs whose time passed more than ``SCHEDULER_STUCK_SECONDS`` ago: a
    firing scheduler removes a date job from the store the moment it fires it."""
    stuck = timedelta(seconds=float(setting("SCHEDULER_STUCK_SECONDS")))
    return [
        job.id
        for job in scheduler.get_jobs(jobstore=JOBSTORE)
        if job.next_run_time is not None and job.next_run_time < now - stuck
    ]


# --- the process -------------------------------------------------------------------------------


class SchedulerProcess:
    """The state of one ``run_scheduler`` call."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        jobs.bind(app)  # the jobs APScheduler fires in this process run in this app
        with app.app_context():
            self.store_engine = job_store_engine()
        self.identity = sender_identity()
        self.scheduler: BackgroundScheduler | None = None
        self.synced_at: datetime | None = None

    def tick(self) -> None:
        """Heartbeat; start or stop APScheduler as leadership comes or goes; sync."""
        leading = heartbeat(self.identity)
        if leading and self.scheduler is None:
            log.info("scheduler %s leads: firing scheduled jobs", self.identity)
            self.scheduler = new_scheduler(self.store_engine)
            self.synced_at = None
        elif not leading and self.scheduler is not None:
            log.info("scheduler %s is a standby now: another process leads", self.identity)
            self.stop_scheduler()
        if not leading:
            return
        now = datetime.now(UTC)
        every = timedelta(seconds=float(setting("SCHEDULER_SYNC_SECONDS")))
        if self.scheduler is not None and overdue_jobs(self.scheduler, now):
            log.error("APScheduler stopped firing due jobs: starting a new one")
            # Emptied first: a scheduler being shut down looks at its due jobs once more,
            # and would race the new one over them.  The sync below puts them back.
            self.scheduler.remove_all_jobs(jobstore=JOBSTORE)
            self.stop_scheduler(wait=False)
            self.scheduler = new_scheduler(self.store_engine)
            self.synced_at = None
        if self.scheduler is not None and (self.synced_at is None or now - self.synced_at >= every):
            sync_jobs(self.scheduler)
            self.synced_at = now

    def stop_scheduler(self, wait: bool = True) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=wait)  # returns once its thread has ended
            self.scheduler = None
            self.store_engine.dispose()


def run_scheduler(
    app: Flask, *, stop: threading.Event | None = None, send_mail: bool = True
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``): heartbeat, the jobs when leading, the outbox."""
    stop = stop or threading.Event()
    previous = _stop_on_signals(stop)
    process = SchedulerProcess(app)
    sender = threading.Thread(target=_send_outbox, args=(app, stop), name="outbox", daemon=True)
    if send_mail:
        sender.start()
    with app.app_context():
        tick = float(setting("SCHEDULER_TICK_SECONDS"))
    log.info("scheduler %s started", process.identity)
    try:
        while not stop.is_set():
            with app.app_context():
                try:
                    process.tick()
                except SQLAlchemyError as exc:  # the database is restarting: try again
                    log.warning("scheduler tick failed: %s; trying again", type(exc).__name__)
                finally:
                    db.session.remove()
            stop.wait(tick)
    finally:
        stop.set()
        process.stop_scheduler()
        if send_mail:
            sender.join()
        with app.app_context():
            sign_off(process.identity)
            db.session.remove()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("scheduler %s stopped", process.identity)


def _send_outbox(app: Flask, stop: threading.Event) -> None:
    with app.app_context():
        run_sender(stop=stop)


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda _signum, _frame: stop.set())
    return previous
