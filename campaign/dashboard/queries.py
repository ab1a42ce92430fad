"""Figures about a campaign for the coordinator's pages and ``flask campaign stats``.

Every count of responses and openings, and who gets credit for them, comes
from ``campaign.attribution``; this module only puts those counts beside the
key figures and the outbox.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from campaign import attribution, clock
from campaign.contacts.queries import key_figures_by_sector
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Message, MessageStatus


@dataclass(frozen=True)
class SectorFigures(attribution.SectorProgress):
    """A sector's progress (see ``attribution.SectorProgress``) and its key figures."""

    key_figures: int = 0

    @property
    def progress(self) -> float:
        """Completed as a share of the target (0..1+), 0 when there is no target."""
        return self.completed / self.target if self.target else 0.0


def sector_figures(campaign: Campaign, now: datetime | None = None) -> list[SectorFigures]:
    """Key figures, started and completed responses and the projection per sector,
    in file order."""
    key_figures = key_figures_by_sector(campaign)
    return [
        SectorFigures(**asdict(progress), key_figures=key_figures.get(progress.sector_id, 0))
        for progress in attribution.sector_progress(campaign, now)
    ]


@dataclass(frozen=True)
class Overview:
    """What a campaign's overview page shows."""

    sectors: list[SectorFigures]
    totals: attribution.Counts


def overview(campaign: Campaign, now: datetime | None = None) -> Overview:
    return Overview(sector_figures(campaign, now), attribution.response_totals(campaign))


def count_invited(campaign: Campaign) -> int:
    """Key figures who were sent an invitation (distinct addresses, as the outbox knows them).

    Also the funnel's "delivered" for now: there is no bounce processing yet, so
    every sent invitation counts as delivered.
    """
    query = (
        select(func.count(func.distinct(Message.recipient_email)))
        .where(Message.campaign_id == campaign.id)
        .where(Message.kind == "invitation", Message.status == MessageStatus.SENT)
    )
    return db.session.scalar(query) or 0


@dataclass(frozen=True)
class KeyFigureFigures:
    """One key figure with what came in through their link and its forwards."""

    key_figure: KeyFigure
    opened: int
    started: int
    completed: int


def key_figure_figures(campaign: Campaign) -> list[KeyFigureFigures]:
    """Every key figure of the campaign, by e-mail, with openings and responses credited."""
    counts = attribution.counts_by_key_figure(campaign)
    opens = attribution.opens_by_key_figure(campaign)
    query = (
        select(KeyFigure)
        .where(KeyFigure.campaign_id == campaign.id)
        .options(selectinload(KeyFigure.sector))
        .order_by(KeyFigure.email)
    )
    figures = []
    for key_figure in db.session.scalars(query):
        credited = counts.get(key_figure.id, attribution.Counts())
        figures.append(
            KeyFigureFigures(
                key_figure, opens.get(key_figure.id, 0), credited.started, credited.completed
            )
        )
    return figures


def funnel(campaign: Campaign) -> dict[str, int]:
    """Invited and delivered key figures (see ``count_invited``: the same number for now),
    openings of the survey through any link, started and completed responses."""
    invited = count_invited(campaign)
    totals = attribution.response_totals(campaign)
    return {
        "invited": invited,
        "delivered": invited,
        "opened": attribution.total_opens(campaign),
        "started": totals.started,
        "completed": totals.completed,
    }


def campaign_stats(campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """The object ``flask campaign stats --json`` prints (see DESIGN.md, Interfaces)."""
    now = now or clock.now()
    steps = funnel(campaign)
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "state": str(campaign.state(now)),
        "invited": steps["invited"],
        "started": steps["started"],
        "completed": steps["completed"],
        "funnel": steps,
        "sectors": [_sector_json(s) for s in sector_figures(campaign, now)],
        "key_figures": [_key_figure_json(k) for k in key_figure_figures(campaign)],
    }


def _sector_json(sector: SectorFigures) -> dict[str, Any]:
    return {
        "code": sector.code,
        "name": sector.name,
        "target": sector.target,
        "completed": sector.completed,
        "projected": _one_decimal(sector.projected),
        "on_track": sector.on_track,
        "expected": _one_decimal(sector.expected),
        "started": sector.started,
        "key_figures": sector.key_figures,
    }


def _one_decimal(value: float) -> float:
    # Rounded down, so that a printed projection equal to the (whole) target never
    # stands beside "on_track": false.
    return math.floor(value * 10) / 10


def _key_figure_json(figures: KeyFigureFigures) -> dict[str, Any]:
    key_figure = figures.key_figure
    return {
        "email": key_figure.email,
        "name": key_figure.name,
        "opened": figures.opened,
        "started": figures.started,
        "completed": figures.completed,
        "sector": key_figure.sector.code if key_figure.sector else None,
        "opted_out": key_figure.opted_out,
    }
