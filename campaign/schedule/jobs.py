"""The functions APScheduler fires: one per job, each a few lines that call the
operation in ``services``.  APScheduler stores a job as a reference to a module-level
function with picklable arguments, so the app the jobs run in is bound here once by
the scheduler process (``bind``), never pickled."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from campaign.schedule import services

_app: Flask | None = None


def bind(app: Flask) -> None:
    """Make ``app`` the application the jobs of this process run in."""
    global _app
    _app = app


def _run(job: str, campaign_id: int, due_at: str) -> None:
    if _app is None:
        raise RuntimeError("campaign.schedule.jobs.bind(app) was not called in this process")
    with _app.app_context():
        services.run_job(job, campaign_id, datetime.fromisoformat(due_at))


def launch(campaign_id: int, due_at: str) -> None:
    _run(services.LAUNCH, campaign_id, due_at)


def reminder(campaign_id: int, due_at: str) -> None:
    _run(services.REMINDER, campaign_id, due_at)


def close(campaign_id: int, due_at: str) -> None:
    _run(services.CLOSE, campaign_id, due_at)


def purge(campaign_id: int, due_at: str) -> None:
    _run(services.PURGE, campaign_id, due_at)
