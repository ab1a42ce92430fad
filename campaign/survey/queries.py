"""The survey's reads on its hot path: plain snapshots, read with Core selects.

A page submission reads a link, its campaign's schedule, the campaign's
sectors and one response.  Loading them as ORM objects (identity map,
instrumented attributes, the large JSON columns) cost more than everything
else the request does, so the page view reads plain rows into the frozen
snapshots below.  They carry the attribute names of the models, so the rules
in ``services`` accept either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select

from campaign.extensions import db
from campaign.models import Campaign, CampaignSchedule, KeyFigure, Link, Response, Sector
from campaign.survey.definition import Definition, SectorOption, definition_for


@dataclass(frozen=True)
class SurveyCampaign(CampaignSchedule):
    """What the survey needs of a campaign on every request: its schedule and definition."""

    id: int
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    questionnaire_version: int
    definition: Definition

    @property
    def questionnaire(self) -> dict[str, Any]:
        return self.definition.questionnaire

    @property
    def sectors(self) -> tuple[SectorOption, ...]:
        return self.definition.sectors


@dataclass(frozen=True)
class Visit:
    """A survey link as opened: the link's own columns and its campaign."""

    link_id: int
    code: str
    key_figure_id: int | None
    campaign: SurveyCampaign


@dataclass(frozen=True)
class ResponseState:
    """A response as read at the start of a request (the write checks ``updated_at``)."""

    id: str
    campaign_id: int
    link_id: int | None
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    last_page: int
    answers: dict[str, Any]


_CAMPAIGN_COLUMNS = (
    Campaign.id,
    Campaign.opens_at,
    Campaign.closes_at,
    Campaign.closed_at,
    Campaign.questionnaire_version,
    Campaign.questionnaire_hash,
)
_SECTOR_COLUMNS = (Sector.id, Sector.code, Sector.name, Sector.examples)
_LINK_COLUMNS = (Link.id, Link.code, Link.key_figure_id)


def _with_sectors(query: Select[Any]) -> Select[Any]:
    """One row per sector (or one row when there are none), in display order."""
    return query.outerjoin(Sector, Sector.campaign_id == Campaign.id).order_by(Sector.position)


#: The link with its campaign and sectors, in one statement (built once: no per-request
#: statement construction, and SQLAlchemy's compiled cache always hits).
_VISIT = _with_sectors(
    select(*_LINK_COLUMNS, *_CAMPAIGN_COLUMNS, *_SECTOR_COLUMNS)
    .join(Campaign, Campaign.id == Link.campaign_id)
    .where(Link.code == bindparam("code"))
)
_CAMPAIGN = _with_sectors(
    select(*_CAMPAIGN_COLUMNS, *_SECTOR_COLUMNS).where(Campaign.id == bindparam("id"))
)
_RESPONSE = select(
    Response.id,
    Response.campaign_id,
    Response.link_id,
    Response.started_at,
    Response.updated_at,
    Response.completed_at,
    Response.last_page,
    Response.answers,
).where(Response.id == bindparam("id"), Response.campaign_id == bindparam("campaign_id"))
_KEY_FIGURE_SECTOR = (
    select(KeyFigure.sector_id)
    .join(Link, Link.key_figure_id == KeyFigure.id)
    .where(Link.id == bindparam("link_id"))
)


def find_visit(code: str) -> Visit | None:
    """The link with this code and its campaign (with definition), or None."""
    if not code or len(code) > 40:
        return None
    rows = db.session.connection().execute(_VISIT, {"code": code.strip().lower()}).all()
    if not rows:
        return None
    link_id, link_code, key_figure_id = rows[0][:3]
    return Visit(link_id, link_code, key_figure_id, _survey_campaign([row[3:] for row in rows]))


def survey_campaign(campaign_id: int) -> SurveyCampaign:
    """The campaign with this id as the survey rules use it."""
    rows = db.session.connection().execute(_CAMPAIGN, {"id": campaign_id}).all()
    return _survey_campaign(rows)


def _survey_campaign(rows: list[Any]) -> SurveyCampaign:
    campaign_id, opens_at, closes_at, closed_at, version, questionnaire_hash = rows[0][:6]
    sectors = tuple(
        SectorOption(row[6], row[7], row[8], tuple(row[9] or ()))
        for row in rows
        if row[6] is not None
    )
    definition = definition_for(campaign_id, questionnaire_hash, sectors)
    return SurveyCampaign(campaign_id, opens_at, closes_at, closed_at, version, definition)


def response_state(campaign_id: int, response_id: Any) -> ResponseState | None:
    """The response with this id in this campaign, or None (also for a malformed id)."""
    if not response_id or not isinstance(response_id, str) or len(response_id) > 32:
        return None
    row = (
        db.session.connection()
        .execute(_RESPONSE, {"id": response_id, "campaign_id": campaign_id})
        .first()
    )
    return ResponseState(*row) if row is not None else None


def key_figure_sector(link_id: int | None) -> int | None:
    """The sector of the key figure a link credits (None without link or key figure)."""
    if link_id is None:
        return None
    return db.session.connection().execute(_KEY_FIGURE_SECTOR, {"link_id": link_id}).scalar()
