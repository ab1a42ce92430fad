"""The health rule: what ``/health`` checks, and when each check is ok.

- ``database``: a trivial read through the ORM session answers.
- ``scheduler``: a scheduler process sent a heartbeat within the dashboard banner's
  limit (``SCHEDULER_BANNER_SECONDS``): the very rule of the banner
  (``campaign.schedule.queries.scheduler_seen_recently``), not a second one.

A check that fails for any reason (the database is down, refuses the connection, is
read-only and locked, ...) is ``failing``; the reason goes to the log as the name of
the exception only, never to the caller, and never as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import literal, select
from sqlalchemy.exc import SQLAlchemyError

from campaign.extensions import db
from campaign.schedule.queries import scheduler_seen_recently

log = logging.getLogger(__name__)

OK = "ok"
FAILING = "failing"

DATABASE = "database"
SCHEDULER = "scheduler"


def database_answers() -> bool:
    """Whether the database answers a trivial read."""
    return db.session.scalar(select(literal(1))) == 1


def scheduler_alive() -> bool:
    """Whether a scheduler was seen within the dashboard banner's limit."""
    alive, _seen = scheduler_seen_recently()
    return alive


#: Every check, in the order of the answer.
CHECKS: dict[str, Callable[[], bool]] = {
    DATABASE: database_answers,
    SCHEDULER: scheduler_alive,
}


def run_checks(names: Iterable[str] = CHECKS) -> dict[str, str]:
    """``{name: "ok" | "failing"}`` for each check named (all by default).  Every check
    reads the database: once one could not, the next ones fail without trying again (a
    database that hangs costs a probe one wait, not one per check)."""
    results = {}
    unreachable = False
    for name in names:
        passed = False
        if not unreachable:
            try:
                passed = CHECKS[name]()
            except SQLAlchemyError as error:
                db.session.rollback()
                log.warning("health check %s failing: %s", name, type(error).__name__)
                unreachable = True
        results[name] = OK if passed else FAILING
    db.session.rollback()  # end the read transaction: a probe holds nothing open
    return results


def healthy(results: dict[str, str]) -> bool:
    return all(result == OK for result in results.values())
