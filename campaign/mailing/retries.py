"""When a transiently failing mail is tried again, and when it is given up.

Greylisting servers answer 4xx to a new sender and accept the same mail a
few minutes later (commonly 5 to 15); others are briefly overloaded or
unreachable.  So retries start a few minutes apart, double up to a cap of a
couple of hours, and a mail is only given up after a window of many hours.
"""

from __future__ import annotations

import random
from datetime import datetime

from campaign.mailing.settings import setting

#: Each retry waits its nominal delay plus up to this share of it, at random.
JITTER = 0.25


def nominal_retry_delay(attempts: int) -> float:
    """Seconds between try ``attempts`` and the next one, before jitter: doubling from
    ``MAIL_RETRY_BASE_SECONDS``, at most ``MAIL_RETRY_MAX_SECONDS``."""
    base = float(setting("MAIL_RETRY_BASE_SECONDS"))
    cap = float(setting("MAIL_RETRY_MAX_SECONDS"))
    return min(base * 2 ** min(max(attempts - 1, 0), 40), cap)


def retry_delay(attempts: int, rng: random.Random) -> float:
    """Seconds before try ``attempts + 1``: the nominal delay plus up to a quarter of it at
    random, so that many deferred messages do not retry in step.  Jitter only adds, so
    the real retries are never closer together than the nominal ones."""
    delay = nominal_retry_delay(attempts)
    return delay + rng.uniform(0, delay * JITTER)


def retries_span(attempts: int) -> float:
    """Seconds from the first try to try ``attempts`` at the nominal delays: the least
    time that ``attempts`` tries can have taken."""
    return sum(nominal_retry_delay(done) for done in range(1, attempts))


def should_give_up(attempts: int, queued_at: datetime, moment: datetime) -> bool:
    """Whether a mail that just failed transiently for the ``attempts``-th time is failed.

    Once ``MAIL_GIVE_UP_HOURS`` have passed since it was queued, and its tries can have
    covered that window: with jitter the real time between the first and the
    ``attempts``-th try is at most ``retries_span(attempts) * (1 + JITTER)``.  The
    second condition keeps a mail queued while the mail server was down for days
    (those runs claim nothing) from being given up at its first 4xx; for a mail
    tried from the start it holds by itself, so that mail goes at the first failure
    past the window.  ``MAIL_MAX_ATTEMPTS`` (when not 0) caps the tries.
    """
    cap = int(setting("MAIL_MAX_ATTEMPTS") or 0)
    if cap and attempts >= cap:
        return True
    window = float(setting("MAIL_GIVE_UP_HOURS")) * 3600
    if (moment - queued_at).total_seconds() < window:
        return False
    return retries_span(attempts) * (1 + JITTER) >= window


def span_text(seconds: float) -> str:
    """``48 uur``, ``35 minuten``: how long a mail was tried, for its reason."""
    if seconds >= 5400:
        return f"{round(seconds / 3600)} uur"
    if seconds < 60:
        return "minder dan een minuut"
    minutes = round(seconds / 60)
    return "1 minuut" if minutes == 1 else f"{minutes} minuten"
