"""The decision the survey serves: the three conditions the organisers set for a
Digiwijzer, the figures behind the first two, and the offering catalogue.

Which questions feed each condition is declared in the campaign file
(``results.decision``, stored in ``Campaign.results_settings``); nothing here
knows the example's question ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Campaign, Response
from campaign.results import queries
from campaign.results.services import (
    MIN_GROUP,
    QuestionResult,
    question_by_id,
    question_result,
)
from campaign.survey.questionnaire import options_for

#: The conditions of the source text, in its words.
CONDITIONS = {
    "demand": (
        "Er is voldoende vraag vanuit het werkveld",
        "Zouden professionelen een Digiwijzer gebruiken, en wat verwachten ze ervan?",
    ),
    "offer": (
        "Organisaties met een aanbod werken mee en houden het up-to-date",
        "Hebben organisaties een aanbod rond digitale inclusie, en willen ze het in een "
        "Digiwijzer opnemen en bijhouden?",
    ),
}
OUTSIDE_TITLE = "Samen met de digibanken ontwikkelen"
OUTSIDE_TEXT = (
    "Een Digiwijzer heeft weinig zin zonder de actieve betrokkenheid van de digibanken die nog "
    "worden uitgerold. Of dat lukt, staat niet in de antwoorden van deze bevraging: dat "
    "beslissen de organisatoren samen met de digibank-actoren."
)


@dataclass
class Figure:
    """One question behind a condition, with the share of answers that speak for it."""

    result: QuestionResult
    positive_labels: list[str] = field(default_factory=list)
    #: (item label, responses with a positive value, responses that answered) per grid row,
    #: or one row with an empty label for other questions.
    shares: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def positive_text(self) -> str:
        """``eens of helemaal eens``; ``dagelijks, wekelijks of maandelijks``."""
        return or_list(self.positive_labels)


def or_list(labels: list[str]) -> str:
    words = [label[:1].lower() + label[1:] for label in labels]
    return " of ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


@dataclass
class Condition:
    key: str
    title: str
    question: str
    figures: list[Figure]


@dataclass
class Catalogue:
    """The offers described by respondents whose organisation would take part."""

    take_part_label: str
    take_part_values: list[str]
    take_part_labels: list[str]
    columns: list[tuple[str, str]]
    rows: list[list[str]]

    @property
    def take_part_text(self) -> str:
        return or_list(self.take_part_labels)


@dataclass
class DecisionSummary:
    campaign: Campaign
    declared: bool
    respondents: int
    conditions: list[Condition] = field(default_factory=list)
    catalogue: Catalogue | None = None

    @property
    def suppressed(self) -> bool:
        return self.respondents < MIN_GROUP


def decision_summary(campaign: Campaign) -> DecisionSummary:
    """The summary over every completed response; empty when the campaign file declares
    no ``results.decision`` or fewer than ``MIN_GROUP`` responses are complete."""
    declared = campaign.results_settings.get("decision")
    conditions = queries.base_conditions(campaign, {})
    summary = DecisionSummary(campaign, bool(declared), queries.count_respondents(conditions))
    if not declared or summary.suppressed:
        return summary
    for key, (title, question) in CONDITIONS.items():
        figures = [
            _figure(campaign, item, conditions)
            for item in declared.get(key, [])
            if question_by_id(campaign, item["question"]) is not None
        ]
        summary.conditions.append(Condition(key, title, question, figures))
    if declared.get("catalogue"):
        summary.catalogue = catalogue(campaign)
    return summary


def _figure(campaign: Campaign, item: dict[str, Any], conditions: list[Any]) -> Figure:
    question = question_by_id(campaign, item["question"])
    assert question is not None
    result = question_result(campaign, question, "", conditions)
    positive = [str(v) for v in item.get("positive") or []]
    figure = Figure(result)
    if not positive or result.suppressed:
        return figure
    labels = {o["value"]: o["label"] for o in options_for(question, campaign.questionnaire)}
    figure.positive_labels = [labels.get(v, v) for v in positive]
    if question["type"] == "grid":
        figure.shares = [
            (row.label, sum(b.count for b in row.bars if b.value in positive), row.answered)
            for row in result.rows
            if not row.suppressed
        ]
    else:
        hits, total = queries.positive_share(question["id"], question["type"], positive, conditions)
        figure.shares = [("", hits, total)]
    return figure


def catalogue(campaign: Campaign) -> Catalogue | None:
    """The offering catalogue declared in the campaign file (None when there is none)."""
    spec = (campaign.results_settings.get("decision") or {}).get("catalogue")
    if not spec:
        return None
    take_part = question_by_id(campaign, spec["take_part"])
    fields = [q for q in (question_by_id(campaign, f) for f in spec["fields"]) if q is not None]
    columns = [(q["id"], q["label"]) for q in fields]
    rows = [list(row) for row in catalogue_rows(campaign)]
    labels = _labels(campaign, take_part) if take_part else {}
    return Catalogue(
        take_part["label"] if take_part else spec["take_part"],
        list(spec["take_part_values"]),
        [labels.get(v, v) for v in spec["take_part_values"]],
        columns,
        rows,
    )


def catalogue_rows(campaign: Campaign) -> Iterator[list[str]]:
    """The catalogue's rows as display text (option labels, lists joined by "; "), read
    in batches: the answers of the taking-part responses only, never all rows."""
    spec = (campaign.results_settings.get("decision") or {}).get("catalogue") or {}
    if not spec:
        return
    fields = [q for q in (question_by_id(campaign, f) for f in spec["fields"]) if q is not None]
    conditions = queries.base_conditions(campaign, {})
    chosen = queries.answer_text(spec["take_part"]).in_(spec["take_part_values"])
    query = (
        select(Response.answers)
        .where(*conditions, chosen)
        .order_by(Response.completed_at, Response.id)
        .execution_options(yield_per=500)
    )
    labels = {q["id"]: _labels(campaign, q) for q in fields}
    for answers in db.session.scalars(query):
        yield [display(answers.get(q["id"]), labels[q["id"]]) for q in fields]


def _labels(campaign: Campaign, question: dict[str, Any]) -> dict[str, str]:
    return {
        o["value"]: o["label"]
        for o in options_for(question, campaign.questionnaire, campaign.sectors)
    }


def display(answer: Any, labels: dict[str, str]) -> str:
    """An answer as text for a reader: labels for codes, "Andere: ..." for an other text."""
    if answer is None:
        return ""
    if isinstance(answer, dict) and "other" in answer:
        return f"Andere: {answer['other']}"
    if isinstance(answer, list):
        return "; ".join(display(item, labels) for item in answer)
    if isinstance(answer, dict):
        return "; ".join(f"{k}: {display(v, labels)}" for k, v in answer.items())
    return labels.get(str(answer), str(answer))
