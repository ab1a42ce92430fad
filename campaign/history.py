"""The campaign's history: who changed its calendar or state, and what ran when.

One function writes an event (``record_event``), one reads them back; the close,
the reminder and the scheduler's jobs all record through it, and the Planning
page shows the list.  An event never names a respondent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from campaign import clock
from campaign.extensions import db
from campaign.logs import acting_coordinator
from campaign.models import Campaign, CampaignEvent

#: The actor of what the scheduler does by itself.
PLANNER = "planner"
#: The actor of a ``flask ...`` command.
COMMAND_LINE = "opdrachtregel"


def current_actor(default: str = COMMAND_LINE) -> str:
    """The logged-in coordinator's e-mail address, else ``default``."""
    return acting_coordinator() or default


def record_event(
    campaign: Campaign,
    kind: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    **details: Any,
) -> CampaignEvent:
    """Add an event to the session (the caller commits it with the change it describes).

    ``details`` must be JSON-serialisable: datetimes are stored as ISO strings.
    """
    event = CampaignEvent(
        campaign_id=campaign.id,
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
    """The campaign's events, newest first."""
    query = (
        select(CampaignEvent)
        .where(CampaignEvent.campaign_id == campaign.id)
        .order_by(CampaignEvent.happened_at.desc(), CampaignEvent.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()
