"""Rate limits on the actions that can be abused, with Flask-Limiter's ``limit``.

Each limited action is a POST of one endpoint (``RULES``), counted per *key*: the
client, the survey link in the URL, the e-mail address in the form (the login's
account, the resume link's recipient), the draw ticket in the form, the logged-in
account (the own password change).  Each rule is a
``limiter.limit(...)`` on the endpoint's view, put there by ``limit_views`` once the
blueprints are registered: Flask-Limiter counts it before the view runs, and a request
over any of its limits gets a Dutch 429 page with ``Retry-After`` and does nothing.  The
limits are settings (``RATELIMIT_*`` below, in the ``limits`` notation: ``"5 per
minute;20 per hour"``).

Each app has a limiter of its own (made by ``register``), so that the settings of one
app (a test's, with limits on or off) never reach another's views.

Where the counts live: ``RATELIMIT_STORAGE_URI`` (Flask-Limiter's own setting), for
production a Redis server (``redis://host:6379/0``) so a limit holds across gunicorn
workers and machines; the embedded default ``memory://`` counts per process.

Privacy: keys are keyed hashes (HMAC with the app's secret) of the client address,
the link code, the e-mail address and the ticket, so neither the store nor a log holds
an IP or e-mail address; a count lives no longer than its window.

Opens of a survey link are counted at most once per browser session (the survey's
own rule) and at most ``RATELIMIT_OPENS_PER_LINK`` per link: openings past that are
not counted (the page is shown all the same).  That is no refusal, so it is no
``limit`` on a view: ``allow_open`` asks the limiter's strategy directly.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse_many

log = logging.getLogger(__name__)

#: Limits per action and key: (setting, what the count is keyed by).
RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "auth.login": (
        ("RATELIMIT_LOGIN_PER_ACCOUNT", "email"),
        ("RATELIMIT_LOGIN_PER_CLIENT", "client"),
    ),
    # Someone holding a stolen session must not guess the password it asks for.
    "auth.change_password": (("RATELIMIT_PASSWORD_CHANGE_PER_ACCOUNT", "account"),),
    "survey.mail_link": (
        ("RATELIMIT_RESUME_MAIL_PER_LINK", "link"),
        ("RATELIMIT_RESUME_MAIL_PER_ADDRESS", "email"),
        ("RATELIMIT_RESUME_MAIL_PER_CLIENT", "client"),
    ),
    "survey.draw_entry": (
        ("RATELIMIT_DRAW_PER_TICKET", "ticket"),
        ("RATELIMIT_DRAW_PER_CLIENT", "client"),
    ),
    "survey.start": (
        ("RATELIMIT_START_PER_LINK", "link"),
        ("RATELIMIT_START_PER_CLIENT", "client"),
    ),
}

#: The default limits; each can be set under its name (``CAMPAIGN_RATELIMIT_...``).
#: A draw entry needs a completed response's one-time ticket, so entries never outnumber
#: completions (started at most ``RATELIMIT_START_PER_CLIENT`` an hour per client): the
#: per-client limit only has to stop a script, not an office behind one address.  The
#: per-ticket limit bounds the tries with one ticket (a refused address, or one already
#: taking part, leaves the ticket usable).
DEFAULTS = {
    "RATELIMIT_LOGIN_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_LOGIN_PER_CLIENT": "30 per 15 minutes",
    "RATELIMIT_PASSWORD_CHANGE_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_RESUME_MAIL_PER_LINK": "3 per hour",
    "RATELIMIT_RESUME_MAIL_PER_ADDRESS": "3 per hour",
    "RATELIMIT_RESUME_MAIL_PER_CLIENT": "20 per hour",
    "RATELIMIT_DRAW_PER_TICKET": "10 per hour",
    "RATELIMIT_DRAW_PER_CLIENT": "300 per hour",
    "RATELIMIT_START_PER_LINK": "1000 per hour",
    "RATELIMIT_START_PER_CLIENT": "300 per hour",
    "RATELIMIT_OPENS_PER_LINK": "1000 per hour",
}


class Limits:
    """The app's limiter, its key secret and the opens' limit (made once, at start-up)."""

    def __init__(self, app: Flask) -> None:
        # Every limit names its own key function; this default is never used.
        self.limiter = Limiter(key_func=lambda: "", default_limits=[])
        self.limiter.init_app(app)
        # Only the endpoints of RULES have limits: for every other request Flask-Limiter's
        # own check (it runs before every request) stops at this filter instead of
        # resolving limits there are none of.
        self.limiter.request_filter(lambda: request.endpoint not in RULES)
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        secret = str(app.config["SECRET_KEY"]).encode()
        self.secret = hmac.new(secret, b"ratelimit", hashlib.sha256).digest()
        self.opens = parse_many(setting(app, "RATELIMIT_OPENS_PER_LINK"))

    def key(self, kind: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


def setting(app: Flask, name: str) -> str:
    """The limit called ``name``: the app's setting, else its default."""
    return str(app.config.get(name) or DEFAULTS[name])


