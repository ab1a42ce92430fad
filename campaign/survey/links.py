"""Finding tracked survey links ``/s/<code>`` (links are made in ``campaign.attribution``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import contains_eager, joinedload

from campaign.extensions import db
from campaign.models import Campaign, Link
from campaign.survey.definition import questionnaire_text_column

#: Longer input is no link code (codes are 14 characters).
MAX_CODE_LENGTH = 40


def _clean(code: str) -> str | None:
    code = (code or "").strip().lower()
    return code if code and len(code) <= MAX_CODE_LENGTH else None


def find_link(code: str) -> Link | None:
    """The link with this code, or None (also for input that cannot be a code)."""
    cleaned = _clean(code)
    if cleaned is None:
        return None
    return db.session.scalar(select(Link).where(Link.code == cleaned))


def _visit_query(*options: Any) -> Select[Any]:
    return (
        select(Link, Campaign, questionnaire_text_column())
        .join(Link.campaign)
        .where(Link.code == bindparam("code"))
        .options(contains_eager(Link.campaign), *options)
    )


#: The statements of ``find_visit``, built once: every survey request runs one, and
#: building a statement (and its cache key) cost more than SQLite's work.
_VISIT = _visit_query()
_VISIT_WITH_TEXTS = _visit_query(contains_eager(Link.campaign).undefer_group("texts"))
_VISIT_WITH_KEY_FIGURE = _visit_query(joinedload(Link.key_figure))


def find_visit(
    code: str, *, texts: bool = False, key_figure: bool = False
) -> tuple[Link, Campaign, str] | None:
    """The link with this code, its campaign and the questionnaire's stored JSON text,
    in one query (every survey request starts with it); None for an unknown code.

    ``texts`` loads the campaign's welcome texts too (deferred otherwise), ``key_figure``
    the link's key figure (whose sector a new response starts with).
    """
    cleaned = _clean(code)
    if cleaned is None:
        return None
    query = _VISIT_WITH_TEXTS if texts else _VISIT_WITH_KEY_FIGURE if key_figure else _VISIT
    row = db.session.execute(query, {"code": cleaned}).first()
    return (row[0], row[1], row[2]) if row else None
