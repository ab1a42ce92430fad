"""Coordinators' sessions: how one starts, what ends it, and the inactivity timeout.

Flask-Login keeps ``Coordinator.get_id()`` in the session cookie and, after "Aangemeld
blijven", in its remember cookie: the account's id and its ``session_token`` (the
"alternative tokens" of Flask-Login's documentation).  ``load_coordinator`` refuses a
cookie whose token is no longer the account's, so ``end_sessions`` (at logout, a
password change or reset, deactivation and a role change) ends every session of the
account, a copied cookie included.

``check_session`` runs before every request that carries a login: a refused cookie is
logged and cleared; a session without "Aangemeld blijven" that saw no request for
``COORDINATOR_IDLE_TIMEOUT`` seconds ends, with a Dutch message on the login page.
The respondents' survey session (``campaign.security.keep_respondent_session``) holds no
login and is never touched here.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import current_app, flash, redirect, request, session
from flask_login import (
    decode_cookie,
    login_url,
    login_user,
    logout_user,
    user_loaded_from_cookie,
)
from werkzeug.wrappers import Response

from campaign import clock
from campaign.auth import roles
from campaign.extensions import db
from campaign.models import Coordinator, new_session_token

log = logging.getLogger(__name__)

#: The session key with the time (whole seconds since the epoch, UTC) of the last
#: request seen in a coordinator's session.
SEEN = "coordinator_seen"
#: ``SEEN`` is written again once it is this many seconds old (not on every request).
SEEN_STEP = 60
#: Flask-Login's session key for the logged-in account's ``get_id()``.
USER_ID = "_user_id"
EXPIRED = (
    "Je sessie is verlopen: je was een tijd niet actief op het dashboard. "
    "Meld je opnieuw aan om verder te werken."
)


def load_coordinator(user_id: str) -> Coordinator | None:
    """Flask-Login's user loader: the account whose id and current session token the
    cookie carries; None (not logged in) for an ended session or a deactivated account."""
    account_id, _, token = user_id.partition(":")
    coordinator = db.session.get(Coordinator, int(account_id)) if account_id.isdigit() else None
    if (
        coordinator is None
        or not token
        or not secrets.compare_digest(coordinator.session_token, token)
        or not coordinator.is_active
    ):
        return None
    return coordinator


def end_sessions(coordinator: Coordinator) -> None:
    """A new session token: every session and remember cookie of the account ends at its
    next request.  In the caller's transaction (the caller commits)."""
    coordinator.session_token = new_session_token()


def log_in(coordinator: Coordinator, remember: bool) -> None:
    """Start (or, after a password change, continue) this browser's session."""
    login_user(coordinator, remember=remember)
    session[SEEN] = _now()


def is_remembered() -> bool:
    """Whether this browser holds a remember cookie of the logged-in session ("Aangemeld
    blijven"): its signed value is the session's account id and token."""
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    cookie = request.cookies.get(name)
    return (
        cookie is not None
        and session.get("_remember") != "clear"
        and USER_ID in session
        and decode_cookie(cookie) == session[USER_ID]
    )


def check_session() -> Response | None:
    """Before each request with a login: refuse an ended session, end an idle one."""
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if USER_ID not in session and name not in request.cookies:
        return None
    if roles.current_account() is None:
        claimed = str(session.get(USER_ID, "")).partition(":")[0]
        if claimed:
            log.warning(
                "refused an ended session of coordinator %s (logged out, new password, "
                "deactivated or another role)",
                claimed if claimed.isdigit() else "?",
            )
        logout_user()  # the stale login out of the session, the remember cookie deleted
        session.pop(SEEN, None)
        return None
    now = _now()
    seen = session.get(SEEN)
    idle = now - seen if isinstance(seen, int) else 0
    if idle > int(current_app.config["COORDINATOR_IDLE_TIMEOUT"]) and not is_remembered():
        log.info("session ended after %d minutes without a request", idle // 60)
        logout_user()
        session.pop(SEEN, None)
        if request.path.startswith("/dashboard/"):
            flash(EXPIRED, "info")
            return redirect(login_url("auth.login", _here()))
        if request.endpoint == "auth.login" and request.method == "GET":
            flash(EXPIRED, "info")
        return None
    if not isinstance(seen, int) or idle >= SEEN_STEP:
        session[SEEN] = now
    return None


def _here() -> str:
    """This request's path and query, for the login page's ``next``."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _now() -> int:
    return int(clock.now().timestamp())


def _logged_in_from_cookie(_app: Any, user: Coordinator, **_extra: Any) -> None:
    log.info("coordinator %s logged in through the remember cookie", user.id)


#: The login's log line for a session restored from the remember cookie (a signal of
#: Flask-Login's, for every app).
user_loaded_from_cookie.connect(_logged_in_from_cookie)
