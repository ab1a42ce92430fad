"""The columns of an export and their codebook.

One place decides which columns an export has, so that the data file and its
codebook can never disagree: one column per question; one per option of a
multiple-choice question (0/1); one per row of a grid; the "Andere,
namelijk ..." text in a column of its own; and in front the columns that
describe the response (a row number, the questionnaire version, the sector it
counts for and the day it was completed).  Nothing that joins to a link, a key
figure, a draw entry or a response id is ever a column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from campaign.models import Campaign
from campaign.survey import questionnaire as q
from campaign.survey.definition import definition_of

#: The code of "Andere, namelijk ..." in a single-choice column (unless an option uses it).
OTHER_CODE = "andere"
OTHER_LABEL = "Andere, namelijk ..."
#: The first characters spreadsheets read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISED_NOTE = (
    "Een tekst die begint met =, +, -, @, een tab of een regeleinde staat in CSV en XLSX "
    "met een ' ervoor, zodat een rekenblad hem nooit als formule uitvoert."
)
MISSING_NOTE = "Leeg: niet beantwoord of niet gevraagd."

TYPE_LABELS = {
    "single": "enkelvoudige keuze",
    "multiple": "meervoudige keuze (0/1 per optie)",
    "likert": "schaal",
    "grid": "raster (één kolom per stelling)",
    "text": "korte tekst",
    "textarea": "lange tekst",
    "number": "getal",
    "sector": "sector",
    "other": "tekst bij 'Andere, namelijk ...'",
    "meta": "kenmerk van het antwoord",
}
CHOSEN_CODES = (("0", "niet aangeduid"), ("1", "aangeduid"))


@dataclass(frozen=True)
class CodebookEntry:
    """One column of an export: where it comes from and what its codes mean."""

    column: str
    #: The question id; empty for the columns that describe the response itself.
    question_id: str
    #: The question's text (Dutch), or what a describing column holds.
    question: str
    #: The option or grid statement this column is about; empty for a whole question.
    part: str
    #: A Dutch description of the kind of column (see ``TYPE_LABELS``).
    type: str
    #: ``(code, Dutch label)`` pairs; empty for numbers, dates and free text.
    codes: tuple[tuple[str, str], ...]
    #: The questionnaire version the codebook describes.
    version: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "question_id": self.question_id,
            "question": self.question,
            "part": self.part,
            "type": self.type,
            "codes": [{"code": code, "label": label} for code, label in self.codes],
            "version": self.version,
            "note": self.note,
        }


@dataclass(frozen=True)
class QuestionLayout:
    """The columns of one question."""

    question: Mapping[str, Any]
    #: ``{value, label}`` options (its scale for likert and grid, the sectors for sector).
    options: list[dict[str, str]]
    entries: list[CodebookEntry]
    #: The code written for "Andere, namelijk ..." in a single-choice column.
    other_code: str = OTHER_CODE


@dataclass(frozen=True)
class Layout:
    """Every column of one export, in order."""

    version: int
    partial: bool
    meta: list[CodebookEntry]
    questions: list[QuestionLayout] = field(default_factory=list)
    #: Sector code -> name, for the describing column.
    sectors: dict[str, str] = field(default_factory=dict)
    #: The page ids in order (``Response.last_page`` is an index into them).
    page_ids: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[CodebookEntry]:
        return self.meta + [entry for layout in self.questions for entry in layout.entries]

    @property
    def header(self) -> list[str]:
        return [entry.column for entry in self.entries]


def codebook(campaign: Campaign, *, partial: bool = False) -> list[CodebookEntry]:
    """Every column of the export of ``campaign`` (of its partial responses when
    ``partial``), with its question, type, codes and Dutch labels."""
    return layout(campaign, partial=partial).entries


def layout(campaign: Campaign, *, partial: bool = False) -> Layout:
    """The columns of an export of ``campaign``, built from its current questionnaire."""
    questionnaire = definition_of(campaign).questionnaire
    sectors = list(campaign.sectors)
    version = campaign.questionnaire_version
    sector_codes = tuple((s.code, s.name) for s in sectors)
    result = Layout(
        version=version,
        partial=partial,
        meta=_meta_entries(version, sector_codes, partial),
        sectors=dict(sector_codes),
        page_ids=[page["id"] for page in q.pages(questionnaire)],
    )
    for page in q.pages(questionnaire):
        for question in page["questions"]:
            options = q.options_for(question, questionnaire, sectors)
            result.questions.append(_question_layout(question, options, version))
    _make_unique(result)
    return result


def _meta_entries(
    version: int, sector_codes: tuple[tuple[str, str], ...], partial: bool
) -> list[CodebookEntry]:
    def meta(column: str, text: str, codes: tuple[tuple[str, str], ...] = (), note: str = ""):
        return CodebookEntry(column, "", text, "", TYPE_LABELS["meta"], codes, version, note)

    entries = [
        meta(
            "rij",
            "Rijnummer",
            note="Een volgnummer in dit bestand, geen kenmerk van de respondent. De rijen staan "
            "per sector en binnen een sector in een willekeurige volgorde.",
        ),
        meta("vragenlijstversie", "Versie van de vragenlijst waarmee geantwoord werd"),
        meta(
            "telt_voor_sector",
            "Sector waarvoor het antwoord telt",
            sector_codes,
            "De sector die de respondent zelf koos; zonder dat antwoord de sector van het "
            "netwerk waarlangs de vragenlijst binnenkwam. Leeg: onbekend.",
        ),
    ]
    if partial:
        entries.append(
            meta(
                "laatst_bewaard_op",
                "Dag waarop het onvolledige antwoord het laatst bewaard werd",
                note="Alleen de dag (JJJJ-MM-DD), geen tijdstip.",
            )
        )
        entries.append(meta("laatste_pagina", "Pagina waar de respondent stopte (pagina-id)"))
    else:
        entries.append(
            meta(
                "afgerond_op",
                "Dag waarop de vragenlijst afgerond werd",
                note="Alleen de dag (JJJJ-MM-DD), geen tijdstip.",
            )
        )
    return entries


def _question_layout(
    question: Mapping[str, Any], options: list[dict[str, str]], version: int
) -> QuestionLayout:
    qid, kind, label = question["id"], question["type"], question["label"]
    codes = tuple((o["value"], o["label"]) for o in options)
    type_label = TYPE_LABELS[kind]

    def entry(column: str, part: str = "", entry_codes=codes, note: str = MISSING_NOTE):
        return CodebookEntry(column, qid, label, part, type_label, entry_codes, version, note)

    other_code = _free_code(OTHER_CODE, {o["value"] for o in options})
    entries: list[CodebookEntry] = []
    if kind == "grid":
        entries = [entry(f"{qid}.{item['id']}", item["label"]) for item in question["items"]]
    elif kind == "multiple":
        entries = [entry(f"{qid}.{o['value']}", o["label"], CHOSEN_CODES) for o in options]
    elif kind in ("text", "textarea"):
        entries = [entry(qid, entry_codes=(), note=f"{MISSING_NOTE} {NEUTRALISED_NOTE}")]
    elif kind == "number":
        entries = [entry(qid, entry_codes=(), note=_number_note(question))]
    elif question.get("other"):
        entries = [entry(qid, entry_codes=(*codes, (other_code, OTHER_LABEL)))]
    else:
        entries = [entry(qid)]
    if question.get("other"):
        entries.append(
            CodebookEntry(
                f"{qid}.{other_code}",
                qid,
                label,
                OTHER_LABEL,
                TYPE_LABELS["other"],
                (),
                version,
                f"{MISSING_NOTE} {NEUTRALISED_NOTE}",
            )
        )
    return QuestionLayout(question, options, entries, other_code)


def _free_code(wanted: str, taken: Iterable[str]) -> str:
    """``wanted``, or ``wanted`` with ``_namelijk`` (and more ``_``) when an option uses it."""
    taken = set(taken)
    code = wanted
    while code in taken:
        code = f"{code}_namelijk" if code == wanted else f"{code}_"
    return code


def _number_note(question: Mapping[str, Any]) -> str:
    low, high = question.get("min"), question.get("max")
    bounds = []
    if low is not None:
        bounds.append(f"minstens {_show(low)}")
    if high is not None:
        bounds.append(f"hoogstens {_show(high)}")
    whole = "een geheel getal" if question.get("integer", True) else "een getal"
    limits = f" ({', '.join(bounds)})" if bounds else ""
    return (
        f"{whole.capitalize()}{limits}. In CSV met puntkomma's staat een decimaal getal "
        f"met een komma (2,5), in CSV met komma's met een punt (2.5). {MISSING_NOTE}"
    )


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def _make_unique(result: Layout) -> None:
    """Give a column whose name is already taken (say a question with the id of a
    describing column) a ``_2``, ``_3`` ... suffix, in order, so every name is unique."""
    seen: set[str] = set()
    for entries in [result.meta] + [layout.entries for layout in result.questions]:
        for index, entry in enumerate(entries):
            name, count = entry.column, 1
            while name in seen:
                count += 1
                name = f"{entry.column}_{count}"
            seen.add(name)
            if name != entry.column:
                entries[index] = CodebookEntry(
                    name,
                    entry.question_id,
                    entry.question,
                    entry.part,
                    entry.type,
                    entry.codes,
                    entry.version,
                    entry.note,
                )
