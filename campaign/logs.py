"""Logging: one handler to stderr for the whole package, each line naming who acted.

Every module logs through ``logging.getLogger(__name__)``, a child of the
app's logger (``campaign``), so the level and format set here apply to all.
A line written while a coordinator is logged in names that coordinator;
lines of the public pages, commands and jobs say ``-``.  No line names a
respondent: no response id, ticket, receipt, e-mail address or IP address.  Times are
UTC with their offset (ISO 8601).  Logins (made or failed), logouts, ended sessions and
refused pages are logged by ``campaign.auth`` (never a password, nor the address tried
for an account that does not exist).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import Flask, has_request_context
from flask.logging import default_handler

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(actor)s] %(message)s"

#: Control characters in a message (user input such as a URL's path): written escaped,
#: so that no input can start a line of its own in the log.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class ActorFilter(logging.Filter):
    """Adds ``actor``: the logged-in coordinator's e-mail address, else ``-``; escapes
    control characters in the message (a traceback keeps its own lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.actor = acting_coordinator() or "-"
        message = record.getMessage()
        if CONTROL.search(message):
            record.msg, record.args = CONTROL.sub(_escaped, message), ()
        return True


def acting_coordinator() -> str | None:
    """The e-mail address of the coordinator behind the current request, if any."""
    if not has_request_context():
        return None
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False):
        return str(current_user.email)
    return None


class UTCFormatter(logging.Formatter):
    """``FORMAT`` with each line's time in UTC, ISO 8601 with its offset and milliseconds
    (``2026-12-01T17:20:46.123+00:00``), whatever the server's time zone."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds")


def configure_logging(app: Flask) -> None:
    """Level from ``LOG_LEVEL``; Flask's stderr handler with our format and actor."""
    app.logger.setLevel(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    if not any(isinstance(f, ActorFilter) for f in default_handler.filters):
        default_handler.addFilter(ActorFilter())
        default_handler.setFormatter(UTCFormatter())
