"""Figures about a campaign for the coordinator's pages and ``flask campaign stats``.

Every count of responses and openings, and who gets credit for them, comes
from ``campaign.attribution``; this module only puts those counts beside the
key figures and the outbox.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select

from campaign import attribution, clock
from campaign.contacts.queries import key_figures_by_sector
from campaign.dashboard.tables import KeyFigureRow, all_key_figure_rows
from campaign.definitions.services import draw_performed
from campaign.extensions import db
from campaign.models import (
    Campaign,
    CampaignEvent,
    CampaignState,
    Message,
    MessageStatus,
)
from campaign.survey.services import grace_period


@dataclass(frozen=True)
class SectorFigures(attribution.SectorProgress):
    """A sector's progress (see ``attribution.SectorProgress``) and its key figures."""

    key_figures: int = 0

    @property
    def progress(self) -> float:
        """Completed as a share of the target (0..1+), 0 when there is no target."""
        return self.completed / self.target if self.target else 0.0

    @property
    def percent(self) -> int:
        """Completed as a whole percentage of the target (the chart's and the table's)."""
        return round(100 * self.completed / self.target) if self.target else 0


def sector_figures(
    campaign: Campaign,
    now: datetime | None = None,
    counts: Mapping[int | None, attribution.Counts] | None = None,
    key_figures: Mapping[int | None, int] | None = None,
) -> list[SectorFigures]:
    """Key figures, started and completed responses and the projection per sector,
    in file order (``counts`` and ``key_figures``: ``attribution.counts_by_sector`` and
    ``key_figures_by_sector`` when the caller read them already)."""
    key_figures = key_figures_by_sector(campaign) if key_figures is None else key_figures
    return [
        SectorFigures(**asdict(progress), key_figures=key_figures.get(progress.sector_id, 0))
        for progress in attribution.sector_progress(campaign, now, counts)
    ]


@dataclass(frozen=True)
class Unassigned:
    """Key figures without a sector, and responses whose sector is unknown."""

    key_figures: int
    started: int
    completed: int


def unassigned(
    campaign: Campaign,
    counts: Mapping[int | None, attribution.Counts] | None = None,
    key_figures: Mapping[int | None, int] | None = None,
) -> Unassigned | None:
    """What has no sector (so that it is still counted and shown); None when nothing
    (``counts``, ``key_figures``: as for ``sector_figures``)."""
    key_figures = key_figures_by_sector(campaign) if key_figures is None else key_figures
    counts = attribution.counts_by_sector(campaign) if counts is None else counts
    no_key_figures = key_figures.get(None, 0)
    no_sector = counts.get(None, attribution.Counts())
    if not (no_key_figures or no_sector.started):
        return None
    return Unassigned(no_key_figures, no_sector.started, no_sector.completed)


@dataclass(frozen=True)
class Overview:
    """What a campaign's overview page shows."""

    sectors: list[SectorFigures]
    totals: attribution.Counts


def overview(campaign: Campaign, now: datetime | None = None) -> Overview:
    return Overview(sector_figures(campaign, now), attribution.response_totals(campaign))


#: Invitations that went (or are going) to the outbox: not cancelled ones.
_INVITED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.FAILED)


def count_invited(campaign: Campaign) -> tuple[int, int]:
    """(invited, delivered) key figures, as distinct addresses the outbox knows.

    Invited: an invitation was queued for them and not cancelled.  Delivered: an
    invitation was sent, that is accepted by the mail server without a failure; there is
    no bounce processing, so an address that bounces later still counts as delivered.
    """
    address = func.distinct(Message.recipient_email)
    sent = func.distinct(case((Message.status == MessageStatus.SENT, Message.recipient_email)))
    query = (
        select(func.count(address), func.count(sent))
        .where(Message.campaign_id == campaign.id)
        .where(Message.kind == "invitation", Message.status.in_(_INVITED))
    )
    invited, delivered = db.session.execute(query).one()
    return int(invited or 0), int(delivered or 0)


def funnel(campaign: Campaign, totals: attribution.Counts | None = None) -> dict[str, int]:
    """Invited and delivered key figures (see ``count_invited``), openings of the survey
    through any link, started and completed responses (``totals``: the response totals
    when the caller read them already)."""
    invited, delivered = count_invited(campaign)
    totals = attribution.response_totals(campaign) if totals is None else totals
    return {
        "invited": invited,
        "delivered": delivered,
        "opened": attribution.total_opens(campaign),
        "started": totals.started,
        "completed": totals.completed,
    }


