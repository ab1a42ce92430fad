"""Figures about a campaign, computed from the database in a few grouped queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link, Message, MessageStatus, Response, Sector


@dataclass
class SectorFigures:
    code: str
    name: str
    target: int
    key_figures: int
    started: int
    completed: int

    @property
    def progress(self) -> float:
        """Completed as a share of the target (0..1+), 0 when there is no target."""
        return self.completed / self.target if self.target else 0.0


def sector_figures(campaign: Campaign) -> list[SectorFigures]:
    """Key figures, started and completed responses per sector, in file order."""
    key_figures = _count_by(KeyFigure.sector_id, KeyFigure.campaign_id == campaign.id)
    started = _count_by(Response.sector_id, Response.campaign_id == campaign.id)
    completed = _count_by(
        Response.sector_id, Response.campaign_id == campaign.id, Response.completed_at.is_not(None)
    )
    return [
        SectorFigures(
            code=sector.code,
            name=sector.name,
            target=sector.target,
            key_figures=key_figures.get(sector.id, 0),
            started=started.get(sector.id, 0),
            completed=completed.get(sector.id, 0),
        )
        for sector in campaign.sectors
    ]


def _count_by(column: Any, *conditions: Any) -> dict[Any, int]:
    rows = db.session.execute(select(column, func.count()).where(*conditions).group_by(column))
    return {key: count for key, count in rows}


def count_responses(campaign: Campaign, completed: bool | None = None) -> int:
    query = select(func.count()).select_from(Response).where(Response.campaign_id == campaign.id)
    if completed is not None:
        query = query.where(
            Response.completed_at.is_not(None) if completed else Response.completed_at.is_(None)
        )
    return db.session.scalar(query) or 0


def count_invited(campaign: Campaign) -> int:
    """Key figures who were sent an invitation."""
    query = (
        select(func.count(func.distinct(Message.recipient_email)))
        .where(Message.campaign_id == campaign.id)
        .where(Message.kind == "invitation", Message.status == MessageStatus.SENT)
    )
    return db.session.scalar(query) or 0


def completed_by_key_figure(campaign: Campaign) -> list[tuple[KeyFigure, int]]:
    """Every key figure with the completed responses credited to them (through any forward)."""
    completed = (
        select(Link.key_figure_id, func.count(Response.id).label("completed"))
        .join(Response, Response.link_id == Link.id)
        .where(Link.campaign_id == campaign.id, Response.completed_at.is_not(None))
        .group_by(Link.key_figure_id)
        .subquery()
    )
    query = (
        select(KeyFigure, func.coalesce(completed.c.completed, 0))
        .outerjoin(completed, completed.c.key_figure_id == KeyFigure.id)
        .where(KeyFigure.campaign_id == campaign.id)
        .order_by(KeyFigure.email)
    )
    return [(key_figure, count) for key_figure, count in db.session.execute(query)]


def campaign_stats(campaign: Campaign) -> dict[str, Any]:
    """The object ``flask campaign stats --json`` prints (see DESIGN.md, Interfaces)."""
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "state": str(campaign.state()),
        "invited": count_invited(campaign),
        "started": count_responses(campaign),
        "completed": count_responses(campaign, completed=True),
        "sectors": [
            {
                "code": s.code,
                "name": s.name,
                "target": s.target,
                "completed": s.completed,
                "started": s.started,
                "key_figures": s.key_figures,
            }
            for s in sector_figures(campaign)
        ],
        "key_figures": [
            {
                "email": kf.email,
                "name": kf.name,
                "completed": count,
                "sector": kf.sector.code if kf.sector else None,
                "opted_out": kf.opted_out,
            }
            for kf, count in completed_by_key_figure(campaign)
        ],
    }


def sector_by_id(sector_id: int) -> Sector | None:
    return db.session.get(Sector, sector_id)
