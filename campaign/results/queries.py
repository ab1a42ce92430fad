"""Counting answers in the database, one grouped query per question.

The answers are one JSON column per response (see docs/campaign-file.md for the
stored shapes); they are aggregated by the database itself: ``json_extract`` and
``json_each`` on SQLite, ``->>``, ``json_array_elements_text`` and ``json_each_text``
on PostgreSQL (the column is ``json`` there), never by a Python loop over rows.

Which responses count comes from ``attribution.counted_responses`` plus "completed",
so a future test-response flag applies here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, func, literal, select, true

from campaign import attribution
from campaign.extensions import db
from campaign.models import Campaign, Response, Sector

#: Value under which an "Andere, namelijk ..." answer is counted.
OTHER = "__other__"


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def base_conditions(campaign: Campaign, filters: Mapping[str, str]) -> list[Any]:
    """Completed, counted responses of ``campaign`` that match ``filters``.

    ``filters`` maps a profile question id (or ``sector``) to an option value; the
    sector filter follows the response's sector (the attribution's), the others the
    stored answer.
    """
    conditions = [*attribution.counted_responses(campaign.id), Response.completed_at.is_not(None)]
    for question_id, value in filters.items():
        if question_id == "sector":
            codes = select(Sector.id).where(Sector.campaign_id == campaign.id, Sector.code == value)
            conditions.append(Response.sector_id.in_(codes.scalar_subquery()))
        else:
            conditions.append(answer_text(question_id) == value)
    return conditions


def answer_text(question_id: str) -> Any:
    """The answer as text (an object such as ``{"other": ...}`` as its JSON text)."""
    return Response.answers[question_id].as_string()


def _bucket(value: Any) -> Any:
    """An option value as itself, any object (the "other" answer) as ``OTHER``."""
    return case((func.substr(value, 1, 1) == "{", literal(OTHER)), else_=value)


def count_respondents(conditions: Sequence[Any]) -> int:
    return int(db.session.scalar(select(func.count(Response.id)).where(*conditions)) or 0)


def answered(question_id: str, conditions: Sequence[Any]) -> int:
    """How many of the selected responses hold an answer to this question."""
    return count_respondents([*conditions, answer_text(question_id).is_not(None)])


def single_counts(question_id: str, conditions: Sequence[Any]) -> dict[str, int]:
    """Answers of a single, likert or sector question: value -> responses."""
    value = _bucket(answer_text(question_id))
    query = (
        select(value, func.count())
        .where(*conditions, answer_text(question_id).is_not(None))
        .group_by(value)
    )
    return {str(key): int(count) for key, count in db.session.execute(query)}


def _elements(question_id: str, *columns: str) -> Any:
    """The elements of an array answer (``value``), or the entries of a mapping answer
    (``key``, ``value``), as a table-valued function joined to each response."""
    if _dialect() == "postgresql":
        name = "json_each_text" if "key" in columns else "json_array_elements_text"
        return getattr(func, name)(Response.answers[question_id]).table_valued(*columns)
    return func.json_each(Response.answers, f'$."{question_id}"').table_valued(*columns)


def multiple_counts(question_id: str, conditions: Sequence[Any]) -> dict[str, int]:
    """Answers of a multiple question: value -> responses that chose it."""
    elements = _elements(question_id, "value")
    value = _bucket(elements.c.value)
    query = (
        select(value, func.count())
        .select_from(Response)
        .join(elements, true())
        .where(*conditions)
        .group_by(value)
    )
    return {str(key): int(count) for key, count in db.session.execute(query)}


def grid_counts(question_id: str, conditions: Sequence[Any]) -> dict[tuple[str, str], int]:
    """Answers of a grid question: (item id, scale value) -> responses."""
    entries = _elements(question_id, "key", "value")
    query = (
        select(entries.c.key, entries.c.value, func.count())
        .select_from(Response)
        .join(entries, true())
        .where(*conditions)
        .group_by(entries.c.key, entries.c.value)
    )
    return {(str(k), str(v)): int(count) for k, v, count in db.session.execute(query)}


def number_summary(question_id: str, conditions: Sequence[Any]) -> dict[str, Any]:
    """``count``, ``min``, ``max`` and ``median`` of a number question's answers.

    The median takes the middle one or two values by ``ORDER BY ... OFFSET`` (SQLite has
    no percentile function), two small queries on the indexed scan the count needed.
    """
    number = Response.answers[question_id].as_float()
    where = [*conditions, answer_text(question_id).is_not(None)]
    count, low, high = db.session.execute(
        select(func.count(), func.min(number), func.max(number)).where(*where)
    ).one()
    count = int(count or 0)
    if not count:
        return {"count": 0, "min": None, "max": None, "median": None}
    ordered = select(number).where(*where).order_by(number)
    middle = list(
        db.session.scalars(ordered.offset((count - 1) // 2).limit(2 if count % 2 == 0 else 1))
    )
    return {"count": count, "min": low, "max": high, "median": sum(middle) / len(middle)}


def text_answers(
    question_id: str, conditions: Sequence[Any], *, offset: int = 0, limit: int = 20
) -> tuple[int, list[str]]:
    """Non-empty text answers (oldest completion first): how many, and one page of them."""
    text = answer_text(question_id)
    where = [*conditions, text.is_not(None), func.trim(text) != ""]
    total = count_respondents(where)
    page = select(text).where(*where).order_by(Response.completed_at, Response.id)
    return total, [str(t) for t in db.session.scalars(page.offset(offset).limit(limit))]


def other_texts(
    question_id: str, conditions: Sequence[Any], *, limit: int = 20, multiple: bool = False
) -> tuple[int, list[str]]:
    """The "Andere, namelijk ..." texts of a choice question: how many, and the first ones."""
    if multiple:
        elements = _elements(question_id, "value")
        value = elements.c.value
        base = select(value).select_from(Response).join(elements, true())
    else:
        value = answer_text(question_id)
        base = select(value)
    base = base.where(*conditions, func.substr(value, 1, 1) == "{")
    total = int(db.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = db.session.scalars(base.order_by(Response.completed_at, Response.id).limit(limit))
    return total, [_other_of(row) for row in rows]


def _other_of(json_text: str) -> str:
    try:
        value = json.loads(json_text)
    except ValueError:
        return json_text
    return str(value.get("other", "")) if isinstance(value, dict) else str(value)


def sector_counts(campaign: Campaign, conditions: Sequence[Any]) -> dict[int | None, int]:
    """Selected responses per sector id."""
    query = select(Response.sector_id, func.count()).where(*conditions)
    return {sid: int(n) for sid, n in db.session.execute(query.group_by(Response.sector_id))}


def positive_share(
    question_id: str, kind: str, values: Sequence[str], conditions: Sequence[Any]
) -> tuple[int, int]:
    """(responses with one of ``values``, responses that answered) for a choice question."""
    total = answered(question_id, conditions)
    if kind == "multiple":
        elements = _elements(question_id, "value")
        hits = select(func.count(func.distinct(Response.id))).select_from(Response)
        hits = hits.join(elements, true()).where(*conditions, elements.c.value.in_(values))
        return int(db.session.scalar(hits) or 0), total
    hit = and_(answer_text(question_id).in_(values))
    return count_respondents([*conditions, hit]), total
