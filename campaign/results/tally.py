"""The results' counts, kept in the database (``answer_counts``).

Counting the answers' JSON for every page view costs a pass over every completed
response (57 s at 100,000 on SQLite with ``json_each``).  A completed response
never changes, so its contribution is added once, by ``catch_up`` (which the results
call before they read the counts, so they are always exact; ``Response.tallied``
marks what was added), to rows of

    (campaign, question, item, value, cell) -> count

where *cell* is the respondent's sector and answers to the campaign file's profile
questions (``results.profile``): the filters of the results page.  A selection is
then a sum over the cells that match it, of at most (cells x values) rows whatever
the number of responses.  Rows per question:

- ``item "#"``, value "": responses that answered the question;
- ``item ""``: a value chosen (single, likert, sector, each element of a multiple
  answer, a number as its text); an "Andere, namelijk ..." answer under ``OTHER``;
- ``item <grid row>``: a grid row's value;
- question "" (item "", value ""): the cell's respondents.

Text answers are counted (``#``) but not stored here: the pages list them from the
responses (an index-ordered query that stops after one page).

What the rows mean depends on the profile questions: the campaign's
``AnswerCountState`` holds the fingerprint they were built for.  A load that changes
them rebuilds the counts (``after_load``); counts of another fingerprint are never
read (the results fall back to counting the JSON) nor added to.  ``rebuild``
(``flask results recount``) computes them from the answers again; the tests check
that it always equals what was kept.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaign import attribution
from campaign.models import AnswerCount, AnswerCountState, Campaign, Link, Response, Sector
from campaign.results import queries

OTHER = queries.OTHER
ANSWERED = "#"
#: Bumped when the rules that turn answers into rows change: old rows are then rebuilt.
RULES = 1
#: Rows per INSERT in a rebuild.
BATCH = 2000

Key = tuple[str, str, str, str]  # question, item, value, cell


def cast_table(model: Any) -> Table:
    """A model's table, for Core statements that must not depend on the model's columns."""
    return typing.cast(Table, model.__table__)


def _session() -> Session:
    from campaign.extensions import db

    return db.session  # type: ignore[return-value]


# --- what a campaign's counts are built for -----------------------------------------------


def _questions(questionnaire: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [q for page in questionnaire.get("pages", []) for q in page["questions"]]


def _kinds(questionnaire: Mapping[str, Any]) -> dict[str, str]:
    return {q["id"]: q["type"] for q in _questions(questionnaire)}


def profile_ids(settings: Mapping[str, Any] | None, questionnaire: Mapping[str, Any]) -> list[str]:
    """The profile questions a cell holds (besides the sector): those of ``results.profile``
    that exist and are no sector question (the sector is the response's own)."""
    kinds = _kinds(questionnaire)
    wanted = (settings or {}).get("profile", [])
    return [qid for qid in wanted if kinds.get(qid) not in (None, "sector")]


def fingerprint(settings: Mapping[str, Any] | None, questionnaire: Mapping[str, Any]) -> str:
    """What the rows mean: the rules and the profile questions.  Not the questions: a load
    refuses to change the type of an answered question or to remove it, so a row already
    kept stays what a rebuild would make; a new question has no rows yet."""
    spec = {"rules": RULES, "profile": profile_ids(settings, questionnaire)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _questionnaire_text(session: Session, campaign_id: int) -> str:
    query = select(cast(Campaign.questionnaire, Text)).where(Campaign.id == campaign_id)
    return session.scalar(query) or ""


def parsed(text: str | None) -> dict[str, Any]:
    """The questionnaire stored as ``text``, parsed once per process and content (the
    survey's cache)."""
    from campaign.survey.definition import parse_questionnaire

    return parse_questionnaire(text or "").questionnaire


def _questionnaire(session: Session, campaign_id: int) -> dict[str, Any]:
    return parsed(_questionnaire_text(session, campaign_id))


def _stored(session: Session, campaign_id: int, *, lock: str = "") -> str | None:
    query = select(AnswerCountState.fingerprint).where(AnswerCountState.campaign_id == campaign_id)
    if lock:
        # A rebuild takes the state row FOR UPDATE; a completion's writer FOR SHARE: so
        # they wait for each other (PostgreSQL; SQLite has one writer at a time anyway).
        query = query.with_for_update(read=lock == "share")
    return session.scalar(query)


def is_current(campaign: Campaign, session: Session | None = None) -> bool:
    """Whether ``campaign``'s counts were built for its questionnaire and profile now."""
    session = session or _session()
    mark = fingerprint(campaign.results_settings, _questionnaire(session, campaign.id))
    return _stored(session, campaign.id) == mark


def kept_profile(campaign: Campaign, session: Session | None = None) -> list[str] | None:
    """The profile questions the cells of ``campaign``'s counts hold (``profile_ids``), or
    None when the counts were built for another questionnaire or profile."""
    session = session or _session()
    questionnaire = _questionnaire(session, campaign.id)
    if _stored(session, campaign.id) != fingerprint(campaign.results_settings, questionnaire):
        return None
    return profile_ids(campaign.results_settings, questionnaire)


def profile_cells(campaign_id: int) -> Select[str, int]:
    """The kept respondents per cell (``cell_of``'s JSON: the sector id and the profile
    answers) of ``campaign_id``: columns ``cell`` and ``count``.  Read while
    ``kept_profile`` is not None (the coverage matrix, ``attribution.completed_by_profile``)."""
    return select(AnswerCount.cell.label("cell"), AnswerCount.count.label("count")).where(
        AnswerCount.campaign_id == campaign_id,
        AnswerCount.question_id == "",
        AnswerCount.item == "",
        AnswerCount.value == "",
    )


# --- from answers to rows -----------------------------------------------------------------


def _text(value: Any) -> str:
    """A stored value as the text the results compare it with (a number as ``str``)."""
    if isinstance(value, dict):
        return OTHER
    return value if isinstance(value, str) else json.dumps(value)


def cell_of(sector_id: int | None, answers: Mapping[str, Any], profile: Sequence[str]) -> str:
    parts: dict[str, Any] = {"sector": sector_id}
    for qid in profile:
        value = answers.get(qid)
        parts[qid] = None if value is None else _text(value)
    return json.dumps(parts, sort_keys=True, ensure_ascii=False)


def entries(kinds: Mapping[str, str], answers: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(question, item, value) of one response's answers (one each, duplicates merged)."""
    found: dict[tuple[str, str, str], None] = {}
    for qid, answer in answers.items():
        kind = kinds.get(qid)
        if kind is None or answer is None:
            continue
        found[(qid, ANSWERED, "")] = None
        if kind in ("text", "textarea"):
            continue
        if kind == "grid":
            if isinstance(answer, dict):
                for item, value in answer.items():
                    if value is not None:
                        found[(qid, str(item), _text(value))] = None
        elif kind == "multiple" and isinstance(answer, list):
            for value in answer:
                found[(qid, "", _text(value))] = None
        else:
            found[(qid, "", _text(answer))] = None
    return list(found)


def _rows_of(
    kinds: Mapping[str, str], profile: Sequence[str], sector_id: int | None, answers: Any
) -> list[Key]:
    answers = answers or {}
    cell = cell_of(sector_id, answers, profile)
    return [("", "", "", cell), *((q, i, v, cell) for q, i, v in entries(kinds, answers))]


# --- the writers ----------------------------------------------------------------------------


def _upsert(session: Session, campaign_id: int, counts: Iterable[tuple[Key, int]]) -> None:
    """Add ``counts`` to the rows, in key order (so concurrent writers lock rows in the same
    order and cannot deadlock)."""
    rows = [
        {"campaign_id": campaign_id, "question_id": q, "item": i, "value": v, "cell": c, "count": n}
        for (q, i, v, c), n in sorted(counts)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(AnswerCount)
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "question_id", "item", "value", "cell"],
        set_={"count": AnswerCount.count + statement.excluded["count"]},
    )
    session.execute(statement, rows)


def catch_up(campaign: Campaign, session: Session | None = None) -> int:
    """Add the completed responses not counted yet (``Response.tallied`` false) to
    ``campaign``'s counts and to the dashboard's (``attribution.fold_completed``),
    ``BATCH`` per write transaction, marking them counted in the same transaction;
    returns how many.  Nothing while the counts were built for another
    questionnaire or profile (the rebuild counts every response then).

    The results call it before they read the counts, so they are always exact; the
    survey's completion writes nothing here (it is the respondent's hot path, and a
    counter row shared by many completions would make them queue behind each other).
    """
    from campaign.database import begin_write

    session = session or _session()
    counted = attribution.counted_responses(campaign.id)
    untallied = (
        Response.campaign_id == campaign.id,
        Response.tallied.is_(False),
        Response.completed_at.is_not(None),
        *counted,
    )
    if session.scalar(select(Response.id).where(*untallied).limit(1)) is None:
        return 0  # the usual case: one index probe, no write lock
    total = 0
    while True:
        begin_write()
        questionnaire = _questionnaire(session, campaign.id)
        stored = _stored(session, campaign.id, lock="update")  # one catch-up at a time
        if stored != fingerprint(campaign.results_settings, questionnaire):
            session.rollback()
            return total
        batch = session.execute(
            select(
                Response.id,
                Response.sector_id,
                Response.answers,
                Link.id,
                Link.key_figure_id,
                Link.channel_id,
                Response.completed_at,
            )
            .outerjoin(Link, Link.id == Response.link_id)
            .where(*untallied)
            .order_by(Response.id)
            .limit(BATCH)
        ).all()
        if batch:
            kinds = _kinds(questionnaire)
            profile = profile_ids(campaign.results_settings, questionnaire)
            counts: Counter[Key] = Counter()
            for _id, sector_id, answers, *_credit in batch:
                counts.update(_rows_of(kinds, profile, sector_id, answers))
            _upsert(session, campaign.id, counts.items())
            # The dashboard's kept counts, in the transaction that marks these tallied.
            attribution.fold_completed(
                session,
                campaign.id,
                (
                    (sector_id, link_id is not None, key_figure_id, channel_id, completed_at)
                    for _id, sector_id, _a, link_id, key_figure_id, channel_id, completed_at in batch
                ),
            )
            ids = [row[0] for row in batch]
            session.execute(update(Response).where(Response.id.in_(ids)).values(tallied=True))
        session.commit()
        total += len(batch)
        if len(batch) < BATCH:
            return total


def rebuild(campaign: Campaign, session: Session | None = None) -> int:
    """Count ``campaign``'s completed responses again from their answers, replacing its
    rows and the dashboard's kept counts (``attribution.rebuild_credits``: they hold the
    same ``tallied`` responses), in the caller's transaction; returns the number of
    responses counted."""
    session = session or _session()
    total = _rebuild(session, campaign.id, campaign.results_settings)
    attribution.rebuild_credits(session, campaign.id)
    return total


def _rebuild(
    session: Session,
    campaign_id: int,
    settings: Mapping[str, Any] | None,
    counted: Callable[[int], list[Any]] = attribution.counted_responses,
    mark_tallied: bool = True,
) -> int:
    """``rebuild`` in Core statements only (the migration runs it against the schema of its
    revision, which may lack columns the models have later: it passes its own ``counted``
    rule, the conditions on ``Response`` of the responses that count)."""
    questionnaire = _questionnaire(session, campaign_id)
    mark = fingerprint(settings, questionnaire)
    states = cast_table(AnswerCountState)
    if _stored(session, campaign_id, lock="update") is None:
        session.execute(insert(states).values(campaign_id=campaign_id, fingerprint=mark))
    else:
        session.execute(
            update(states).where(states.c.campaign_id == campaign_id).values(fingerprint=mark)
        )
    session.execute(delete(AnswerCount).where(AnswerCount.campaign_id == campaign_id))
    kinds, profile = _kinds(questionnaire), profile_ids(settings, questionnaire)
    counts: Counter[Key] = Counter()
    completed = Response.completed_at.is_not(None)
    if mark_tallied:
        # Mark first, then count exactly what was marked: a response completing meanwhile
        # (committed after this UPDATE) stays unmarked, and ``catch_up`` adds it later.
        session.execute(
            update(cast_table(Response))
            .where(Response.campaign_id == campaign_id, completed)
            .values(tallied=and_(*counted(campaign_id)))
        )
        chosen = [Response.campaign_id == campaign_id, Response.tallied.is_(True)]
    else:
        chosen = [*counted(campaign_id), completed]
    query = (
        select(Response.sector_id, Response.answers)
        .where(*chosen)
        .execution_options(yield_per=1000)
    )
    total = 0
    for sector_id, answers in session.execute(query):
        total += 1
        counts.update(_rows_of(kinds, profile, sector_id, answers))
    rows = [
        {"campaign_id": campaign_id, "question_id": q, "item": i, "value": v, "cell": c, "count": n}
        for (q, i, v, c), n in sorted(counts.items())
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(cast_table(AnswerCount)), rows[start : start + BATCH])
    return total


def refresh(campaign: Campaign, session: Session | None = None) -> bool:
    """Rebuild ``campaign``'s counts when they were built for another questionnaire or
    profile (a load calls this in its transaction, after its changes are flushed); True
    when it rebuilt."""
    session = session or _session()
    if is_current(campaign, session):
        return False
    rebuild(campaign, session)
    return True


def after_load(campaign: Campaign) -> None:
    """After a load committed (``load_campaign``): the counts rebuilt when the profile
    changed, and the export's kept rows made for the new questionnaire (in short
    transactions; until then the export makes them from the answers)."""
    from campaign.database import begin_write
    from campaign.results import export_lines

    session = _session()
    if not is_current(campaign, session):
        begin_write()
        rebuild(campaign, session)
        session.commit()
    export_lines.refresh(campaign)


def rebuild_all(
    session: Session,
    counted: Callable[[int], list[Any]] = attribution.counted_responses,
    mark_tallied: bool = True,
) -> int:
    """Rebuild every campaign's counts (the migration's backfill, with the counting rule of
    its revision, and ``mark_tallied=False`` before responses had ``tallied``); returns
    the responses counted.  Not the dashboard's kept counts: they come with migration
    0012, which counts them from what is ``tallied`` then."""
    campaigns = session.execute(select(Campaign.id, Campaign.results_settings)).all()
    return sum(
        _rebuild(session, cid, settings, counted, mark_tallied) for cid, settings in campaigns
    )


# --- reading ------------------------------------------------------------------------------


@dataclass
class Tally:
    """The counts of one selection (see ``counts``)."""

    respondents: int = 0
    answered: dict[str, int] = field(default_factory=dict)
    #: (question, value) -> responses (item "").
    values: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (question, grid row, value) -> responses.
    cells: dict[tuple[str, str, str], int] = field(default_factory=dict)


def matching_cells(
    campaign: Campaign, selection: Mapping[str, str], session: Session | None = None
) -> list[str] | None:
    """The cells within ``selection`` (a profile question or ``sector`` -> value); None
    for "all" (no selection)."""
    if not selection:
        return None
    session = session or _session()
    sector_ids = {
        s.code: s.id
        for s in session.scalars(select(Sector).where(Sector.campaign_id == campaign.id))
    }
    cells = session.scalars(
        select(AnswerCount.cell).where(
            AnswerCount.campaign_id == campaign.id, AnswerCount.question_id == ""
        )
    )
    found = []
    for text in cells:
        parts = json.loads(text)
        if all(
            (parts.get("sector") == sector_ids.get(value))
            if key == "sector"
            else parts.get(key, OTHER) == value
            for key, value in selection.items()
        ):
            found.append(text)
    return found


def counts(
    campaign: Campaign,
    selection: Mapping[str, str],
    *,
    by_sector: bool = False,
    session: Session | None = None,
) -> dict[int | None, Tally]:
    """The counts within ``selection``: {None: all} or, ``by_sector``, {sector id: counts}
    (the sector from each cell).  Callers check ``is_current`` first."""
    session = session or _session()
    cells = matching_cells(campaign, selection, session)
    found: dict[int | None, Tally] = {}
    if cells == []:
        found[None] = Tally()
        return found
    columns = [AnswerCount.question_id, AnswerCount.item, AnswerCount.value]
    group = [*columns, _sector_of_cell(session)] if by_sector else columns
    query = select(*group, func.sum(AnswerCount.count)).where(
        AnswerCount.campaign_id == campaign.id
    )
    if cells is not None:
        query = query.where(AnswerCount.cell.in_(cells))
    rows = session.execute(query.group_by(*group))
    if not by_sector:
        found[None] = Tally()
    for row in rows:
        qid, item, value = row[0], row[1], row[2]
        count = int(row[-1])
        if by_sector:
            sector = None if row[3] is None else int(row[3])
            tally = found.setdefault(sector, Tally())
        else:
            tally = found[None]
        _add(tally, qid, item, value, count)
    return found


def _sector_of_cell(session: Session) -> Any:
    """The sector id a cell names, read by the database (grouping per sector there)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(AnswerCount.cell, JSON)["sector"].as_integer()
    return func.json_extract(AnswerCount.cell, "$.sector")


def _add(tally: Tally, qid: str, item: str, value: str, count: int) -> None:
    if qid == "":
        tally.respondents += count
    elif item == ANSWERED:
        tally.answered[qid] = tally.answered.get(qid, 0) + count
    elif item == "":
        tally.values[(qid, value)] = tally.values.get((qid, value), 0) + count
    else:
        tally.cells[(qid, item, value)] = tally.cells.get((qid, item, value), 0) + count


def number_summary(values: Mapping[tuple[str, str], int], question_id: str) -> dict[str, Any]:
    """``count``, ``min``, ``max`` and ``median`` of a number question from its counted
    values (each distinct number with how many gave it)."""
    numbers = sorted(
        (float(value), count) for (qid, value), count in values.items() if qid == question_id
    )
    total = sum(count for _, count in numbers)
    if not total:
        return {"count": 0, "min": None, "max": None, "median": None}
    wanted = [(total - 1) // 2, total // 2]
    middle, seen = [], 0
    for number, count in numbers:
        while wanted and wanted[0] < seen + count:
            middle.append(number)
            wanted.pop(0)
        seen += count
    return {
        "count": total,
        "min": numbers[0][0],
        "max": numbers[-1][0],
        "median": sum(middle) / len(middle),
    }
