"""The results per question, with the rule that keeps small groups out of sight.

A selection (a filter choice) or a group inside it (the answers to one question,
one grid row, one sector) with fewer than ``MIN_GROUP`` respondents is never
shown: with small networks a handful of answers can point at a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from campaign.models import Campaign
from campaign.results import queries, tally
from campaign.survey.questionnaire import options_for

#: The smallest group whose answers are shown.
MIN_GROUP = 5
SUPPRESSED = "minder dan 5 antwoorden: niet getoond, zodat niemand herkenbaar is"
#: The same as a sentence of its own.
SUPPRESSED_SENTENCE = "Minder dan 5 antwoorden: niet getoond, zodat niemand herkenbaar is."
OTHER_LABEL = "Andere"
#: Text answers shown per question on the results page (the rest one page further).
TEXTS_SHOWN = 10

CHOICE = ("single", "multiple", "likert", "sector")


@dataclass(frozen=True)
class Bar:
    """One answer option: how many chose it, as a share of those who answered."""

    value: str
    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class GridRow:
    id: str
    label: str
    answered: int
    bars: list[Bar]

    @property
    def suppressed(self) -> bool:
        return self.answered < MIN_GROUP


@dataclass
class QuestionResult:
    """What one question's answers come to within the selection."""

    id: str
    label: str
    type: str
    page: str
    answered: int = 0
    suppressed: bool = False
    bars: list[Bar] = field(default_factory=list)
    rows: list[GridRow] = field(default_factory=list)
    scale: list[dict[str, str]] = field(default_factory=list)
    number: dict[str, Any] | None = None
    text_total: int = 0
    texts: list[str] = field(default_factory=list)
    other_total: int = 0
    others: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.type in CHOICE:
            return "choice"
        if self.type in ("text", "textarea"):
            return "text"
        return self.type


@dataclass(frozen=True)
class Filter:
    """One filter of the results: a profile question, its options, the chosen value."""

    key: str
    label: str
    options: list[dict[str, str]]
    selected: str | None


@dataclass(frozen=True)
class SectorColumn:
    """One sector in a question's breakdown: who in it answered the question."""

    code: str
    name: str
    answered: int

    @property
    def suppressed(self) -> bool:
        return self.answered < MIN_GROUP


@dataclass(frozen=True)
class Breakdown:
    """A choice question per sector: a row per option, a column per sector (a column of
    fewer than ``MIN_GROUP`` answers has no figures)."""

    columns: list[SectorColumn]
    #: (option label, the option's bar in each column; None in a suppressed column).
    rows: list[tuple[str, list[Bar | None]]]


@dataclass
class Results:
    campaign: Campaign
    filters: list[Filter]
    selection: dict[str, str]
    respondents: int
    questions: list[QuestionResult]
    #: Whether the answers are split per sector (``?per=sector``).
    per_sector: bool = False
    #: Question id -> its breakdown per sector (choice questions, when ``per_sector``).
    breakdown: dict[str, Breakdown] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.respondents < MIN_GROUP

    def selection_labels(self) -> list[tuple[str, str]]:
        """(filter label, option label) of each active filter."""
        chosen = []
        for item in self.filters:
            if item.selected is not None:
                labels = {o["value"]: o["label"] for o in item.options}
                chosen.append((item.label, labels.get(item.selected, item.selected)))
        return chosen


def questions_of(campaign: Campaign) -> list[tuple[str, dict[str, Any]]]:
    """(page title, question) of every question, in questionnaire order."""
    return [
        (page["title"], question)
        for page in campaign.questionnaire.get("pages", [])
        for question in page["questions"]
    ]


def question_by_id(campaign: Campaign, question_id: str) -> dict[str, Any] | None:
    return next((q for _, q in questions_of(campaign) if q["id"] == question_id), None)


def filters_of(campaign: Campaign, args: Mapping[str, str]) -> list[Filter]:
    """The results' filters: the sector first (always), then the declared profile
    questions; a value in ``args`` that is not one of a filter's options is ignored."""
    sectors = [{"value": s.code, "label": s.name} for s in campaign.sectors]
    found = [Filter("sector", "Sector", sectors, _chosen(args, "sector", sectors))]
    for question_id in campaign.results_settings.get("profile", []):
        question = question_by_id(campaign, question_id)
        if question is None or question["type"] == "sector":
            continue
        options = options_for(question, campaign.questionnaire)
        found.append(
            Filter(question_id, question["label"], options, _chosen(args, question_id, options))
        )
    return found


