"""The calendar's rules with an injected clock: which jobs a campaign has, that each runs
exactly once (also from two threads at once), what a missed job does, and the
scheduler's heartbeat and leadership.  APScheduler itself runs for real in
``test_sync_*`` on the test's database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import func, select

from campaign.database import begin_write
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.draw.prizes import mark_delivered
from campaign.draw.services import run_draw
from campaign.extensions import db
from campaign.models import Campaign, DrawEntry, JobRun, Message
from campaign.schedule import runner, services
from tests.test_attribution import SMALL_CAMPAIGN, key_figure

#: Brussels is UTC+2 in summer: opens 30 June 22:00 UTC, closes 30 July 22:00 UTC.
OPENS = datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
CLOSES = datetime(2027, 7, 30, 22, 0, tzinfo=UTC)
#: 20 July 09:00 Brussels (summer time) is 07:00 UTC.
REMINDER = datetime(2027, 7, 20, 7, 0, tzinfo=UTC)
WITH_REMINDER = SMALL_CAMPAIGN.replace(
    "  closes_at: 2027-07-31 00:00",
    "  reminder_at: 2027-07-20 09:00\n  closes_at: 2027-07-31 00:00",
)


class Clock:
    """A clock the test moves; the app reads it through ``CLOCK``."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(app: Flask) -> Clock:
    pinned = Clock(OPENS - timedelta(days=1))
    app.config["CLOCK"] = pinned
    return pinned


@pytest.fixture
def campaign(app: Flask, clock: Clock) -> Campaign:
    return load_campaign(parse_campaign_text(WITH_REMINDER, "klein.yaml")).campaign


def planned(campaign: Campaign) -> dict[str, services.PlannedJob]:
    return {job.job: job for job in services.planned_jobs(campaign)}


def run_status(campaign: Campaign, job: str) -> list[str]:
    db.session.commit()  # a fresh snapshot: a job thread may have written since
    query = select(JobRun.status).where(JobRun.campaign_id == campaign.id, JobRun.job == job)
    return list(db.session.scalars(query))


# --- which jobs -----------------------------------------------------------------------------


def test_jobs_follow_the_campaigns_dates_in_utc(campaign):
    jobs = planned(campaign)
    assert set(jobs) == {"reminder", "close", "purge"}  # no launch: invite_at_open is off
    assert jobs["reminder"].due_at == REMINDER
    assert jobs["close"].due_at == CLOSES and jobs["close"].grace is None
    # 90 days after 31 July 00:00 in Brussels: 29 October 00:00, still summer time.
    assert jobs["purge"].due_at == datetime(2027, 10, 28, 22, 0, tzinfo=UTC)
    assert jobs["reminder"].job_id == f"campaign-{campaign.id}-reminder"


def test_the_retention_is_counted_in_days_of_the_campaigns_calendar_across_winter_time(
    campaign, app
):
    app.config["DATA_RETENTION_DAYS"] = 100
    # 8 November 00:00 in Brussels is winter time (UTC+1): 23:00 UTC, not 22:00.
    assert planned(campaign)["purge"].due_at == datetime(2027, 11, 7, 23, 0, tzinfo=UTC)


def test_the_launch_is_planned_only_when_invitations_go_out_at_the_opening(campaign):
    services.set_invite_at_open(campaign, True, actor="coordinator@example.org")
    launch = planned(campaign)["launch"]
    assert launch.due_at == OPENS
    assert launch.latest_start == CLOSES  # invitations are worth sending while it is open


def test_a_reminder_may_run_late_for_days_but_never_after_the_close(campaign, app):
    assert planned(campaign)["reminder"].grace == timedelta(hours=72)
    app.config["SCHEDULER_REMINDER_GRACE_HOURS"] = 24 * 30
    assert planned(campaign)["reminder"].latest_start == CLOSES


def test_a_reminder_missed_beyond_its_grace_is_recorded_as_skipped_not_run(campaign, clock):
    clock.moment = REMINDER + timedelta(hours=73)
    pending = {item.planned.job for item in services.jobs_to_schedule()}
    assert "reminder" not in pending and "close" in pending
    [run] = db.session.scalars(select(JobRun).where(JobRun.job == "reminder"))
    assert run.status == "skipped"
    assert "de planner draaide niet tussen 20 juli 2027 om 09.00 u" in run.outcome
    # Within the grace period the same job is still to run.
    clock.moment = REMINDER + timedelta(hours=71)
    db.session.delete(run)
    db.session.commit()
    assert "reminder" in {item.planned.job for item in services.jobs_to_schedule()}


