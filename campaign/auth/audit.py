"""The audit trail: every coordinator action that changed something, with who and when.

Actions with a story of their own record it through ``history.record_event`` (the
close, a moved date, the reminder, an account invited or deactivated).  Every other
state-changing request under /dashboard/ that committed a change is recorded here, by
``record_action`` after the request (kind ``actie:<endpoint>``), so a new action cannot
forget its audit line.  ``audit_page`` reads them back, paged and filtered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import event, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from campaign.auth import roles
from campaign.database import begin_write
from campaign.extensions import db
from campaign.history import ACTION_PREFIX, describe_value, record_event
from campaign.models import Campaign, CampaignEvent, Channel, KeyFigure
from campaign.schedule.queries import EVENT_LABELS

log = logging.getLogger(__name__)

PER_PAGE = 50

#: What each kind of event means, in Dutch: the Planning page's labels, and the rest.
KIND_LABELS = {
    **EVENT_LABELS,
    "account_invited": "Account uitgenodigd",
    "account_changed": "Account gewijzigd",
    "account_deactivated": "Account gedeactiveerd",
    "account_reactivated": "Account opnieuw geactiveerd",
    "account_reset": "Wachtwoordlink opnieuw gestuurd",
    "password_set": "Wachtwoord ingesteld",
    "password_changed": "Wachtwoord gewijzigd",
    "channel_created": "Kanaal aangemaakt",
    "channel_changed": "Kanaal gewijzigd",
    f"{ACTION_PREFIX}contacts.new": "Sleutelfiguur toegevoegd",
    f"{ACTION_PREFIX}contacts.edit": "Sleutelfiguur gewijzigd",
    f"{ACTION_PREFIX}contacts.opt_out": "Sleutelfiguur af- of aangemeld",
    f"{ACTION_PREFIX}contacts.upload": "Sleutelfiguren geïmporteerd",
    f"{ACTION_PREFIX}mailing.invite": "Uitnodigingen in de wachtrij gezet",
    f"{ACTION_PREFIX}mailing.send": "Mails verstuurd",
    f"{ACTION_PREFIX}mailing.test_mail": "Testmail in de wachtrij gezet",
}


def kind_label(kind: str) -> str:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if kind.startswith(ACTION_PREFIX):
        return f"Actie {kind.removeprefix(ACTION_PREFIX)}"
    return kind


# --- recording -------------------------------------------------------------------------


def _note_write(*_args: Any) -> None:
    """A flush or an INSERT/UPDATE/DELETE in the current request: a change, once committed."""
    if has_request_context():
        g.audit_pending = True


def _note_statement(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _note_write()


def _note_commit(_session: Any) -> None:
    if has_request_context() and getattr(g, "audit_pending", False):
        g.audit_committed = True
        g.audit_pending = False


def _note_rollback(_session: Any, _transaction: Any = None) -> None:
    if has_request_context():
        g.audit_pending = False


#: Every session's writes and commits are noted (class-level listeners, added on import).
#: A commit alone is no change: ``begin_write`` commits the read transaction before it.
event.listen(Session, "after_flush", _note_write)
event.listen(Session, "do_orm_execute", _note_statement)
event.listen(Session, "after_commit", _note_commit)
event.listen(Session, "after_rollback", _note_rollback)


def start_request() -> None:
    """Forget what an earlier request noted (an app context, and so ``g``, may outlive a
    request: a test's, a command's)."""
    g.audit_committed = False
    g.audit_pending = False
    g.recorded_events = 0
    # Flask-Login keeps the loaded account in ``g``: load it again for this request, so a
    # deactivation takes effect even where an app context serves several requests.
    g.pop("_login_user", None)


def record_action(response: Response) -> Response:
    """After a successful POST (or other change) under /dashboard/ that committed to the
    database and recorded no event of its own: an ``actie:<endpoint>`` event."""
    rule = request.url_rule
    if (
        request.method in ("GET", "HEAD", "OPTIONS")
        or rule is None
        or not rule.rule.startswith("/dashboard/")
        or response.status_code >= 400
        or not getattr(g, "audit_committed", False)
        or getattr(g, "recorded_events", 0) > 0
        or roles.current_account() is None
    ):
        return response
    try:
        begin_write()
        campaign = _campaign_of_request()
        details = _describe_request()
        record_event(campaign, f"{ACTION_PREFIX}{request.endpoint}"[:40], **details)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("audit record of %s failed", request.endpoint)
    return response


def _campaign_of_request() -> Campaign | None:
    slug = (request.view_args or {}).get("slug")
    if slug is None:
        return None
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def _describe_request() -> dict[str, Any]:
    """The ids in the URL, and the name of the key figure or channel they name (never an
    e-mail address, never a form's values)."""
    args = {k: v for k, v in (request.view_args or {}).items() if k != "slug"}
    details: dict[str, Any] = dict(args)
    if "key_figure_id" in args:
        key_figure = db.session.get(KeyFigure, args["key_figure_id"])
        details["name"] = key_figure.name if key_figure is not None else ""
    if "channel_id" in args:
        channel = db.session.get(Channel, args["channel_id"])
        details["name"] = channel.name if channel is not None else ""
    return details


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    kind: str = ""
    actor: str = ""
    campaign: str = ""
    page: int = 1


@dataclass(frozen=True)
class AuditPage:
    events: Pagination
    kinds: list[tuple[str, str]]
    actors: list[str]
    campaigns: dict[int, Campaign]


def audit_page(chosen: AuditFilter) -> AuditPage:
    """The events, newest first, filtered by kind, person (actor) and campaign slug."""
    campaigns = {c.id: c for c in db.session.scalars(select(Campaign).order_by(Campaign.title))}
    query = select(CampaignEvent).order_by(
        CampaignEvent.happened_at.desc(), CampaignEvent.id.desc()
    )
    if chosen.kind:
        query = query.where(CampaignEvent.kind == chosen.kind)
    if chosen.actor:
        query = query.where(CampaignEvent.actor == chosen.actor)
    if chosen.campaign:
        # The campaign's events and those of no campaign (accounts, passwords set).
        ids = [c.id for c in campaigns.values() if c.slug == chosen.campaign] or [-1]
        query = query.where(
            or_(CampaignEvent.campaign_id.in_(ids), CampaignEvent.campaign_id.is_(None))
        )
    kinds = db.session.scalars(select(CampaignEvent.kind).distinct()).all()
    actors = db.session.scalars(
        select(CampaignEvent.actor).distinct().order_by(CampaignEvent.actor)
    ).all()
    return AuditPage(
        events=db.paginate(query, page=max(chosen.page, 1), per_page=PER_PAGE, error_out=False),
        kinds=sorted(((k, kind_label(k)) for k in kinds), key=lambda item: item[1]),
        actors=[a for a in actors if a],
        campaigns=campaigns,
    )


def describe(event_row: CampaignEvent, campaign: Campaign) -> str:
    """An event's details in a few words for the audit page (dates in the campaign's
    timezone, nl-BE)."""
    details = event_row.details or {}
    parts = []
    for key in ("name", "email", "role", "partner", "count"):
        if details.get(key) not in (None, ""):
            parts.append(str(details[key]))
    if "old" in details or "new" in details:
        old, new = (
            describe_value(campaign, details.get("old")),
            describe_value(campaign, details.get("new")),
        )
        parts.append(f"{old} → {new}")
    if details.get("changes"):
        parts.append("; ".join(str(change) for change in details["changes"]))
    return " · ".join(parts)
