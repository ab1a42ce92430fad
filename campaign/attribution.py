"""Who gets credit for a response: its sector, the key figure at the root of its link.

The one owner of these rules.  The survey asks it which sector a response
counts for; the dashboard, the key-figure page, ``flask campaign stats`` and
the reminder ask it for counts.  Links are made here too (a key figure's own
link, a forwarded one, and the own links of many key figures at once), so
that every link credits the key figure at the root of its chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select

from campaign.extensions import db
from campaign.models import KeyFigure, Link, new_link_code, today_utc

# --- the sector a response counts for -------------------------------------------------------


def response_sector_id(
    sector_ids: Mapping[str, int],
    sector_questions: Iterable[str],
    answers: Mapping[str, Any],
    link: Link | None,
) -> int | None:
    """The sector of a response: the respondent's own answer to a sector question
    (``sector_ids`` maps a sector code to its id), else the sector of the key figure
    credited by ``link``; None when neither is known.

    People know where they work, and a key figure's network can cross sectors: the
    answer wins over the key figure's sector.
    """
    for question_id in sector_questions:
        code = answers.get(question_id)
        if isinstance(code, str) and code in sector_ids:
            return sector_ids[code]
    key_figure = link.key_figure if link is not None else None
    return key_figure.sector_id if key_figure is not None else None


# --- links ---------------------------------------------------------------------------------


def root_link(key_figure: KeyFigure) -> Link:
    """The key figure's own link, made (added to the session, not committed) when missing."""
    link = db.session.scalar(
        select(Link).where(Link.key_figure_id == key_figure.id, Link.parent_id.is_(None))
    )
    if link is None:
        link = Link(campaign_id=key_figure.campaign_id, key_figure=key_figure)
        db.session.add(link)
    return link


def forward_link(parent: Link) -> Link:
    """A new link for a respondent to forward (added, not committed).

    It credits the same key figure as ``parent``, so a chain of forwards still
    credits the key figure at its root.
    """
    link = Link(
        campaign_id=parent.campaign_id, key_figure_id=parent.key_figure_id, parent_id=parent.id
    )
    db.session.add(link)
    return link


def add_root_links(campaign_id: int, key_figure_ids: list[int]) -> int:
    """Give each of these key figures (of one campaign) its own link, in bulk; how many made.

    For imports of thousands of rows: one executemany in the caller's transaction.
    The caller passes key figures that have no root link yet.
    """
    if not key_figure_ids:
        return 0
    codes: set[str] = set()
    while len(codes) < len(key_figure_ids):
        codes.add(new_link_code())
    day = today_utc()
    rows = [
        {
            "code": code,
            "campaign_id": campaign_id,
            "key_figure_id": key_figure_id,
            "parent_id": None,
            "open_count": 0,
            "created_at": day,
        }
        for key_figure_id, code in zip(key_figure_ids, codes, strict=True)
    ]
    db.session.execute(insert(Link), rows)
    return len(rows)
