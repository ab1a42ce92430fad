"""The dashboard's tables per key figure and per network: who brought answers.

The counts come from ``campaign.attribution`` (``credited_query`` per key figure
and ``opens_by_key_figure_query``: kept counts plus what is not kept yet);
this module joins them to the key figures in SQL, where the table is filtered,
sorted and cut to one page, and the networks are summed: a request reads one
page of rows and one row per network, however many key figures and answers
there are.  ``flask campaign stats`` reads every key figure through the same
query (``all_key_figure_rows``), so its figures equal the page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, case, func, or_, select

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
    #: The partner organisation the key figure belongs to.
    partner: str = ""


def _rows(campaign: Campaign, partner: str | None = None) -> Subquery:
    """Every key figure of the campaign (only ``partner``'s when given) with its counts:
    the fields of ``KeyFigureRow`` and the sector's ``position``."""
    activity = attribution.credited_query(campaign.id, attribution.KEY_FIGURE)
    opens = attribution.opens_by_key_figure_query(campaign.id)
    query = (
        select(
            KeyFigure.id.label("id"),
            KeyFigure.name.label("name"),
            KeyFigure.email.label("email"),
            KeyFigure.organisation.label("organisation"),
            KeyFigure.network.label("network"),
            Sector.code.label("sector_code"),
            Sector.name.label("sector_name"),
            Sector.position.label("position"),
            KeyFigure.opted_out_at.label("opted_out_at"),
            func.coalesce(opens.c.opened, 0).label("opened"),
            func.coalesce(activity.c.started, 0).label("started"),
            func.coalesce(activity.c.completed, 0).label("completed"),
            activity.c.last_completed.label("last_completed"),
            KeyFigure.partner.label("partner"),
        )
        .outerjoin(Sector, Sector.id == KeyFigure.sector_id)
        .outerjoin(activity, activity.c.key == KeyFigure.id)
        .outerjoin(opens, opens.c.key_figure_id == KeyFigure.id)
        .where(KeyFigure.campaign_id == campaign.id)
    )
    if partner:
        query = query.where(KeyFigure.partner == partner)
    return query.subquery("key_figure_rows")


def _row(values: Any) -> KeyFigureRow:
    found = values._mapping
    return KeyFigureRow(
        id=found["id"],
        name=found["name"],
        email=found["email"],
        organisation=found["organisation"],
        network=found["network"],
        sector_code=found["sector_code"],
        sector_name=found["sector_name"],
        opted_out=found["opted_out_at"] is not None,
        opened=int(found["opened"]),
        started=int(found["started"]),
        completed=int(found["completed"]),
        last_completed=attribution.aware(found["last_completed"]),
        partner=found["partner"],
    )


def all_key_figure_rows(campaign: Campaign) -> list[KeyFigureRow]:
    """Every key figure of the campaign, by e-mail, with its counts."""
    rows = _rows(campaign)
    return [_row(values) for values in db.session.execute(select(rows).order_by(rows.c.email))]


def _conditions(rows: Subquery, chosen: TableFilter) -> list[Any]:
    """What ``chosen`` asks of the rows of ``_rows``."""
    conditions: list[Any] = []
    if chosen.search:
        needle = chosen.search.lower()
        texts = (rows.c.name, rows.c.email, rows.c.organisation)
        conditions.append(
            or_(*(func.lower(text).contains(needle, autoescape=True) for text in texts))
        )
    if chosen.sector == NO_SECTOR:
        conditions.append(rows.c.sector_code.is_(None))
    elif chosen.sector:
        conditions.append(rows.c.sector_code == chosen.sector)
    if chosen.network:
        conditions.append(rows.c.network == chosen.network)
    if chosen.result == "met":
        conditions.append(rows.c.completed > 0)
    elif chosen.result == "zonder":
        conditions.append(rows.c.completed == 0)
    return conditions


def _text_order(column: Any) -> Any:
    """``column`` lower-cased, compared by code point (the order of Python's ``str``)
    rather than by the database's locale."""
    lowered = func.lower(column)
    return lowered.collate("C") if db.session.get_bind().dialect.name == "postgresql" else lowered


def _order(rows: Subquery, campaign: Campaign, chosen: TableFilter) -> list[Any]:
    """The ORDER BY of ``chosen``'s sort; ties by name (then id) ascending."""
    keys = {
        "naam": _text_order(rows.c.name),
        # A key figure without a sector after the campaign's sectors.
        "sector": func.coalesce(rows.c.position, len(campaign.sectors)),
        "netwerk": _text_order(rows.c.network),
        "geopend": rows.c.opened,
        "gestart": rows.c.started,
        "afgerond": rows.c.completed,
        "laatste": rows.c.last_completed,
    }
    key = keys.get(chosen.sort, keys["afgerond"])
    # No completion at all sorts as the earliest one.
    first = key.desc().nulls_last() if chosen.descending else key.asc().nulls_first()
    return [first, _text_order(rows.c.name), rows.c.id]


@dataclass(frozen=True)
class KeyFigureTable:
    """One page of the key-figure table and what the controls above it need."""

    rows: list[KeyFigureRow]
    #: Key figures matching the filter (all pages).
    matching: int
    page: int
    pages: int
    networks: list[str]


def key_figure_table(
    campaign: Campaign, chosen: TableFilter, partner: str | None = None
) -> KeyFigureTable:
    """One page (``PER_PAGE``) of the key figures matching ``chosen`` (only ``partner``'s
    when given), filtered, sorted and cut in the database."""
    rows = _rows(campaign, partner)
    conditions = _conditions(rows, chosen)
    # The number matching rides along on each row (a window over all of them), so the
    # counts are grouped once; past the last page, once more for the last page.
    page = max(chosen.page, 1)
    found, matching = _page(rows, conditions, _order(rows, campaign, chosen), page)
    pages = max((matching + PER_PAGE - 1) // PER_PAGE, 1)
    if page > pages:
        page = pages
        found, matching = _page(rows, conditions, _order(rows, campaign, chosen), page)
    names = (
        select(KeyFigure.network)
        .distinct()
        .where(KeyFigure.campaign_id == campaign.id, KeyFigure.network != "")
    )
    if partner:
        names = names.where(KeyFigure.partner == partner)
    return KeyFigureTable(
        rows=found,
        matching=matching,
        page=page,
        pages=pages,
        networks=sorted(db.session.scalars(names), key=str.lower),
    )


def _page(
    rows: Subquery, conditions: list[Any], order: list[Any], page: int
) -> tuple[list[KeyFigureRow], int]:
    """Page ``page`` of the rows matching ``conditions``, and how many match (0 when the
    page is past the last one)."""
    query = (
        select(rows, func.count().over().label("matching"))
        .where(*conditions)
        .order_by(*order)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    found = db.session.execute(query).all()
    if not found:
        return [], 0 if page == 1 else _count(rows, conditions)
    return [_row(values) for values in found], int(found[0].matching)


def _count(rows: Subquery, conditions: list[Any]) -> int:
    return int(db.session.scalar(select(func.count()).select_from(rows).where(*conditions)) or 0)


@dataclass
class NetworkRow:
    """A network (the key figures' free text; "" for none given) with the sum of its key
    figures' counts."""

    network: str
    key_figures: int = 0
    #: Key figures of this network whose link brought at least one completed answer.
    active: int = 0
    opened: int = 0
    started: int = 0
    completed: int = 0
    last_completed: datetime | None = None


def network_table(campaign: Campaign, partner: str | None = None) -> list[NetworkRow]:
    """Every network of the campaign's key figures (only ``partner``'s when given) with
    their counts summed in the database, most completed first."""
    rows = _rows(campaign, partner)
    query = select(
        rows.c.network,
        func.count(),
        func.sum(case((rows.c.completed > 0, 1), else_=0)),
        func.sum(rows.c.opened),
        func.sum(rows.c.started),
        func.sum(rows.c.completed),
        func.max(rows.c.last_completed),
    ).group_by(rows.c.network)
    networks = [
        NetworkRow(
            network,
            int(key_figures),
            int(active),
            int(opened),
            int(started),
            int(completed),
            attribution.aware(last),
        )
        for network, key_figures, active, opened, started, completed, last in db.session.execute(
            query
        )
    ]
    return sorted(networks, key=lambda n: (-n.completed, n.network.lower()))


def key_figure_page_url(key_figure_id: int) -> str:
    """The key figure's own public page (``/k/<token>``), from the id alone: the same token
    as ``mailing.services.key_figure_page_url``, for the table's rows (not ORM objects)."""
    return public_url("mailing.key_figure", token=make_token(KEY_FIGURE_PAGE, {"k": key_figure_id}))