def _chosen(args: Mapping[str, str], key: str, options: list[dict[str, str]]) -> str | None:
    value = args.get(key)
    return value if value in {o["value"] for o in options} else None


def campaign_results(
    campaign: Campaign, args: Mapping[str, str], *, text_limit: int = TEXTS_SHOWN
) -> Results:
    """Every question's results among the completed responses that match the filters in
    ``args``; nothing at all when fewer than ``MIN_GROUP`` respondents match."""
    filters = filters_of(campaign, args)
    selection = {f.key: f.selected for f in filters if f.selected is not None}
    conditions = queries.base_conditions(campaign, selection)
    counted = kept_counts(campaign, selection)
    respondents = counted.respondents if counted else queries.count_respondents(conditions)
    results = Results(campaign, filters, selection, respondents, [])
    if results.suppressed:
        return results
    questions = questions_of(campaign)
    if counted is None:
        counted = queries.count_answers([q for _, q in questions], conditions)
    for page_title, question in questions:
        results.questions.append(
            question_result(
                campaign, question, page_title, conditions, counted, text_limit=text_limit
            )
        )
    if args.get("per") == "sector":
        results.per_sector = True
        results.breakdown = sector_breakdown(campaign, selection, results.questions)
    return results


#: Question types split per sector (the sector question itself is the split).
BREAKDOWN_TYPES = ("single", "multiple", "likert")


def sector_breakdown(
    campaign: Campaign, selection: Mapping[str, str], shown: list[QuestionResult]
) -> dict[str, Breakdown]:
    """Each shown (not suppressed) choice question of ``shown`` per sector, within
    ``selection``: the sector's share of who answered it, or nothing for a sector where
    fewer than ``MIN_GROUP`` answered."""
    wanted = [r for r in shown if r.type in BREAKDOWN_TYPES and not r.suppressed]
    if not wanted:
        return {}
    per_sector = _counts_per_sector(campaign, selection, [r.id for r in wanted])
    found = {}
    for result in wanted:
        question = question_by_id(campaign, result.id) or {}
        options = options_for(question, campaign.questionnaire, campaign.sectors)
        columns, bars_per_column = [], []
        for sector in campaign.sectors:
            counted = per_sector.get(sector.id) or queries.Counted()
            answered = counted.answered.get(result.id, 0)
            column = SectorColumn(sector.code, sector.name, answered)
            columns.append(column)
            counts = {v: n for (qid, v), n in counted.values.items() if qid == result.id}
            bars_per_column.append(None if column.suppressed else bars(options, counts, answered))
        labels = [bar.label for bar in result.bars]
        rows = []
        for index, label in enumerate(labels):
            cells = [_bar_for(column, result.bars[index].value) for column in bars_per_column]
            rows.append((label, cells))
        found[result.id] = Breakdown(columns, rows)
    return found


def _bar_for(column: list[Bar] | None, value: str) -> Bar | None:
    if column is None:
        return None
    return next((bar for bar in column if bar.value == value), Bar(value, value, 0, 0.0))


def _counts_per_sector(
    campaign: Campaign, selection: Mapping[str, str], question_ids: list[str]
) -> dict[int | None, queries.Counted]:
    """The answers of ``question_ids`` counted per sector (the response's) within
    ``selection``: from the kept counts in one query, else from the JSON per sector."""
    tally.catch_up(campaign)
    if tally.is_current(campaign):
        return {
            sector_id: queries.Counted(
                answered=found.answered, values=found.values, respondents=found.respondents
            )
            for sector_id, found in tally.counts(campaign, selection, by_sector=True).items()
        }
    questions = [q for q in (question_by_id(campaign, qid) for qid in question_ids) if q]
    return {
        sector.id: queries.count_answers(
            questions, queries.base_conditions(campaign, {**selection, "sector": sector.code})
        )
        for sector in campaign.sectors
    }