def limits() -> Limits:
    found: Limits = current_app.extensions["campaign_limits"]
    return found


# --- what a count is keyed by ----------------------------------------------------------------


def _form_value(name: str) -> str:
    return request.form.get(name, "").strip().lower()


#: The value each kind of key is made from, in the current request.
VALUES: dict[str, Callable[[], str]] = {
    "client": lambda: request.remote_addr or "-",
    "account": lambda: str(current_user.get_id() or "").partition(":")[0],
    "link": lambda: str((request.view_args or {}).get("code", "")).strip().lower(),
    "email": lambda: _form_value("email"),
    "ticket": lambda: request.form.get("ticket", "").strip(),
}


def key_function(kind: str) -> Callable[[], str]:
    """The limit's key: the HMAC of this request's value of ``kind``."""
    value = VALUES[kind]
    return lambda: limits().key(kind, value())


def exemption(kind: str) -> Callable[[], bool] | None:
    """A form field left empty counts against nothing (a login without an address is
    refused anyway; the per-client limit still counts it), nor does a request without a
    login (the access check sends it to the login page)."""
    if kind in ("email", "ticket", "account"):
        value = VALUES[kind]
        return lambda: not value()
    return None


def limit_views(app: Flask) -> None:
    """Put each endpoint's limits (``RULES``) on its view with Flask-Limiter's ``limit``;
    call it once the blueprints are registered."""
    limiter = app.extensions["campaign_limits"].limiter
    for endpoint, rules in RULES.items():
        view = app.view_functions[endpoint]
        for name, kind in rules:
            view = limiter.limit(
                setting(app, name),
                key_func=key_function(kind),
                methods=["POST"],
                exempt_when=exemption(kind),
            )(view)
        app.view_functions[endpoint] = view


def allow_open(code: str) -> bool:
    """Whether one more opening of the link with this code may be counted."""
    found = limits()
    if not found.enabled:
        return True
    key = found.key("open", code)
    strategy = found.limiter.limiter
    return all(strategy.hit(item, "opens", key) for item in found.opens)


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


def seconds_to_wait() -> float:
    """Seconds until the limit this request broke lets a request through again."""
    breached = limits().limiter.current_limit
    if breached is None:
        return 60.0
    return max(1.0, breached.reset_at - time.time())


def _too_many(_error: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    from campaign.errors import render_error

    wait = seconds_to_wait()
    log.warning("rate limit reached on %s", request.endpoint)
    text = (
        "Te veel pogingen na elkaar. Om misbruik te voorkomen kan dit even niet meer; "
        f"probeer het {wait_text(wait)} opnieuw."
    )
    body, status = render_error(429, text)
    return body, status, {"Retry-After": str(math.ceil(wait))}


def register(app: Flask) -> None:
    """Make the app's limiter and its Dutch 429 page (``limit_views`` puts the limits on
    the views)."""
    app.extensions["campaign_limits"] = Limits(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