# --- exactly once ---------------------------------------------------------------------------


def test_a_job_runs_once_and_a_second_firing_does_nothing(campaign, clock):
    clock.moment = CLOSES + timedelta(minutes=1)
    assert services.run_job("close", campaign.id, CLOSES) is True
    assert services.run_job("close", campaign.id, CLOSES) is False
    assert run_status(campaign, "close") == ["done"]
    assert "close" not in {item.planned.job for item in services.jobs_to_schedule()}


def test_two_threads_firing_the_same_launch_queue_each_invitation_once(app, campaign, clock):
    for number in range(5):
        key_figure(campaign, f"kf{number}@example.org")
    services.set_invite_at_open(campaign, True, actor="coordinator@example.org")
    clock.moment = OPENS + timedelta(minutes=1)
    campaign_id = campaign.id
    db.session.remove()
    barrier = threading.Barrier(2)
    ran: list[bool] = []

    def fire() -> None:
        with app.app_context():
            barrier.wait()
            ran.append(services.run_job("launch", campaign_id, OPENS))

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(ran) == [False, True]
    assert db.session.scalar(select(func.count()).select_from(Message)) == 5
    [run] = db.session.scalars(select(JobRun).where(JobRun.job == "launch"))
    assert (run.status, run.outcome) == ("done", "5 uitnodigingen in de wachtrij gezet.")


def test_a_run_left_running_by_a_dead_process_is_started_again_only_when_stale(
    app, campaign, clock
):
    clock.moment = CLOSES + timedelta(minutes=1)
    assert services.start_run(campaign.id, "close", CLOSES, clock.moment) is not None
    # The process died here.  While its run is fresh nobody else starts it ...
    assert services.run_job("close", campaign.id, CLOSES) is False
    assert "close" not in {item.planned.job for item in services.jobs_to_schedule()}
    # ... once it is stale, the next firing takes it over and finishes it.
    clock.moment += timedelta(seconds=601)
    assert "close" in {item.planned.job for item in services.jobs_to_schedule()}
    assert services.run_job("close", campaign.id, CLOSES) is True
    assert run_status(campaign, "close") == ["done"]


def test_a_launch_after_the_close_queues_nothing_and_says_why(campaign, clock):
    key_figure(campaign, "laat@example.org")
    services.set_invite_at_open(campaign, True, actor="coordinator@example.org")
    begin_write()
    campaign.closed_at = OPENS + timedelta(minutes=1)
    db.session.commit()
    clock.moment = OPENS + timedelta(minutes=2)
    assert services.run_job("launch", campaign.id, OPENS)
    [run] = db.session.scalars(select(JobRun).where(JobRun.job == "launch"))
    assert run.status == "skipped" and "niet open" in run.outcome
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_the_purge_waits_for_the_draw_then_deletes_the_entries(campaign, clock, app):
    begin_write()
    campaign.prizes = [{"name": "Een hartige box", "description": ""}]
    db.session.add(DrawEntry(campaign_id=campaign.id, email="deelnemer@example.org"))
    db.session.commit()
    purge_at = services.purge_date(campaign)
    clock.moment = purge_at + timedelta(minutes=1)
    services.run_job("purge", campaign.id, purge_at)
    assert run_status(campaign, "purge") == ["waiting"]
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 1
    # Tried again a day later, not at every sync.
    [item] = [i for i in services.jobs_to_schedule() if i.planned.job == "purge"]
    assert item.run_at == clock.moment + timedelta(hours=24)
    run_draw(campaign, actor="coordinator@example.org")
    clock.moment += timedelta(days=1)
    assert services.run_job("purge", campaign.id, purge_at)
    assert run_status(campaign, "purge") == ["waiting"]  # the prize is not handed over yet
    mark_delivered(campaign, 0, actor="coordinator@example.org")
    # Now the draw's retention period decides the date (the consent text's promise).
    erase_at = services.purge_date(campaign)
    assert erase_at == clock.moment + timedelta(days=30)
    clock.moment = erase_at + timedelta(minutes=1)
    assert services.run_job("purge", campaign.id, erase_at)
    assert run_status(campaign, "purge") == ["waiting", "done"]
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0


# --- APScheduler's job store, for real ----------------------------------------------------


@pytest.fixture
def scheduler(app: Flask) -> Iterator[BackgroundScheduler]:
    engine = runner.job_store_engine()
    started = runner.new_scheduler(engine)
    started.pause()  # the store is what is tested here; nothing fires
    yield started
    started.shutdown(wait=True)
    engine.dispose()


