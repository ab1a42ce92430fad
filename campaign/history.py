"""The campaign's history: who changed its calendar or state, and what ran when.

One function writes an event (``record_event``), one reads them back; the close,
the reminder and the scheduler's jobs all record through it, and the Planning
page shows the list.  An event never names a respondent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select

from campaign import clock
from campaign.extensions import db
from campaign.logs import acting_coordinator
from campaign.models import Campaign, CampaignEvent

#: The actor of what the scheduler does by itself.
PLANNER = "planner"
#: The actor of a ``flask ...`` command.
COMMAND_LINE = "opdrachtregel"
#: Kind prefix of the audit's records of coordinator actions that recorded no event of
#: their own (``actie:contacts.edit``): see ``campaign.auth.audit``.
ACTION_PREFIX = "actie:"


def current_actor(default: str = COMMAND_LINE) -> str:
    """The logged-in coordinator's e-mail address, else ``default``."""
    return acting_coordinator() or default


def record_event(
    campaign: Campaign | None,
    kind: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **details: Any,
) -> CampaignEvent:
    """Add an event to the session (the caller commits it with the change it describes).

    ``details`` must be JSON-serialisable: datetimes are stored as ISO strings.
    ``campaign`` is None for what concerns no campaign (an account invited).  The
    request notes that it recorded an event, so the audit's catch-all
    (``campaign.auth.audit``) does not record the same action twice.
    """
    if has_request_context():
        g.recorded_events = getattr(g, "recorded_events", 0) + 1
    event = CampaignEvent(
        campaign_id=campaign.id if campaign is not None else None,
        kind=kind,
        actor=actor or current_actor(),
        happened_at=now or clock.now(),
        details={key: _jsonable(value) for key, value in details.items()},
    )
    db.session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def campaign_events(campaign: Campaign, limit: int = 100) -> Sequence[CampaignEvent]:
    """The campaign's events, newest first; the audit's catch-all records of other actions
    (``ACTION_PREFIX``) are left to the audit page."""
    query = (
        select(CampaignEvent)
        .where(
            CampaignEvent.campaign_id == campaign.id,
            CampaignEvent.kind.not_like(f"{ACTION_PREFIX}%"),
        )
        .order_by(CampaignEvent.happened_at.desc(), CampaignEvent.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()


def describe_value(campaign: Campaign, value: Any) -> str:
    """A value from an event's details in words (for the Planning page and the audit):
    ISO date-times in the campaign's zone, nl-BE; a switch as "aan"/"uit"."""
    from campaign.formatting import format_datetime

    if value is None or value == "":
        return "geen"
    if isinstance(value, bool):
        return "aan" if value else "uit"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return format_datetime(campaign.local(moment))
    return str(value)
