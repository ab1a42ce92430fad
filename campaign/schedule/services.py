"""The campaign calendar's rules: which jobs a campaign has, and running each exactly once.

A campaign's jobs follow from its dates (``planned_jobs``): the launch at
``opens_at`` (only when ``invite_at_open``), the reminder at ``reminder_at``,
the close at the effective close, and the purge of draw entries at
``purge_at`` (default ``DATA_RETENTION_DAYS`` after the close).  The
scheduler process keeps APScheduler's job store in line with that list; the
database, not the job store, says what has run: a ``JobRun`` row per
(campaign, job, due time) is claimed before the work starts and closed with
its outcome.  A second firing of the same job (two schedulers by mistake, a
job re-added after a crash) finds the row and does nothing.  The work itself
only queues into the outbox, whose unique keys make even an overlap harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from campaign import clock
from campaign.attribution import response_totals
from campaign.database import begin_write
from campaign.draw.services import ensure_draw
from campaign.extensions import db
from campaign.failpoints import failpoint
from campaign.formatting import format_datetime, plural
from campaign.history import PLANNER, record_event
from campaign.mailing.render import MailError
from campaign.models import Campaign, CampaignState, JobRun
from campaign.schedule.settings import setting

log = logging.getLogger(__name__)

LAUNCH, REMINDER, CLOSE, PURGE = "launch", "reminder", "close", "purge"
#: Display order of the jobs on the Planning page.
JOBS = (LAUNCH, REMINDER, CLOSE, PURGE)

RUNNING, DONE, SKIPPED, WAITING, FAILED = "running", "done", "skipped", "waiting", "failed"
#: A run in one of these states is never started again.
FINISHED = (DONE, SKIPPED)


@dataclass(frozen=True)
class PlannedJob:
    """One job of one campaign, as its dates say it should run."""

    campaign_id: int
    job: str
    #: The campaign's date the job belongs to: with ``job``, the key of its ``JobRun``.
    due_at: datetime
    #: How late it may still start; None: whenever the scheduler is back.
    grace: timedelta | None

    @property
    def job_id(self) -> str:
        """Stable per campaign and job, so a moved date replaces the job, never adds one."""
        return f"campaign-{self.campaign_id}-{self.job}"

    @property
    def latest_start(self) -> datetime | None:
        return None if self.grace is None else self.due_at + self.grace


def purge_date(campaign: Campaign) -> datetime:
    """When the campaign's draw entries are deleted: ``schedule.purge_at`` when the file
    sets it; else, once every prize is settled, the draw's ``retention_days`` after that
    (``campaign.draw.purge.planned_erase``: what the consent and privacy texts promise);
    else ``DATA_RETENTION_DAYS`` after the close, when the purge job looks again."""
    from campaign.draw.purge import planned_erase

    if campaign.purge_at is not None:
        return campaign.purge_at
    settled = planned_erase(campaign)
    if settled is not None:
        return settled
    # Days counted on the campaign's calendar: the same local time, summer time or not.
    days = timedelta(days=int(setting("DATA_RETENTION_DAYS")))
    return (campaign.local(campaign.effective_close) + days).astimezone(UTC)


def planned_jobs(campaign: Campaign) -> list[PlannedJob]:
    """The campaign's jobs by its current dates, in ``JOBS`` order."""
    close = campaign.effective_close
    jobs = []
    if campaign.invite_at_open:
        # Invitations are worth sending for as long as the survey is open.
        jobs.append(PlannedJob(campaign.id, LAUNCH, campaign.opens_at, close - campaign.opens_at))
    if campaign.reminder_at is not None:
        grace = timedelta(hours=float(setting("SCHEDULER_REMINDER_GRACE_HOURS")))
        grace = min(grace, max(close - campaign.reminder_at, timedelta(0)))
        jobs.append(PlannedJob(campaign.id, REMINDER, campaign.reminder_at, grace))
    jobs.append(PlannedJob(campaign.id, CLOSE, close, None))
    jobs.append(PlannedJob(campaign.id, PURGE, purge_date(campaign), None))
    return jobs


def runs_of(campaign_ids: Sequence[int]) -> dict[tuple[int, str, datetime], JobRun]:
    """The recorded runs of these campaigns, by (campaign id, job, due time)."""
    if not campaign_ids:
        return {}
    query = select(JobRun).where(JobRun.campaign_id.in_(list(campaign_ids)))
    return {(run.campaign_id, run.job, run.due_at): run for run in db.session.scalars(query)}