def campaign_stats(campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """The object ``flask campaign stats --json`` prints (see DESIGN.md, Interfaces): the
    same figures, from the same queries, as the dashboard page."""
    now = now or clock.now()
    counts = attribution.counts_by_sector(campaign)
    key_figures = key_figures_by_sector(campaign)
    steps = funnel(campaign, attribution.totals_of(counts))
    rest = unassigned(campaign, counts, key_figures)
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "state": str(campaign.state(now)),
        "invited": steps["invited"],
        "started": steps["started"],
        "completed": steps["completed"],
        "funnel": steps,
        "sectors": [_sector_json(s) for s in sector_figures(campaign, now, counts, key_figures)],
        "no_sector": asdict(rest) if rest else None,
        "key_figures": [_key_figure_json(k) for k in all_key_figure_rows(campaign)],
    }


def _sector_json(sector: SectorFigures) -> dict[str, Any]:
    return {
        "code": sector.code,
        "name": sector.name,
        "target": sector.target,
        "completed": sector.completed,
        "projected": one_decimal(sector.projected),
        "on_track": sector.on_track,
        "expected": one_decimal(sector.expected),
        "started": sector.started,
        "key_figures": sector.key_figures,
    }


def one_decimal(value: float) -> float:
    """A projection as printed: rounded down, so that a projection equal to the (whole)
    target never stands beside "on_track": false."""
    return math.floor(value * 10) / 10


def _key_figure_json(row: KeyFigureRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "name": row.name,
        "opened": row.opened,
        "started": row.started,
        "completed": row.completed,
        "last_completed": row.last_completed.isoformat() if row.last_completed else None,
        "sector": row.sector_code,
        "network": row.network,
        "opted_out": row.opted_out,
    }


# --- the close: what the "Sluiting" card and its confirm step show ----------------------

#: The events of the close's history, with their Dutch label.
CLOSE_EVENTS = {
    "closed": "Afgesloten",
    "close_moved": "Sluitdatum gewijzigd",
    "reopened": "Heropend",
}

#: How the actors that are not a coordinator read on the page.
ACTOR_LABELS = {
    "planner": "de planner (automatisch)",
    "opdrachtregel": "opdrachtregel (flask campaign close)",
    "campagnebestand": "het campagnebestand",
}


@dataclass(frozen=True)
class CloseChange:
    """One line of the close's history: who, when, and the close before and after."""

    at: datetime
    what: str
    who: str
    old: datetime | None
    new: datetime | None


def close_history(campaign: Campaign, limit: int = 50) -> list[CloseChange]:
    """Closes, moved close dates and reopenings, newest first."""
    query = (
        select(CampaignEvent)
        .where(CampaignEvent.campaign_id == campaign.id)
        .where(CampaignEvent.kind.in_(list(CLOSE_EVENTS)))
        .order_by(CampaignEvent.happened_at.desc(), CampaignEvent.id.desc())
        .limit(limit)
    )
    return [
        CloseChange(
            at=event.happened_at,
            what=CLOSE_EVENTS[event.kind],
            who=ACTOR_LABELS.get(event.actor, event.actor),
            old=_moment(event.details.get("old")),
            # The planner's own close records the planned time as ``at``.
            new=_moment(event.details.get("new") or event.details.get("at")),
        )
        for event in db.session.scalars(query)
    ]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Closing:
    """The survey's close as the dashboard shows it."""

    state: CampaignState
    #: When the survey stopped (or will stop) taking new respondents.
    close: datetime
    #: Closed by hand (or by the command line) before the planned time.
    closed_early: bool
    #: Responses started and not (yet) completed: they get the grace period after a close.
    in_progress: int
    grace_minutes: int
    #: The moment a response in progress can no longer be submitted, for the close ``close``.
    grace_ends: datetime
    #: False once the draw was made: a closed survey then stays closed.
    can_reopen: bool
    history: list[CloseChange]


def closing(
    campaign: Campaign, now: datetime | None = None, totals: attribution.Counts | None = None
) -> Closing:
    """What the "Sluiting" card shows; ``now`` also stands for the close of "Nu afsluiten"
    while the survey is open (the confirm step says until when the grace period runs)."""
    now = now or clock.now()
    state = campaign.state(now)
    close = campaign.effective_close if state == CampaignState.CLOSED else now
    totals = attribution.response_totals(campaign) if totals is None else totals
    grace = grace_period()
    return Closing(
        state=state,
        close=campaign.effective_close,
        closed_early=campaign.closed_at is not None and campaign.closed_at < campaign.closes_at,
        in_progress=max(totals.started - totals.completed, 0),
        grace_minutes=int(grace.total_seconds() // 60),
        grace_ends=close + grace,
        can_reopen=not draw_performed(campaign),
        history=close_history(campaign),
    )
