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
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, literal_column, select, true

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


def _elements(question_id: str, *columns: str) -> Any:
    """The elements of an array answer (``value``), or the entries of a mapping answer
    (``key``, ``value``), as a table-valued function joined to each response."""
    if _dialect() == "postgresql":
        name = "json_each_text" if "key" in columns else "json_array_elements_text"
        return getattr(func, name)(Response.answers[question_id]).table_valued(*columns)
    return func.json_each(Response.answers, f'$."{question_id}"').table_valued(*columns)


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


def text_rows(
    question_id: str, conditions: Sequence[Any], *, offset: int = 0, limit: int = 20
) -> list[str]:
    """One page of text answers, oldest completion first (the completion index
    lets the database stop after ``offset + limit`` matches)."""
    text = answer_text(question_id)
    page = (
        select(text)
        .where(*conditions, text.is_not(None))
        .order_by(Response.completed_at, Response.id)
    )
    return [str(t) for t in db.session.scalars(page.offset(offset).limit(limit))]


def other_texts(
    question_id: str, conditions: Sequence[Any], *, limit: int = 20, multiple: bool = False
) -> list[str]:
    """The first "Andere, namelijk ..." texts of a choice question."""
    if multiple:
        elements = _elements(question_id, "value")
        value = elements.c.value
        base = select(value).select_from(Response).join(elements, true())
    else:
        value = answer_text(question_id)
        base = select(value)
    base = base.where(*conditions, func.substr(value, 1, 1) == "{")
    rows = db.session.scalars(base.order_by(Response.completed_at, Response.id).limit(limit))
    return [_other_of(row) for row in rows]


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
    total = count_respondents([*conditions, answer_text(question_id).is_not(None)])
    if kind == "multiple":
        elements = _elements(question_id, "value")
        hits = select(func.count(func.distinct(Response.id))).select_from(Response)
        hits = hits.join(elements, true()).where(*conditions, elements.c.value.in_(values))
        return int(db.session.scalar(hits) or 0), total
    hit = and_(answer_text(question_id).in_(values))
    return count_respondents([*conditions, hit]), total


@dataclass
class Counted:
    """The answers of many questions counted at once (see ``count_answers``)."""

    #: Question id -> responses that answered it (the survey stores no blank texts).
    answered: dict[str, int] = field(default_factory=dict)
    #: (question id, value) -> responses: single, likert and sector answers, and the
    #: elements of multiple answers; an "other" answer under ``OTHER``.
    values: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (question id, grid item id, scale value) -> responses.
    cells: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: The selection's respondents, when counted with the rest (the kept counts).
    respondents: int = 0
    #: Whether ``values`` holds number answers too (the kept counts do: each distinct
    #: number with how many gave it, so the median needs no query).
    numbers: bool = False


def _top_level() -> tuple[Any, Any]:
    """Each response's answers as rows (``key``, ``value``), and the value as text."""
    if _dialect() == "postgresql":
        top = func.json_each(Response.answers).table_valued("key", "value")
        return top, top.c.value.op("#>>")(literal_column("'{}'"))
    top = func.json_each(Response.answers).table_valued("key", "value", "type")
    return top, top.c.value


def _nested(top: Any, kind: str) -> Any:
    """The entries of an object value (``kind`` object) or the elements of an array value;
    any other value yields no rows (PostgreSQL refuses to open a scalar)."""
    if _dialect() == "postgresql":
        empty: Any = literal_column("'{}'::json" if kind == "object" else "'[]'::json")
        value = case((func.json_typeof(top.c.value) == kind, top.c.value), else_=empty)
        if kind == "object":
            return func.json_each_text(value).table_valued("key", "value")
        return func.json_array_elements_text(value).table_valued("value")
    value = case((top.c.type == kind, top.c.value), else_="{}" if kind == "object" else "[]")
    return func.json_each(value).table_valued("key", "value")


def count_answers(questions: Sequence[Mapping[str, Any]], conditions: Sequence[Any]) -> Counted:
    """Who answered each question and how often each value was chosen, for all
    ``questions`` at once: three grouped queries, each reading every selected response's
    answers once (``json_each``), instead of a scan per question."""
    kinds = {q["id"]: q["type"] for q in questions}
    counted = Counted()
    if not kinds:
        return counted
    top, text = _top_level()
    values = [qid for qid, kind in kinds.items() if kind in ("single", "likert", "sector")]
    # Values of one-value questions are counted; any other answer (a text, a number, a
    # grid's mapping, a list) falls in one bucket per question, which counts who answered.
    bucket = case((top.c.key.in_(values), _bucket(text)), else_=literal("A"))
    rows = db.session.execute(
        select(top.c.key, bucket, func.count())
        .select_from(Response)
        .join(top, true())
        .where(*conditions, top.c.key.in_(list(kinds)), text.is_not(None))
        .group_by(top.c.key, bucket)
    )
    for key, value, count in rows:
        counted.answered[key] = counted.answered.get(key, 0) + int(count)
        if key in values:
            counted.values[(key, str(value))] = int(count)
    _count_nested(counted, [q for q, k in kinds.items() if k == "multiple"], "array", conditions)
    _count_nested(counted, [q for q, k in kinds.items() if k == "grid"], "object", conditions)
    return counted


def _count_nested(counted: Counted, ids: list[str], kind: str, conditions: Sequence[Any]) -> None:
    if not ids:
        return
    top, _text = _top_level()
    inner = _nested(top, kind)
    group = [top.c.key, inner.c.key, inner.c.value] if kind == "object" else [top.c.key]
    value = inner.c.value if kind == "object" else _bucket(inner.c.value)
    query = (
        select(*group[:2], value, func.count())
        .select_from(Response)
        .join(top, true())
        .join(inner, true())
        .where(*conditions, top.c.key.in_(ids))
        .group_by(*group[:2], value)
    )
    for row in db.session.execute(query):
        fields = tuple(row)
        if kind == "object":
            counted.cells[(fields[0], str(fields[1]), str(fields[2]))] = int(fields[3])
        else:
            counted.values[(fields[0], str(fields[1]))] = int(fields[2])
