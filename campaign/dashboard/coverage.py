"""The coverage matrix: completed answers per sector against each profile question, with
empty and thin cells flagged, so coordinators know whom to chase.

Which questions are the profile is the campaign file's choice
(``results.profile``, stored in ``Campaign.results_settings``); the sector is
always the response's sector as ``campaign.attribution`` decides it.  The
counts are grouped in the database in one query (``completed_by_profile``), kept
until a response is completed (``dashboard.summary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign.dashboard.summary import CompletedSummary, completed_summary
from campaign.models import Campaign
from campaign.survey import questionnaire as q
from campaign.survey.definition import definition_of

#: Fewer completed answers than this in a cell is "thin" (the same limit under which the
#: results never show a breakdown).
THIN = 5
#: Column keys for answers that are not one of the question's options.
OTHER = "__andere__"
UNANSWERED = "__geen__"
#: The row of responses whose sector is unknown.
NO_SECTOR = "geen"


@dataclass(frozen=True)
class Cell:
    count: int

    @property
    def flag(self) -> str:
        """ "leeg" (nobody), "dun" (fewer than ``THIN``) or "" (enough)."""
        if self.count == 0:
            return "leeg"
        return "dun" if self.count < THIN else ""


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    cells: list[Cell]
    total: int


@dataclass(frozen=True)
class Table:
    """Sectors (rows) against the answers to one profile question (columns)."""

    question_id: str
    label: str
    columns: list[str]
    rows: list[Row]

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.rows for cell in row.cells if cell.flag)


@dataclass(frozen=True)
class Coverage:
    #: False when the campaign file names no profile questions: then only ``by_sector``.
    has_profile: bool
    by_sector: list[Row]
    tables: list[Table]
    thin: int = THIN


def coverage(campaign: Campaign, summary: CompletedSummary | None = None) -> Coverage:
    """The matrix of the campaign's profile questions (sector questions are the rows);
    ``summary``: the completed responses' summary when the caller read it already."""
    questions = _profile_questions(campaign)
    ids = tuple(question["id"] for question in questions)
    if summary is None or summary.question_ids != ids:
        summary = completed_summary(campaign, ids)
    counts = summary.profile
    sectors: list[tuple[int | None, str, str]] = [(s.id, s.code, s.name) for s in campaign.sectors]
    if any(key[0] is None for key in counts):
        sectors.append((None, NO_SECTOR, "Geen sector"))
    per_sector: dict[Any, int] = {}
    for key, count in counts.items():
        per_sector[key[0]] = per_sector.get(key[0], 0) + count
    by_sector = [
        Row(code, name, [Cell(per_sector.get(sid, 0))], per_sector.get(sid, 0))
        for sid, code, name in sectors
    ]
    tables = [
        _table(question, position, counts, sectors) for position, question in enumerate(questions)
    ]
    settings = campaign.results_settings or {}
    return Coverage(bool(settings.get("profile")), by_sector, tables)


def profile_question_ids(campaign: Campaign) -> tuple[str, ...]:
    """The ids of the profile questions the matrix shows as columns."""
    return tuple(question["id"] for question in _profile_questions(campaign))


def _profile_questions(campaign: Campaign) -> list[dict[str, Any]]:
    wanted = list((campaign.results_settings or {}).get("profile", []))
    found = {
        question["id"]: question
        for page in q.pages(definition_of(campaign).questionnaire)
        for question in page["questions"]
    }
    return [
        found[qid]
        for qid in wanted
        if qid in found and found[qid]["type"] != "sector" and found[qid].get("options")
    ]


def _table(
    question: dict[str, Any],
    position: int,
    counts: dict[tuple[Any, ...], int],
    sectors: list[tuple[int | None, str, str]],
) -> Table:
    labels = {str(option["value"]): option["label"] for option in question["options"]}
    summed: dict[tuple[Any, str], int] = {}
    for key, count in counts.items():
        answer = key[1 + position]
        column = UNANSWERED if answer is None else answer if answer in labels else OTHER
        summed[(key[0], column)] = summed.get((key[0], column), 0) + count
    columns = list(labels)
    for extra, label in ((OTHER, "Andere"), (UNANSWERED, "Geen antwoord")):
        if any(column == extra for _sid, column in summed):
            columns.append(extra)
            labels[extra] = label
    rows = [
        Row(
            code,
            name,
            [Cell(summed.get((sid, column), 0)) for column in columns],
            sum(summed.get((sid, column), 0) for column in columns),
        )
        for sid, code, name in sectors
    ]
    return Table(question["id"], question["label"], [labels[c] for c in columns], rows)
