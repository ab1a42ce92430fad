"""The dashboard's tables per key figure and per network: who brought answers.

The counts come from ``campaign.attribution`` (``activity_by_key_figure`` and
``opens_by_key_figure``, grouped in SQL, once per request); this module puts
them beside the key figures (one row each) and filters, sorts, pages and sums
per network over those rows.  ``flask campaign stats`` reads the same rows
(``all_key_figure_rows``), so its figures equal the page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

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


def all_key_figure_rows(campaign: Campaign) -> list[KeyFigureRow]:
    """Every key figure of the campaign, by e-mail, with its counts.

    The counts are grouped in SQL once (``activity_by_key_figure``, ``opens_by_key_figure``)
    and put beside the key figures here: the table's filters, sorts and network sums then
    work on these rows (one per key figure, however many responses there are) instead of
    grouping the responses again for each of them.
    """
    activity = attribution.activity_by_key_figure(campaign)
    opens = attribution.opens_by_key_figure(campaign)
    query = (
        select(
            KeyFigure.id,
            KeyFigure.name,
            KeyFigure.email,
            KeyFigure.organisation,
            KeyFigure.network,
            Sector.code,
            Sector.name,
            KeyFigure.opted_out_at,
            KeyFigure.partner,
        )
        .outerjoin(Sector, Sector.id == KeyFigure.sector_id)
        .where(KeyFigure.campaign_id == campaign.id)
        .order_by(KeyFigure.email)
    )
    rows = []
    for (
        kid,
        name,
        email,
        organisation,
        network,
        code,
        sector_name,
        opted_out_at,
        partner,
    ) in db.session.execute(query):
        counts = activity.get(kid, NO_ACTIVITY)
        rows.append(
            KeyFigureRow(
                id=kid,
                name=name,
                email=email,
                organisation=organisation,
                network=network,
                sector_code=code,
                sector_name=sector_name,
                opted_out=opted_out_at is not None,
                opened=opens.get(kid, 0),
                started=counts.started,
                completed=counts.completed,
                last_completed=counts.last_completed,
                partner=partner,
            )
        )
    return rows


NO_ACTIVITY = attribution.Activity()


def _matches(row: KeyFigureRow, chosen: TableFilter) -> bool:
    if chosen.search:
        needle = chosen.search.lower()
        if not any(needle in text.lower() for text in (row.name, row.email, row.organisation)):
            return False
    if chosen.sector == NO_SECTOR:
        if row.sector_code is not None:
            return False
    elif chosen.sector and row.sector_code != chosen.sector:
        return False
    if chosen.network and row.network != chosen.network:
        return False
    if chosen.result == "met":
        return row.completed > 0
    return not (chosen.result == "zonder" and row.completed > 0)


def _sort_key(sort: str, positions: dict[str | None, int]) -> Any:
    keys = {
        "naam": lambda row: row.name.lower(),
        "sector": lambda row: positions.get(row.sector_code, len(positions)),
        "netwerk": lambda row: row.network.lower(),
        "geopend": lambda row: row.opened,
        "gestart": lambda row: row.started,
        "afgerond": lambda row: row.completed,
        "laatste": lambda row: row.last_completed.timestamp() if row.last_completed else 0.0,
    }
    return keys.get(sort, keys["afgerond"])


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
    campaign: Campaign, chosen: TableFilter, rows: list[KeyFigureRow]
) -> KeyFigureTable:
    """One page (``PER_PAGE``) of ``rows`` (``all_key_figure_rows``) matching ``chosen``."""
    matching = [row for row in rows if _matches(row, chosen)]
    matching.sort(key=lambda row: (row.name.lower(), row.id))  # the tie-break: by name
    positions: dict[str | None, int] = {s.code: s.position for s in campaign.sectors}
    matching.sort(key=_sort_key(chosen.sort, positions), reverse=chosen.descending)
    pages = max((len(matching) + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(chosen.page, 1), pages)
    shown = matching[(page - 1) * PER_PAGE : page * PER_PAGE]
    networks = sorted({row.network for row in rows if row.network}, key=str.lower)
    return KeyFigureTable(shown, len(matching), page, pages, networks)


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


def network_table(rows: list[KeyFigureRow]) -> list[NetworkRow]:
    """Every network of ``rows`` with its key figures' counts summed, most completed first."""
    networks: dict[str, NetworkRow] = {}
    for row in rows:
        network = networks.setdefault(row.network, NetworkRow(row.network))
        network.key_figures += 1
        network.active += row.completed > 0
        network.opened += row.opened
        network.started += row.started
        network.completed += row.completed
        if row.last_completed and (
            network.last_completed is None or row.last_completed > network.last_completed
        ):
            network.last_completed = row.last_completed
    return sorted(networks.values(), key=lambda n: (-n.completed, n.network.lower()))


def key_figure_page_url(key_figure_id: int) -> str:
    """The key figure's own public page (``/k/<token>``), from the id alone: the same token
    as ``mailing.services.key_figure_page_url``, for the table's rows (not ORM objects)."""
    return public_url("mailing.key_figure", token=make_token(KEY_FIGURE_PAGE, {"k": key_figure_id}))
