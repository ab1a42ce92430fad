"""The survey's reads on its hot path: plain snapshots, read with Core selects.

A page submission reads a link with its campaign's schedule (one row: the
questionnaire and sectors come from a per-process cache, see
``campaign.survey.definition``) and one response.  Loading them as ORM
objects (identity map, instrumented attributes, the large JSON columns) cost
more than everything else the request does, so the page view reads plain
rows into the frozen snapshots below.  They carry the attribute names of the
models, so the rules in ``services`` accept either.  The selects are compiled
once (``PreparedRead``) and run on a DBAPI cursor
(``campaign.database.hot_connection``): SQLAlchemy's execution layer cost
more than SQLite's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select

from campaign.database import PreparedRead
from campaign.extensions import db
from campaign.models import Campaign, CampaignSchedule, KeyFigure, Link, Response
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
    Campaign.sectors_stamp,
)
_LINK_COLUMNS = (Link.id, Link.code, Link.key_figure_id)

#: The link with its campaign, in one statement (built once: no per-request statement
#: construction, and SQLAlchemy's compiled cache always hits).
_VISIT = (
    select(*_LINK_COLUMNS, *_CAMPAIGN_COLUMNS)
    .join(Campaign, Campaign.id == Link.campaign_id)
    .where(Link.code == bindparam("code"))
)
_CAMPAIGN = select(*_CAMPAIGN_COLUMNS).where(Campaign.id == bindparam("id"))
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


#: Prepared statements per (statement, dialect): one dialect per app, and tests make many.
_prepared: dict[tuple[int, int], PreparedRead] = {}


def _prepared_for(statement: Select[Any]) -> PreparedRead:
    dialect = db.engine.dialect
    key = (id(statement), id(dialect))
    prepared = _prepared.get(key)
    if prepared is None or prepared.dialect is not dialect:
        if len(_prepared) > 64:
            _prepared.clear()
        prepared = _prepared[key] = PreparedRead(statement, dialect)
    return prepared


def _rows(statement: Select[Any], values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one of the statements above on ``hot_connection()``, as plain tuples."""
    return _prepared_for(statement).rows(values)


def find_visit(code: str) -> Visit | None:
    """The link with this code and its campaign (with definition), or None."""
    if not code or len(code) > 40:
        return None
    rows = _rows(_VISIT, {"code": code.strip().lower()})
    if not rows:
        return None
    link_id, link_code, key_figure_id, *campaign = rows[0]
    return Visit(link_id, link_code, key_figure_id, _survey_campaign(campaign))


def survey_campaign(campaign_id: int) -> SurveyCampaign:
    """The campaign with this id as the survey rules use it."""
    return _survey_campaign(_rows(_CAMPAIGN, {"id": campaign_id})[0])


def _survey_campaign(columns: Any) -> SurveyCampaign:
    campaign_id, opens_at, closes_at, closed_at, version, questionnaire_hash, sectors_stamp = (
        columns
    )
    definition = definition_for(campaign_id, questionnaire_hash, sectors_stamp)
    return SurveyCampaign(campaign_id, opens_at, closes_at, closed_at, version, definition)


def response_state(campaign_id: int, response_id: Any) -> ResponseState | None:
    """The response with this id in this campaign, or None (also for a malformed id)."""
    if not response_id or not isinstance(response_id, str) or len(response_id) > 32:
        return None
    rows = _rows(_RESPONSE, {"id": response_id, "campaign_id": campaign_id})
    return ResponseState(*rows[0]) if rows else None


def key_figure_sector(link_id: int | None) -> int | None:
    """The sector of the key figure a link credits (None without link or key figure)."""
    if link_id is None:
        return None
    rows = _rows(_KEY_FIGURE_SECTOR, {"link_id": link_id})
    return rows[0][0] if rows else None
