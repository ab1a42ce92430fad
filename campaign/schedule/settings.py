"""The scheduler's settings: defaults, each overridable in the app config
(``instance/config.py`` or ``CAMPAIGN_<KEY>``)."""

from __future__ import annotations

from typing import Any

from flask import current_app

DEFAULTS: dict[str, Any] = {
    #: Seconds between two heartbeats (and looks at who leads).
    "SCHEDULER_TICK_SECONDS": 5.0,
    #: Seconds between two reads of the campaigns' dates into the job store.
    "SCHEDULER_SYNC_SECONDS": 15.0,
    #: A heartbeat older than this no longer counts: a standby takes over.
    "SCHEDULER_LEADER_STALE_SECONDS": 30.0,
    #: A job still in the store this long after its time means APScheduler stopped firing
    #: (its thread died on a database error, say): the process starts a new one.
    "SCHEDULER_STUCK_SECONDS": 60.0,
    #: How late a missed reminder may still go out once the scheduler is back.
    "SCHEDULER_REMINDER_GRACE_HOURS": 72.0,
    #: Days after the close before draw entries (respondents' e-mail addresses) are deleted.
    "DATA_RETENTION_DAYS": 90,
    #: A run still marked running after this long belonged to a process that died: it is
    #: started again (its work only queues into the outbox, so that is harmless).
    "SCHEDULER_RUN_STALE_SECONDS": 600.0,
    #: A purge that has to wait for the draw is tried again after this long.
    "SCHEDULER_PURGE_RETRY_HOURS": 24.0,
    #: A job that failed (the database was away, a bug) is tried again after this long.
    "SCHEDULER_FAILED_RETRY_SECONDS": 300.0,
    #: Seconds without a heartbeat after which every dashboard page warns.
    "SCHEDULER_BANNER_SECONDS": 180.0,
}


def setting(name: str) -> Any:
    """The app's value of scheduler setting ``name``, else its default."""
    return current_app.config.get(name, DEFAULTS[name])