def _is_live(run: JobRun, now: datetime) -> bool:
    """Running in a process that is (as far as we can tell) still alive."""
    stale = timedelta(seconds=float(setting("SCHEDULER_RUN_STALE_SECONDS")))
    return run.status == RUNNING and run.started_at > now - stale


@dataclass(frozen=True)
class JobToRun:
    planned: PlannedJob
    #: When to fire: the due time, or later for a purge that waits for the draw.
    run_at: datetime


def jobs_to_schedule(now: datetime | None = None) -> list[JobToRun]:
    """Every campaign's jobs that still have to run, with when.

    A job whose grace period passed without a run (the scheduler was down) is
    recorded as skipped here, with the reason, instead of being scheduled.
    """
    now = now or clock.now()
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    runs = runs_of([c.id for c in campaigns])
    pending: list[JobToRun] = []
    missed: list[PlannedJob] = []
    for campaign in campaigns:
        for planned in planned_jobs(campaign):
            run = runs.get((campaign.id, planned.job, planned.due_at))
            if run is not None and (run.status in FINISHED or _is_live(run, now)):
                continue
            late = planned.latest_start is not None and now > planned.latest_start
            if late and run is None:
                missed.append(planned)
            elif not late:  # never run, waiting, failed, or died while running
                pending.append(JobToRun(planned, _run_at(planned, run)))
    if missed:
        _record_missed(missed, now)
    db.session.commit()  # end the read transaction: the scheduler keeps this session
    return pending


def _run_at(planned: PlannedJob, run: JobRun | None) -> datetime:
    """The due time; after a run that has to wait (a purge before the draw) or that
    failed, a later try."""
    if run is None or run.finished_at is None:
        return planned.due_at
    if run.status == WAITING:
        retry = timedelta(hours=float(setting("SCHEDULER_PURGE_RETRY_HOURS")))
    else:
        retry = timedelta(seconds=float(setting("SCHEDULER_FAILED_RETRY_SECONDS")))
    return max(planned.due_at, run.finished_at + retry)


def _record_missed(missed: Sequence[PlannedJob], now: datetime) -> None:
    begin_write()
    for planned in missed:
        assert planned.latest_start is not None
        db.session.add(
            JobRun(
                campaign_id=planned.campaign_id,
                job=planned.job,
                due_at=planned.due_at,
                started_at=now,
                finished_at=now,
                status=SKIPPED,
                outcome=(
                    "Niet uitgevoerd: de planner draaide niet tussen "
                    f"{_local(planned, planned.due_at)} en {_local(planned, planned.latest_start)}."
                ),
            )
        )
        log.warning("campaign %s: %s job missed its grace period", planned.campaign_id, planned.job)
    try:
        db.session.commit()
    except IntegrityError:  # another scheduler recorded it first
        db.session.rollback()


def _local(planned: PlannedJob, moment: datetime) -> str:
    campaign = db.session.get(Campaign, planned.campaign_id)
    return format_datetime(campaign.local(moment) if campaign else moment)


# --- running one job once ------------------------------------------------------------------


def start_run(campaign_id: int, job: str, due_at: datetime, now: datetime) -> JobRun | None:
    """Claim the run of ``job`` for ``due_at`` (committed); None when it already ran, or
    runs right now in another process."""
    begin_write()
    run = db.session.scalar(
        select(JobRun).where(
            JobRun.campaign_id == campaign_id, JobRun.job == job, JobRun.due_at == due_at
        )
    )
    if run is not None and (run.status in FINISHED or _is_live(run, now)):
        db.session.rollback()
        return None
    if run is None:
        run = JobRun(campaign_id=campaign_id, job=job, due_at=due_at)
        db.session.add(run)
    run.status, run.started_at, run.finished_at = RUNNING, now, None
    try:
        db.session.commit()
    except IntegrityError:  # PostgreSQL: another scheduler inserted the same run just now
        db.session.rollback()
        return None
    return run


def finish_run(run: JobRun, status: str, outcome: str, now: datetime) -> None:
    begin_write()
    run.status, run.outcome, run.finished_at = status, outcome, now
    db.session.commit()


Outcome = tuple[str, str]


