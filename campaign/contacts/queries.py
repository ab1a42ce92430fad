"""Reading key figures: the searchable, paginated list and counts per sector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link
from campaign.urls import public_url

PER_PAGE = 50
#: Sector filter value for key figures without a sector.
NO_SECTOR = "geen"


@dataclass(frozen=True)
class ListFilter:
    """What the coordinator typed and chose above the list."""

    search: str = ""
    #: A sector code, NO_SECTOR, or "" for all.
    sector: str = ""
    #: "actief", "afgemeld" or "" for all.
    status: str = ""
    page: int = 1
    #: Only this partner organisation's key figures (an account limited to a partner).
    partner: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.search or self.sector or self.status)


def all_key_figures(campaign: Campaign) -> list[KeyFigure]:
    query = (
        select(KeyFigure)
        .where(KeyFigure.campaign_id == campaign.id)
        .options(selectinload(KeyFigure.sector))
        .order_by(KeyFigure.email)
    )
    return list(db.session.scalars(query))


def _conditions(campaign: Campaign, chosen: ListFilter) -> list[Any]:
    conditions: list[Any] = [KeyFigure.campaign_id == campaign.id]
    if chosen.partner:
        conditions.append(KeyFigure.partner == chosen.partner)
    if chosen.search:
        pattern = f"%{_escape_like(chosen.search.strip().lower())}%"
        conditions.append(
            or_(
                func.lower(KeyFigure.name).like(pattern, escape="\\"),
                KeyFigure.email.like(pattern, escape="\\"),
                func.lower(KeyFigure.organisation).like(pattern, escape="\\"),
            )
        )
    if chosen.sector == NO_SECTOR:
        conditions.append(KeyFigure.sector_id.is_(None))
    elif chosen.sector:
        sector = next((s for s in campaign.sectors if s.code == chosen.sector), None)
        conditions.append(KeyFigure.sector_id == (sector.id if sector else -1))
    if chosen.status == "afgemeld":
        conditions.append(KeyFigure.opted_out_at.is_not(None))
    elif chosen.status == "actief":
        conditions.append(KeyFigure.opted_out_at.is_(None))
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_key_figures(campaign: Campaign, chosen: ListFilter) -> Pagination:
    """One page (PER_PAGE) of the campaign's key figures matching the filter, by name."""
    query = (
        select(KeyFigure)
        .where(*_conditions(campaign, chosen))
        .options(selectinload(KeyFigure.sector))
        .order_by(func.lower(KeyFigure.name), KeyFigure.id)
    )
    return db.paginate(query, page=max(chosen.page, 1), per_page=PER_PAGE, error_out=False)


@dataclass(frozen=True)
class SectorCount:
    code: str
    name: str
    count: int


def key_figures_by_sector(campaign: Campaign) -> dict[int | None, int]:
    """How many key figures each sector id has (``None``: no sector); empty sectors absent."""
    rows = db.session.execute(
        select(KeyFigure.sector_id, func.count())
        .where(KeyFigure.campaign_id == campaign.id)
        .group_by(KeyFigure.sector_id)
    )
    return {sector_id: count for sector_id, count in rows}


def sector_counts(campaign: Campaign) -> tuple[list[SectorCount], dict[str, int]]:
    """Key figures per sector (file order, then "no sector" if any) and overall totals."""
    by_sector = key_figures_by_sector(campaign)
    counts = [SectorCount(s.code, s.name, by_sector.get(s.id, 0)) for s in campaign.sectors]
    if by_sector.get(None):
        counts.append(SectorCount(NO_SECTOR, "Geen sector", by_sector[None]))
    opted_out = db.session.scalar(
        select(func.count()).where(
            KeyFigure.campaign_id == campaign.id, KeyFigure.opted_out_at.is_not(None)
        )
    )
    totals = {"all": sum(by_sector.values()), "opted_out": opted_out or 0}
    return counts, totals


@dataclass
class Listing:
    """Everything the key-figure list page shows."""

    page: Pagination
    sectors: list[SectorCount]
    total: int
    opted_out: int


def key_figure_listing(campaign: Campaign, chosen: ListFilter) -> Listing:
    counts, totals = sector_counts(campaign)
    return Listing(
        page=search_key_figures(campaign, chosen),
        sectors=counts,
        total=totals["all"],
        opted_out=totals["opted_out"],
    )


def root_link_url(key_figure: KeyFigure) -> str | None:
    """The public address of the key figure's own survey link, if it has one."""
    code = db.session.scalar(
        select(Link.code).where(Link.key_figure_id == key_figure.id, Link.parent_id.is_(None))
    )
    return public_url("survey.welcome", code=code) if code else None
