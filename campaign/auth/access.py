"""The one access check of the coordinator side, run before every /dashboard/ request.

``check_access`` is registered for the whole app (``before_app_request``), so a new
page under /dashboard/ is covered without doing anything, and refused by default
where it could show too much:

- nobody who is not logged in (or whose account was deactivated) gets a page;
- a viewer changes nothing: every request but GET and HEAD answers 403;
- a page marked ``admin_only`` (the accounts) is for the campaign administrator;
- an account limited to a partner reaches only the pages marked ``partner_scoped``
  (those that filter what they show by ``roles.partner_limit()``), and a key figure
  or channel named in the URL only when it is that partner's (else 404);
- a page marked ``own_account`` (one's own password) is open to every account.

Each refusal writes a log line (``_refuse``); ``no_store`` keeps every page under
/dashboard/ (and the login's) out of caches.

``tests/auth/test_access.py`` walks every rule of ``app.url_map`` to keep it so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.wrappers import Response

from campaign.auth import roles
from campaign.errors import render_error
from campaign.extensions import db, login_manager
from campaign.models import Campaign, Channel, KeyFigure, Message

View = TypeVar("View", bound=Callable[..., Any])

log = logging.getLogger(__name__)

#: Requests that change nothing, the only ones a viewer may make.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The part of the site this check guards.
PREFIX = "/dashboard/"
#: Pages outside ``PREFIX`` that are never to be cached either (a password is typed there).
NO_STORE_ENDPOINTS = frozenset({"auth.login", "auth.logout", "auth.set_password"})
#: The kind of mail that carries a set-password link (``campaign.auth.services``).
ACCOUNT_MAIL = "account"


def partner_scoped(view: View) -> View:
    """Mark a dashboard view as safe for an account limited to a partner: it shows (and
    changes) only that partner's key figures and channels, and campaign-wide totals."""
    view.partner_scoped = True  # type: ignore[attr-defined]
    return view


def admin_only(view: View) -> View:
    """Mark a dashboard view as the campaign administrator's alone."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def own_account(view: View) -> View:
    """Mark a dashboard view as one about the logged-in account itself (its password):
    open to every account, whatever its role or partner, and showing nothing else."""
    view.own_account = True  # type: ignore[attr-defined]
    return view


def check_access() -> Response | tuple[str, int] | None:
    """Refuse the current request when the account may not make it (see the module)."""
    rule = request.url_rule
    if rule is None or not rule.rule.startswith(PREFIX):
        return None
    account = roles.current_account()
    if account is None:
        return login_manager.unauthorized()
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "own_account", False):
        return None
    if getattr(view, "admin_only", False) and account.role != roles.ADMIN:
        return _refuse(403, "Alleen een campagnebeheerder kan accounts beheren.")
    if request.method not in SAFE_METHODS and account.role not in (roles.ADMIN, roles.COORDINATOR):
        return _refuse(403, "Je account mag alles bekijken, maar niets wijzigen.")
    if account.partner:
        return _check_partner(account.partner, getattr(view, "partner_scoped", False))
    if account.role != roles.ADMIN and _reads_account_mail():
        return _refuse(403, "Deze mail bevat een persoonlijke link om een wachtwoord te kiezen.")
    return None


def _refuse(status: int, text: str) -> tuple[str, int]:
    """The Dutch error page, and a log line of the refusal (who: the log's actor; what:
    the method and the page's endpoint)."""
    log.warning("access refused (%d): %s %s", status, request.method, request.endpoint)
    return render_error(status, text)


def no_store(response: Response) -> Response:
    """After every dashboard page and the login, set-password and logout pages:
    ``Cache-Control: no-store``, so no browser or proxy keeps a copy of names, addresses
    or results.  A response that set its own caching with a lifetime (the plotly script,
    the same file for everyone) keeps it."""
    rule = request.url_rule
    guarded = rule is not None and rule.rule.startswith(PREFIX)
    cached_on_purpose = response.cache_control.max_age is not None
    if (guarded or request.endpoint in NO_STORE_ENDPOINTS) and not cached_on_purpose:
        response.headers["Cache-Control"] = "no-store"
    return response


#: The .eml copy of a sent mail, as the mail page shows it (``mailing.outbox_file``).
_EML = re.compile(r"(\d+)\.eml")


def _reads_account_mail() -> bool:
    """Whether the request opens the copy of an account mail: it carries a one-time link
    to set a password, which only an administrator may read (anyone else could take the
    invited account, an administrator's too)."""
    if request.endpoint != "mailing.outbox_file":
        return False
    match = _EML.fullmatch(str((request.view_args or {}).get("name", "")))
    message = db.session.get(Message, int(match[1])) if match else None
    return message is not None and message.kind == ACCOUNT_MAIL


def _check_partner(partner: str, scoped: bool) -> tuple[str, int] | None:
    if not scoped:
        return _refuse(
            403,
            f"Je account is beperkt tot {partner}: deze pagina toont meer dan die "
            "partnerorganisatie, en hoort daarom niet bij je account.",
        )
    args = request.view_args or {}
    if "key_figure_id" in args or "channel_id" in args:
        campaign = db.session.query(Campaign).filter_by(slug=args.get("slug")).one_or_none()
        item: KeyFigure | Channel | None = (
            db.session.get(KeyFigure, args["key_figure_id"])
            if "key_figure_id" in args
            else db.session.get(Channel, args["channel_id"])
        )
        if campaign is None or item is None or item.campaign_id != campaign.id:
            return render_error(404)
        if item.partner != partner:
            return _refuse(
                404, f"Deze pagina bestaat niet, of hoort niet bij {partner} (je account)."
            )
    return None


def may_open(endpoint: str) -> bool:
    """Whether the current account may open (GET) the page of ``endpoint``: for the
    navigation, which shows only what ``check_access`` would let through."""
    account = roles.current_account()
    if account is None:
        return False
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "admin_only", False) and account.role != roles.ADMIN:
        return False
    return not (account.partner and not getattr(view, "partner_scoped", False))
