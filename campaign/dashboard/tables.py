"""The dashboard's tables per key figure and per network: who brought answers.

The counts come from ``campaign.attribution`` (``key_figure_activity`` and
``key_figure_opens``, grouped in SQL); this module joins them to the key
figures, filters, sorts and pages in the same query, so a table of 10,000 key
figures costs one grouped query and one page of rows.  ``flask campaign stats``
reads the same rows (``all_key_figure_rows``), so its figures equal the page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select

from campaign import attribution
from campaign.contacts.queries import NO_SECTOR
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Sector
from campaign.tokens import KEY_FIGURE_PAGE, make_token
from campaign.urls import public_url

PER_PAGE = 50

#: Sort keys of the key-figure table (query parameter ``sorteer``) and their Dutch labels.
SORTS = {
    "naam": "Naam",
    "sector": "Sector",
    "netwerk": "Netwerk",
    "geopend": "Geopend",
    "gestart": "Gestart",
    "afgerond": "Afgerond",
    "laatste": "Laatste antwoord",
}
#: Sorts that start with the largest (or latest) value.
DESCENDING_FIRST = {"geopend", "gestart", "afgerond", "laatste"}
#: The ``resultaat`` filter: key figures whose link brought completed answers, or none.
RESULTS = {"met": "met afgeronde antwoorden", "zonder": "nog zonder afgeronde antwoorden"}


@dataclass(frozen=True)
class TableFilter:
    """What the coordinator chose above the key-figure table (all from query parameters)."""

    search: str = ""
    #: A sector code, ``NO_SECTOR`` ("geen") or "" for all.
    sector: str = ""
    #: A network's exact name, or "" for all.
    network: str = ""
    #: "met", "zonder" or "" (see ``RESULTS``).
    result: str = ""
    sort: str = "afgerond"
    descending: bool = True
    page: int = 1

    @property
    def active(self) -> bool:
        return bool(self.search or self.sector or self.network or self.result)


@dataclass(frozen=True)
class KeyFigureRow:
    """One key figure with what came in through their own link and the links forwarded
    from it."""

    id: int
    name: str
    email: str
    organisation: str
    network: str
    sector_code: str | None
    sector_name: str | None
    opted_out: bool
    opened: int
    started: int
    completed: int
    last_completed: datetime | None


def _columns(campaign: Campaign) -> tuple[Select[Any], dict[str, Any]]:
    """The key figures of ``campaign`` joined to their counts, and the sortable columns."""
    activity = attribution.key_figure_activity(campaign)
    opens = attribution.key_figure_opens(campaign)
    sortable = {
        "naam": func.lower(KeyFigure.name),
        "sector": Sector.position,
        "netwerk": func.lower(KeyFigure.network),
        "geopend": func.coalesce(opens.c.opened, 0),
        "gestart": func.coalesce(activity.c.started, 0),
        "afgerond": func.coalesce(activity.c.completed, 0),
        "laatste": activity.c.last_completed,
    }
    query = (
        select(
            KeyFigure.id,
            KeyFigure.name,
            KeyFigure.email,
            KeyFigure.organisation,
            KeyFigure.network,
            Sector.code,
            Sector.name,
            KeyFigure.opted_out_at.is_not(None),
            sortable["geopend"],
            sortable["gestart"],
            sortable["afgerond"],
            activity.c.last_completed,
        )
        .outerjoin(Sector, Sector.id == KeyFigure.sector_id)
        .outerjoin(activity, activity.c.key_figure_id == KeyFigure.id)
        .outerjoin(opens, opens.c.key_figure_id == KeyFigure.id)
        .where(KeyFigure.campaign_id == campaign.id)
    )
    return query, sortable


def _row(values: Any) -> KeyFigureRow:
    (kid, name, email, organisation, network, code, sector_name, opted_out) = values[:8]
    opened, started, completed, last_completed = values[8:]
    return KeyFigureRow(
        id=kid,
        name=name,
        email=email,
        organisation=organisation,
        network=network,
        sector_code=code,
        sector_name=sector_name,
        opted_out=bool(opted_out),
        opened=int(opened),
        started=int(started),
        completed=int(completed),
        last_completed=last_completed,
    )


def all_key_figure_rows(campaign: Campaign) -> list[KeyFigureRow]:
    """Every key figure of the campaign, by e-mail, with its counts."""
    query, _sortable = _columns(campaign)
    return [_row(values) for values in db.session.execute(query.order_by(KeyFigure.email))]


def _conditions(campaign: Campaign, chosen: TableFilter, sortable: dict[str, Any]) -> list[Any]:
    conditions: list[Any] = []
    if chosen.search:
        pattern = f"%{_escape_like(chosen.search.lower())}%"
        conditions.append(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (KeyFigure.name, KeyFigure.email, KeyFigure.organisation)
                )
            )
        )
    if chosen.sector == NO_SECTOR:
        conditions.append(KeyFigure.sector_id.is_(None))
    elif chosen.sector:
        sector = next((s for s in campaign.sectors if s.code == chosen.sector), None)
        conditions.append(KeyFigure.sector_id == (sector.id if sector else -1))
    if chosen.network:
        conditions.append(KeyFigure.network == chosen.network)
    if chosen.result == "met":
        conditions.append(sortable["afgerond"] > 0)
    elif chosen.result == "zonder":
        conditions.append(sortable["afgerond"] == 0)
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class KeyFigureTable:
    """One page of the key-figure table and what the controls above it need."""

    rows: list[KeyFigureRow]
    #: Key figures matching the filter (all pages).
    matching: int
    page: int
    pages: int
    networks: list[str]


def key_figure_table(campaign: Campaign, chosen: TableFilter) -> KeyFigureTable:
    """One page (``PER_PAGE``) of the key figures matching ``chosen``, sorted in SQL."""
    query, sortable = _columns(campaign)
    query = query.where(*_conditions(campaign, chosen, sortable))
    matching = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max((matching + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(chosen.page, 1), pages)
    column = sortable.get(chosen.sort, sortable["afgerond"])
    order = column.desc() if chosen.descending else column.asc()
    rows = db.session.execute(
        query.order_by(order.nulls_last(), func.lower(KeyFigure.name), KeyFigure.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return KeyFigureTable(
        [_row(values) for values in rows], matching, page, pages, networks(campaign)
    )


def networks(campaign: Campaign) -> list[str]:
    """The networks named by the campaign's key figures, alphabetically (for the filter)."""
    query = (
        select(KeyFigure.network)
        .where(KeyFigure.campaign_id == campaign.id, KeyFigure.network != "")
        .group_by(KeyFigure.network)
        .order_by(func.lower(KeyFigure.network))
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class NetworkRow:
    """A network (the key figures' free text; "" for none given) with the sum of its key
    figures' counts."""

    network: str
    key_figures: int
    #: Key figures of this network whose link brought at least one completed answer.
    active: int
    opened: int
    started: int
    completed: int
    last_completed: datetime | None


def network_table(campaign: Campaign) -> list[NetworkRow]:
    """Every network, most completed answers first, summed in one grouped query."""
    activity = attribution.key_figure_activity(campaign)
    opens = attribution.key_figure_opens(campaign)
    completed = func.coalesce(activity.c.completed, 0)
    query = (
        select(
            KeyFigure.network,
            func.count(KeyFigure.id),
            func.count(case((activity.c.completed > 0, 1))),
            func.coalesce(func.sum(opens.c.opened), 0),
            func.coalesce(func.sum(activity.c.started), 0),
            func.coalesce(func.sum(completed), 0),
            func.max(activity.c.last_completed),
        )
        .outerjoin(activity, activity.c.key_figure_id == KeyFigure.id)
        .outerjoin(opens, opens.c.key_figure_id == KeyFigure.id)
        .where(KeyFigure.campaign_id == campaign.id)
        .group_by(KeyFigure.network)
        .order_by(func.coalesce(func.sum(completed), 0).desc(), func.lower(KeyFigure.network))
    )
    return [
        NetworkRow(
            network=network,
            key_figures=int(key_figures),
            active=int(active),
            opened=int(opened),
            started=int(started),
            completed=int(completed),
            last_completed=last,
        )
        for network, key_figures, active, opened, started, completed, last in db.session.execute(
            query
        )
    ]


def key_figure_page_url(key_figure_id: int) -> str:
    """The key figure's own public page (``/k/<token>``), from the id alone: the same token
    as ``mailing.services.key_figure_page_url``, for the table's rows (not ORM objects)."""
    return public_url("mailing.key_figure", token=make_token(KEY_FIGURE_PAGE, {"k": key_figure_id}))
