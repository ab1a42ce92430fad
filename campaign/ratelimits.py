"""Rate limits on the actions that can be abused (Flask-Limiter's storage and strategy).

Each limited action is a POST of one endpoint, counted per *key*: the client, the
survey link in the URL, the e-mail address in the form (the login's account, the
resume link's recipient).  A request over any of its limits gets a Dutch 429 page
with ``Retry-After`` and does nothing.  The limits are settings (``RATELIMIT_*``
below, in the ``limits`` notation: ``"5 per minute;20 per hour"``).

Where the counts live: ``RATELIMIT_STORAGE_URI`` (Flask-Limiter's own setting), for
production a Redis server (``redis://host:6379/0``) so a limit holds across gunicorn
workers and machines; the embedded default ``memory://`` counts per process.

Privacy: keys are keyed hashes (HMAC with the app's secret) of the client address,
the link code and the e-mail address, so neither the store nor a log holds an IP or
e-mail address; a count lives no longer than its window.

Opens of a survey link are counted at most once per browser session (the survey's
own rule) and at most ``RATELIMIT_OPENS_PER_LINK`` per link: openings past that are
not counted (the page is shown all the same).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many

log = logging.getLogger(__name__)

#: Limits per action and key: (setting, what the count is keyed by).
RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "auth.login": (
        ("RATELIMIT_LOGIN_PER_ACCOUNT", "email"),
        ("RATELIMIT_LOGIN_PER_CLIENT", "client"),
    ),
    "survey.mail_link": (
        ("RATELIMIT_RESUME_MAIL_PER_LINK", "link"),
        ("RATELIMIT_RESUME_MAIL_PER_ADDRESS", "email"),
        ("RATELIMIT_RESUME_MAIL_PER_CLIENT", "client"),
    ),
    "survey.draw_entry": (("RATELIMIT_DRAW_PER_CLIENT", "client"),),
    "survey.start": (
        ("RATELIMIT_START_PER_LINK", "link"),
        ("RATELIMIT_START_PER_CLIENT", "client"),
    ),
}

#: The default limits; each can be set under its name (``CAMPAIGN_RATELIMIT_...``).
DEFAULTS = {
    "RATELIMIT_LOGIN_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_LOGIN_PER_CLIENT": "30 per 15 minutes",
    "RATELIMIT_RESUME_MAIL_PER_LINK": "3 per hour",
    "RATELIMIT_RESUME_MAIL_PER_ADDRESS": "3 per hour",
    "RATELIMIT_RESUME_MAIL_PER_CLIENT": "20 per hour",
    "RATELIMIT_DRAW_PER_CLIENT": "20 per hour",
    "RATELIMIT_START_PER_LINK": "1000 per hour",
    "RATELIMIT_START_PER_CLIENT": "300 per hour",
    "RATELIMIT_OPENS_PER_LINK": "1000 per hour",
}


class Limits:
    """The app's limiter and its parsed limits (made once, at start-up)."""

    def __init__(self, app: Flask) -> None:
        self.limiter = Limiter(key_func=lambda: "", default_limits=[])
        self.limiter.init_app(app)
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        # Our limits are counted in check_request (keyed by form fields too). Flask-Limiter's
        # own per-request check stays as init_app installs it (it finds no limit of its own;
        # about 50 us a request): taking it out would mean reaching into its internals.
        secret = str(app.config["SECRET_KEY"]).encode()
        self.secret = hmac.new(secret, b"ratelimit", hashlib.sha256).digest()
        self.items = {
            name: parse_many(str(app.config.get(name) or default))
            for name, default in DEFAULTS.items()
        }

    def key(self, kind: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def hit(self, name: str, key: str) -> float | None:
        """Count one against ``name``'s limits; None if within them, else the seconds until
        a retry can pass."""
        wait = None
        for item in self.items[name]:
            if not self.limiter.limiter.hit(item, name, key):
                wait = max(wait or 0.0, self._reset_in(item, name, key))
        return wait

    def _reset_in(self, item: RateLimitItem, name: str, key: str) -> float:
        stats = self.limiter.limiter.get_window_stats(item, name, key)
        return max(1.0, stats.reset_time - time.time())


def limits() -> Limits:
    found: Limits = current_app.extensions["campaign_limits"]
    return found


def _key_value(kind: str) -> str:
    if kind == "client":
        return request.remote_addr or "-"
    if kind == "link":
        return str((request.view_args or {}).get("code", "")).strip().lower()
    return request.form.get("email", "").strip().lower()


class TooManyRequests(Exception):
    """A limited action over one of its limits; ``wait`` in seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def check_request() -> None:
    """Before each request: count a limited POST, refuse it (429) when over a limit."""
    rules = RULES.get(request.endpoint or "")
    if rules is None or request.method != "POST":
        return
    found = limits()
    if not found.enabled:
        return
    wait = None
    for name, kind in rules:
        value = _key_value(kind)
        if value:
            over = found.hit(name, found.key(kind, value))
            if over is not None:
                wait = max(wait or 0.0, over)
    if wait is not None:
        log.warning("rate limit reached on %s", request.endpoint)
        raise TooManyRequests(wait)


def allow_open(code: str) -> bool:
    """Whether one more opening of the link with this code may be counted."""
    found = limits()
    if not found.enabled:
        return True
    return found.hit("RATELIMIT_OPENS_PER_LINK", found.key("open", code)) is None


def wait_text(seconds: float) -> str:
    """ "over 12 minuten", "over 1 minuut", "over 40 seconden" (Dutch, for the 429 page)."""
    if seconds < 60:
        count = max(1, math.ceil(seconds))
        return f"over {count} {'seconde' if count == 1 else 'seconden'}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"over {minutes} {'minuut' if minutes == 1 else 'minuten'}"
    hours = math.ceil(minutes / 60)
    return "over een uur" if hours == 1 else f"over {hours} uur"


def _too_many(error: TooManyRequests) -> tuple[str, int, dict[str, str]]:
    from campaign.errors import render_error

    text = (
        "Te veel pogingen na elkaar. Om misbruik te voorkomen kan dit even niet meer; "
        f"probeer het {wait_text(error.wait)} opnieuw."
    )
    body, status = render_error(429, text)
    return body, status, {"Retry-After": str(math.ceil(error.wait))}


def register(app: Flask) -> None:
    """Make the app's limits and install the check."""
    app.extensions["campaign_limits"] = Limits(app)
    app.before_request(check_request)
    app.register_error_handler(TooManyRequests, _too_many)