def stored_jobs(scheduler: BackgroundScheduler) -> dict[str, datetime]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs(jobstore=runner.JOBSTORE)}


def test_sync_stores_one_job_per_campaign_job_and_moves_it_when_the_date_moves(campaign, scheduler):
    assert runner.sync_jobs(scheduler) == 3
    jobs = stored_jobs(scheduler)
    assert jobs[f"campaign-{campaign.id}-reminder"] == REMINDER
    assert runner.sync_jobs(scheduler) == 0  # nothing changed: nothing rewritten
    # Reloading the file with another reminder date moves the job, never adds one.
    load_campaign(
        parse_campaign_text(WITH_REMINDER.replace("2027-07-20 09:00", "2027-07-22 10:30"), "k.yaml")
    )
    assert runner.sync_jobs(scheduler) == 1
    jobs = stored_jobs(scheduler)
    assert len(jobs) == 3
    assert jobs[f"campaign-{campaign.id}-reminder"] == datetime(2027, 7, 22, 8, 30, tzinfo=UTC)


def test_sync_drops_the_jobs_that_ran_and_the_launch_when_it_is_switched_off(
    campaign, scheduler, clock
):
    services.set_invite_at_open(campaign, True, actor="coordinator@example.org")
    runner.sync_jobs(scheduler)
    assert f"campaign-{campaign.id}-launch" in stored_jobs(scheduler)
    services.set_invite_at_open(campaign, False, actor="coordinator@example.org")
    clock.moment = CLOSES + timedelta(minutes=1)
    services.run_job("close", campaign.id, CLOSES)
    runner.sync_jobs(scheduler)
    # The close ran; the reminder is long past its grace (recorded as skipped).
    assert set(stored_jobs(scheduler)) == {f"campaign-{campaign.id}-purge"}


# --- heartbeat and leadership ---------------------------------------------------------------


def test_the_first_live_scheduler_leads_and_a_standby_takes_over_when_it_goes_quiet(app, clock):
    app.config["SCHEDULER_LEADER_STALE_SECONDS"] = 30
    assert runner.heartbeat("first", clock.moment) is True
    assert runner.heartbeat("second", clock.moment + timedelta(seconds=1)) is False
    assert runner.heartbeat("first", clock.moment + timedelta(seconds=5)) is True
    # "first" stops beating: after 30 s "second" leads.
    assert runner.heartbeat("second", clock.moment + timedelta(seconds=20)) is False
    assert runner.heartbeat("second", clock.moment + timedelta(seconds=36)) is True


def test_a_scheduler_that_signs_off_hands_over_at_once(app, clock):
    assert runner.heartbeat("first", clock.moment) is True
    assert runner.heartbeat("second", clock.moment) is False
    runner.sign_off("first")
    assert runner.heartbeat("second", clock.moment + timedelta(seconds=1)) is True


def test_a_scheduler_that_stopped_firing_is_replaced_and_the_due_job_runs(app):
    """APScheduler's thread can die on a database error and leave a leading process that
    fires nothing; paused, it looks exactly like that to the watchdog."""
    process = runner.SchedulerProcess(app)
    process.tick()  # leads, starts APScheduler; no campaign yet
    assert process.scheduler is not None
    stalled = process.scheduler
    stalled.pause()
    now = datetime.now(UTC)
    campaign = load_campaign(parse_campaign_text(WITH_REMINDER, "klein.yaml")).campaign
    begin_write()
    campaign.opens_at, campaign.reminder_at = now - timedelta(days=10), None
    campaign.closes_at = now - timedelta(minutes=2)
    db.session.commit()
    try:
        process.synced_at = None
        process.tick()  # the close job goes into the store, and nothing fires it
        assert runner.overdue_jobs(stalled, now) == [f"campaign-{campaign.id}-close"]
        assert run_status(campaign, "close") == []
        process.tick()  # two minutes overdue: a new APScheduler, which fires it
        assert process.scheduler is not stalled
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while run_status(campaign, "close") != ["done"] and datetime.now(UTC) < deadline:
            threading.Event().wait(0.1)
        assert run_status(campaign, "close") == ["done"]
    finally:
        process.stop_scheduler()
        db.session.remove()


def test_a_job_is_overdue_only_well_after_its_time(app, campaign, scheduler):
    runner.sync_jobs(scheduler)
    assert runner.overdue_jobs(scheduler, REMINDER + timedelta(seconds=30)) == []
    assert runner.overdue_jobs(scheduler, REMINDER + timedelta(seconds=61)) == [
        f"campaign-{campaign.id}-reminder"
    ]