def launch_invitations(campaign: Campaign, now: datetime) -> Outcome:
    """At the opening: queue the invitations of every key figure not yet invited."""
    from campaign.mailing.services import queue_invitations

    if campaign.state(now) != CampaignState.OPEN:
        return SKIPPED, "De bevraging is niet open: er werden geen uitnodigingen verstuurd."
    result = queue_invitations(campaign, now=now)
    return DONE, f"{plural(result.queued, 'uitnodiging', 'uitnodigingen')} in de wachtrij gezet."


def send_reminder(campaign: Campaign, now: datetime) -> Outcome:
    """At ``reminder_at``: the targeted reminder (see ``campaign.schedule.reminder``)."""
    from campaign.schedule.reminder import queue_reminder

    result = queue_reminder(campaign, now=now, actor=PLANNER)
    return DONE, result.summary


def mark_closed(campaign: Campaign, now: datetime) -> Outcome:
    """At the close: nothing to change (every request derives the state from the dates);
    record it, with the final count, for the Planning page."""
    completed = response_totals(campaign).completed
    figures = plural(completed, "ingevulde vragenlijst", "ingevulde vragenlijsten")
    if campaign.closed_at is not None and campaign.closed_at < campaign.closes_at:
        return DONE, f"Met de hand afgesloten; {figures}."
    begin_write()
    record_event(campaign, "closed", actor=PLANNER, now=now, at=campaign.closes_at)
    db.session.commit()
    return DONE, f"De bevraging sloot op het geplande uur; {figures}."


def purge_draw_entries(campaign: Campaign, now: datetime) -> Outcome:
    """Erase the respondents' e-mail addresses (draw entries, tickets, winner mails) once
    the draw is done, every prize is settled and the campaign file's retention period
    has passed (``campaign.draw.purge``); until then wait, and try again later."""
    from campaign.draw.purge import purge_entries, purge_wait

    wait = purge_wait(campaign, now)
    if wait is not None:
        return WAITING, wait
    if ensure_draw(campaign).purged_at is not None:
        return DONE, "De deelnames aan de trekking waren al gewist."
    return DONE, purge_entries(campaign, actor=PLANNER, now=now, force=True).summary


OPERATIONS: dict[str, Callable[[Campaign, datetime], Outcome]] = {
    LAUNCH: launch_invitations,
    REMINDER: send_reminder,
    CLOSE: mark_closed,
    PURGE: purge_draw_entries,
}


def run_job(job: str, campaign_id: int, due_at: datetime, now: datetime | None = None) -> bool:
    """Run ``job`` of the campaign for ``due_at`` unless it ran already; True when it ran.

    A ``MailError`` (the survey is closed, the campaign's mail settings are
    incomplete) ends the run as skipped with its Dutch message; any other error
    as failed, and the job is tried again by the next scheduler sync.
    """
    now = now or clock.now()
    run = start_run(campaign_id, job, due_at, now)
    if run is None:
        return False
    failpoint("after_job_claim")
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:  # deleted meanwhile: its runs went with it
        return False
    try:
        status, outcome = OPERATIONS[job](campaign, now)
    except MailError as exc:
        db.session.rollback()
        status, outcome = SKIPPED, str(exc)
    except Exception as exc:
        db.session.rollback()
        log.exception("campaign %s: %s job failed", campaign.slug, job)
        status, outcome = FAILED, f"Mislukt ({type(exc).__name__}); wordt opnieuw geprobeerd."
    failpoint("before_job_finish")
    finish_run(run, status, outcome, clock.now())
    log.info("campaign %s: %s job %s: %s", campaign.slug, job, status, outcome)
    return True


# --- coordinators' choices -----------------------------------------------------------------------


def set_invite_at_open(campaign: Campaign, enabled: bool, *, actor: str) -> bool:
    """Let the scheduler queue the invitations at the opening (or not); False when that
    was already the setting.  The scheduler's next sync plans or drops the launch job."""
    if campaign.invite_at_open == enabled:
        return False
    begin_write()
    record_event(campaign, "invite_at_open", actor=actor, old=campaign.invite_at_open, new=enabled)
    campaign.invite_at_open = enabled
    db.session.commit()
    log.info(
        "campaign %s: invitations at the opening %s", campaign.slug, "on" if enabled else "off"
    )
    return True
