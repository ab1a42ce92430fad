"""The outbox sender's settings: defaults, each overridable in the app config
(``instance/config.py`` or ``CAMPAIGN_<KEY>``)."""

from __future__ import annotations

from typing import Any

from flask import current_app

DEFAULTS = {
    #: Seconds a claim holds; long enough for a whole batch, short enough that a
    #: killed sender's messages go out soon after.
    "MAIL_LEASE_SECONDS": 120.0,
    #: Messages claimed per transaction.
    "MAIL_BATCH_SIZE": 20,
    #: First retry delay after a transient failure (4xx, dropped connection, timeout); it
    #: doubles with every attempt up to ``MAIL_RETRY_MAX_SECONDS``.  Greylisting servers
    #: accept a retry after 5 to 15 minutes: the tries at about 5, 15 and 35 minutes
    #: after the first pass that.
    "MAIL_RETRY_BASE_SECONDS": 300.0,
    #: The longest delay between two tries (before jitter).
    "MAIL_RETRY_MAX_SECONDS": 7200.0,
    #: A transiently failing mail is given up once this long has passed since it was
    #: queued and its retries (at the nominal delays) have covered this window.
    "MAIL_GIVE_UP_HOURS": 48.0,
    #: Optional hard cap on tries; 0 means none (the window above decides).
    "MAIL_MAX_ATTEMPTS": 0,
    #: Longest a command waits for a deferred retry before leaving it to a later run.
    "MAIL_RETRY_WAIT_SECONDS": 60.0,
    #: Tries to open the SMTP connection before the run gives up (nothing lost).
    "MAIL_CONNECT_TRIES": 3,
    #: Seconds before the second try to connect; doubles for each further try.
    "MAIL_CONNECT_RETRY_SECONDS": 2.0,
    #: Seconds between two looks at the outbox in ``run_sender``.
    "MAIL_POLL_SECONDS": 3.0,
    #: Longest wait of ``run_sender`` between passes while the mail server is unreachable.
    "MAIL_UNAVAILABLE_MAX_WAIT_SECONDS": 60.0,
}


def setting(name: str) -> Any:
    """The app's value of outbox setting ``name``, else its default."""
    return current_app.config.get(name, DEFAULTS[name])