def kept_counts(campaign: Campaign, selection: Mapping[str, str]) -> queries.Counted | None:
    """The counts of ``selection`` from the kept ``answer_counts`` (``tally``), or None when
    they were built for another questionnaire or profile (then the JSON is counted)."""
    tally.catch_up(campaign)
    if not tally.is_current(campaign):
        return None
    found = tally.counts(campaign, selection)[None]
    return queries.Counted(
        answered=found.answered,
        values=found.values,
        cells=found.cells,
        respondents=found.respondents,
        numbers=True,
    )


def question_result(
    campaign: Campaign,
    question: dict[str, Any],
    page_title: str,
    conditions: list[Any],
    counted: queries.Counted | None = None,
    *,
    text_limit: int = TEXTS_SHOWN,
) -> QuestionResult:
    """One question's counts within ``conditions`` (a selection of at least ``MIN_GROUP``);
    ``counted``: the answers already counted by ``queries.count_answers``."""
    if counted is None:
        counted = queries.count_answers([question], conditions)
    kind, question_id = question["type"], question["id"]
    result = QuestionResult(question_id, question["label"], kind, page_title)
    result.answered = counted.answered.get(question_id, 0)
    if kind in ("text", "textarea"):
        result.text_total = result.answered
        if result.text_total:
            result.texts = queries.text_rows(question_id, conditions, limit=text_limit)
        return result
    if result.answered < MIN_GROUP:
        result.suppressed = True
        return result
    options = options_for(question, campaign.questionnaire, campaign.sectors)
    if kind == "grid":
        result.scale = options
        result.rows = _grid_rows(question, options, counted)
    elif kind == "number":
        if counted.numbers:
            result.number = tally.number_summary(counted.values, question_id)
        else:
            result.number = queries.number_summary(question_id, conditions)
    else:
        counts = {v: n for (qid, v), n in counted.values.items() if qid == question_id}
        result.bars = bars(options, counts, result.answered)
        result.other_total = counts.get(queries.OTHER, 0)
        if result.other_total:
            result.others = queries.other_texts(
                question_id, conditions, limit=text_limit, multiple=kind == "multiple"
            )
    return result


def bars(options: list[dict[str, str]], counts: Mapping[str, int], answered: int) -> list[Bar]:
    """One bar per option in the questionnaire's order, then "Andere", then values that an
    older version of the questionnaire offered (under their stored value)."""
    labels = {o["value"]: o["label"] for o in options}
    order = [o["value"] for o in options]
    if queries.OTHER in counts:
        order.append(queries.OTHER)
        labels[queries.OTHER] = OTHER_LABEL
    order.extend(sorted(v for v in counts if v not in labels))
    return [
        Bar(
            value,
            labels.get(value, value),
            counts.get(value, 0),
            _percent(counts.get(value, 0), answered),
        )
        for value in order
    ]


def _percent(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0


def _grid_rows(
    question: dict[str, Any], scale: list[dict[str, str]], counted: queries.Counted
) -> list[GridRow]:
    rows = []
    for item in question["items"]:
        per_value = {
            value: n
            for (qid, item_id, value), n in counted.cells.items()
            if qid == question["id"] and item_id == item["id"]
        }
        answered = sum(per_value.values())
        shown = bars(scale, per_value, answered) if answered >= MIN_GROUP else []
        rows.append(GridRow(item["id"], item["label"], answered, shown))
    return rows


def text_page(
    campaign: Campaign, question_id: str, args: Mapping[str, str], page: int, per_page: int = 50
) -> tuple[Results, QuestionResult | None, int]:
    """One page of a text question's answers within the filters in ``args``: the
    selection, the question (None when it is no text question) and the number of pages."""
    filters = filters_of(campaign, args)
    selection = {f.key: f.selected for f in filters if f.selected is not None}
    conditions = queries.base_conditions(campaign, selection)
    results = Results(campaign, filters, selection, queries.count_respondents(conditions), [])
    question = question_by_id(campaign, question_id)
    if question is None or question["type"] not in ("text", "textarea") or results.suppressed:
        return results, None, 0
    result = QuestionResult(question["id"], question["label"], question["type"], "")
    counted = kept_counts(campaign, selection) or queries.count_answers([question], conditions)
    result.text_total = counted.answered.get(question_id, 0)
    result.texts = queries.text_rows(
        question_id, conditions, offset=(page - 1) * per_page, limit=per_page
    )
    pages = max(1, -(-result.text_total // per_page))
    return results, result, pages
