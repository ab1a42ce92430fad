"""The questionnaire's rules as plain functions: show-if, visible pages, page validation.

They work on the stored questionnaire dict (see docs/campaign-file.md) and on
a plain mapping of answers keyed by question id, so that tests, the web
views and ``flask demo`` use the very same rules.  Form field names:

- ``<id>`` for single, likert, sector, text, textarea and number questions,
  and the checkboxes of a multiple question;
- ``<id>__other`` for the text of "Andere, namelijk ...";
- ``<id>.<item>`` for each item of a grid question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Option value of "Andere, namelijk ..." in forms (stored as {"other": text}).
OTHER = "__other__"
OTHER_SUFFIX = "__other"
#: Form fields that are not answers.
CONTROL_FIELDS = frozenset({"csrf_token", "action"})
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 5000}
#: A number longer than this is refused before parsing.
MAX_NUMBER_CHARS = 30

REQUIRED = "Deze vraag is verplicht."
NOT_AN_OPTION = "Kies een van de antwoorden uit de lijst."


class ForeignFields(ValueError):
    """The form carries fields that do not belong to the page (forged or outdated)."""


@dataclass
class PageResult:
    """What a submitted page yields: clean answers, and Dutch errors per field name."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- show-if and visibility -------------------------------------------------------------


def condition_met(show_if: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    """True when there is no condition, or the earlier answer meets it.

    ``equals`` compares a single answer, ``includes`` looks in a multiple
    answer, ``in`` accepts any of several single answers.  A missing answer
    never meets a condition.
    """
    if not show_if:
        return True
    answer = answers.get(show_if["question"])
    if answer is None:
        return False
    if "includes" in show_if:
        return isinstance(answer, list) and show_if["includes"] in answer
    if "equals" in show_if:
        return answer == show_if["equals"]
    return answer in show_if.get("in", [])


def pages(questionnaire: Mapping[str, Any]) -> Sequence[dict[str, Any]]:
    """The questionnaire's pages, as stored (read-only: a parsed questionnaire is shared)."""
    return questionnaire.get("pages", ())


def page_visible(questionnaire: Mapping[str, Any], index: int, answers: Mapping[str, Any]) -> bool:
    all_pages = pages(questionnaire)
    return 0 <= index < len(all_pages) and condition_met(all_pages[index].get("show_if"), answers)


def visible_page_indexes(questionnaire: Mapping[str, Any], answers: Mapping[str, Any]) -> list[int]:
    return [i for i in range(len(pages(questionnaire))) if page_visible(questionnaire, i, answers)]


def next_page_index(
    questionnaire: Mapping[str, Any], index: int, answers: Mapping[str, Any]
) -> int | None:
    """The next visible page after ``index``; None when ``index`` is the last one."""
    return next((i for i in visible_page_indexes(questionnaire, answers) if i > index), None)


def previous_page_index(
    questionnaire: Mapping[str, Any], index: int, answers: Mapping[str, Any]
) -> int | None:
    earlier = [i for i in visible_page_indexes(questionnaire, answers) if i < index]
    return earlier[-1] if earlier else None


def prune_hidden(questionnaire: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` without those of questions (or pages) that are now hidden.

    Conditions only look back, so one pass in questionnaire order settles it:
    a question is judged on what is kept before it.
    """
    kept: dict[str, Any] = {}
    for page in pages(questionnaire):
        page_shown = condition_met(page.get("show_if"), kept)
        for question in page["questions"]:
            qid = question["id"]
            if qid in answers and page_shown and condition_met(question.get("show_if"), kept):
                kept[qid] = answers[qid]
    return kept


def same_page_condition(question: Mapping[str, Any], page: Mapping[str, Any]) -> bool:
    """True when the question's show-if depends on a question of the same page.

    Such a question is always sent to the browser (the page works without
    JavaScript) and hidden by script until the answer it depends on is given.
    """
    show_if = question.get("show_if")
    if not show_if:
        return False
    return any(q["id"] == show_if["question"] for q in page["questions"])


def rendered_questions(page: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The questions to put on the page: shown ones, plus those that hinge on this page."""
    return [
        q
        for q in page["questions"]
        if same_page_condition(q, page) or condition_met(q.get("show_if"), answers)
    ]


# --- options ----------------------------------------------------------------------------


def options_for(
    question: Mapping[str, Any],
    questionnaire: Mapping[str, Any],
    sectors: Iterable[Any] = (),
) -> list[dict[str, str]]:
    """The ``{value, label}`` options of a question (its scale, or the campaign's sectors)."""
    kind = question["type"]
    if kind == "sector":
        return [
            {
                "value": s.code,
                "label": s.name,
                "hint": ", ".join(s.examples) if s.examples else "",
            }
            for s in sectors
        ]
    if kind in ("likert", "grid"):
        scale = question["scale"]
        return (
            list(questionnaire.get("scales", {}).get(scale, []))
            if isinstance(scale, str)
            else list(scale)
        )
    return list(question.get("options") or [])


def field_names(question: Mapping[str, Any]) -> set[str]:
    """Every form field name a question may send."""
    qid = question["id"]
    if question["type"] == "grid":
        return {f"{qid}.{item['id']}" for item in question["items"]}
    names = {qid}
    if question.get("other"):
        names.add(qid + OTHER_SUFFIX)
    return names


def first_field(question: Mapping[str, Any]) -> str:
    """The name of the field an error summary links to."""
    if question["type"] == "grid":
        return f"{question['id']}.{question['items'][0]['id']}"
    return question["id"]


# --- validation -------------------------------------------------------------------------


def check_fields(page: Mapping[str, Any], form_keys: Iterable[str]) -> None:
    """Raise ``ForeignFields`` when the form carries a field that is not on this page."""
    allowed = set(CONTROL_FIELDS)
    for question in page["questions"]:
        allowed |= field_names(question)
    foreign = sorted(set(form_keys) - allowed)
    if foreign:
        raise ForeignFields(", ".join(foreign[:5]))


def validate_page(
    questionnaire: Mapping[str, Any],
    page_index: int,
    form: Any,
    answers_so_far: Mapping[str, Any],
    sectors: Iterable[Any] = (),
    *,
    enforce_required: bool = True,
) -> PageResult:
    """Validate one submitted page.

    ``form`` is a MultiDict-like object (``getlist``, ``keys``).  Questions are
    judged in order, each against the answers before it (earlier pages plus
    what this page already gave), so a question hidden by its condition is
    neither required nor kept.  Raises ``ForeignFields`` for fields that do
    not belong to the page: such a post is refused as a whole.
    """
    page = pages(questionnaire)[page_index]
    check_fields(page, form.keys())
    sectors = list(sectors)
    merged = dict(answers_so_far)
    result = PageResult()
    for question in page["questions"]:
        merged.pop(question["id"], None)
        if not condition_met(question.get("show_if"), merged):
            continue
        value, error = clean_answer(question, form, options_for(question, questionnaire, sectors))
        if error is None and value is None and enforce_required and question.get("required"):
            error = REQUIRED
        if error is not None:
            result.errors[first_field(question)] = error
        elif value is not None:
            result.answers[question["id"]] = value
            merged[question["id"]] = value
    return result


def clean_answer(
    question: Mapping[str, Any], form: Any, options: list[dict[str, str]]
) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, Dutch error)``; an empty answer is ``(None, None)``."""
    cleaner = CLEANERS[question["type"]]
    return cleaner(question, form, options)


def _texts(form: Any, name: str) -> list[str]:
    return [str(v).strip() for v in form.getlist(name)]


def _one(form: Any, name: str) -> tuple[str, str | None]:
    """The single value of a field; a repeated field is an error (a forged form)."""
    values = [v for v in _texts(form, name) if v]
    if len(values) > 1:
        return "", "Kies één antwoord."
    return (values[0] if values else ""), None


def _other_text(question: Mapping[str, Any], form: Any) -> tuple[str, str | None]:
    text, error = _one(form, question["id"] + OTHER_SUFFIX)
    if error is None and len(text) > DEFAULT_MAX_LENGTH["text"]:
        error = f"Gebruik voor 'Andere' hoogstens {DEFAULT_MAX_LENGTH['text']} tekens."
    return text, error


def _clean_single(question: Mapping[str, Any], form: Any, options: list[dict[str, str]]):
    value, error = _one(form, question["id"])
    if error:
        return None, error
    other, other_error = _other_text(question, form) if question.get("other") else ("", None)
    if other_error:
        return None, other_error
    if value == OTHER or (not value and other):
        if not question.get("other"):
            return None, NOT_AN_OPTION
        return ({"other": other}, None) if other else (None, "Vul in wat je bedoelt met 'Andere'.")
    if not value:
        return None, None
    if value not in {o["value"] for o in options}:
        return None, NOT_AN_OPTION
    return value, None


def _clean_multiple(question: Mapping[str, Any], form: Any, options: list[dict[str, str]]):
    chosen = [v for v in _texts(form, question["id"]) if v]
    valid = {o["value"] for o in options} | ({OTHER} if question.get("other") else set())
    if any(v not in valid for v in chosen) or len(chosen) != len(set(chosen)):
        return None, NOT_AN_OPTION
    other, other_error = _other_text(question, form) if question.get("other") else ("", None)
    if other_error:
        return None, other_error
    if other and OTHER not in chosen:
        chosen.append(OTHER)  # typed a text without ticking "Andere": that is what they meant
    if OTHER in chosen and not other:
        return None, "Vul in wat je bedoelt met 'Andere'."
    limit = question.get("max_choices")
    if limit and len(chosen) > limit:
        return None, f"Kies maximaal {limit} antwoorden."
    if not chosen:
        return None, None
    values: list[Any] = [o["value"] for o in options if o["value"] in chosen]
    if OTHER in chosen:
        values.append({"other": other})
    return values, None


def _clean_grid(question: Mapping[str, Any], form: Any, options: list[dict[str, str]]):
    valid = {o["value"] for o in options}
    values: dict[str, str] = {}
    for item in question["items"]:
        value, error = _one(form, f"{question['id']}.{item['id']}")
        if error or (value and value not in valid):
            return None, error or NOT_AN_OPTION
        if value:
            values[item["id"]] = value
    if question.get("required") and values and len(values) < len(question["items"]):
        return None, "Beantwoord elke stelling."
    return (values or None), None


def _clean_text(question: Mapping[str, Any], form: Any, _options: list[dict[str, str]]):
    text, error = _one(form, question["id"])
    if error:
        return None, "Vul dit veld één keer in."
    limit = question.get("max_length") or DEFAULT_MAX_LENGTH[question["type"]]
    if len(text) > limit:
        return None, f"Gebruik hoogstens {limit} tekens (nu {len(text)})."
    return (text or None), None


def _clean_number(question: Mapping[str, Any], form: Any, _options: list[dict[str, str]]):
    raw, error = _one(form, question["id"])
    if error:
        return None, "Vul één getal in."
    if not raw:
        return None, None
    number = _parse_number(raw, question.get("integer", True))
    if number is None:
        whole = question.get("integer", True)
        return None, "Vul een geheel getal in, bv. 5." if whole else "Vul een getal in, bv. 2,5."
    low, high = question.get("min"), question.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        return None, f"Vul een getal in {_range_text(low, high)}."
    return number, None


def _parse_number(raw: str, integer: bool) -> int | float | None:
    text = raw.replace(" ", "").replace(",", ".")
    if len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if integer:
        return int(number) if number.is_integer() else None
    return int(number) if number.is_integer() else number


def _range_text(low: float | None, high: float | None) -> str:
    def show(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")

    if low is not None and high is not None:
        return f"van {show(low)} tot en met {show(high)}"
    if low is not None:
        return f"van minstens {show(low)}"
    return f"van hoogstens {show(high)}"  # type: ignore[arg-type]


CLEANERS = {
    "single": _clean_single,
    "likert": _clean_single,
    "sector": _clean_single,
    "multiple": _clean_multiple,
    "grid": _clean_grid,
    "text": _clean_text,
    "textarea": _clean_text,
    "number": _clean_number,
}


def first_incomplete_page(
    questionnaire: Mapping[str, Any], answers: Mapping[str, Any]
) -> int | None:
    """The first visible page with a required question left unanswered, else None.

    Used before completing: going back and changing an answer can reveal a
    page the respondent has not seen yet.
    """
    for index in visible_page_indexes(questionnaire, answers):
        page = pages(questionnaire)[index]
        for question in page["questions"]:
            if not question.get("required"):
                continue
            if condition_met(question.get("show_if"), answers) and answers.get(question["id"]) in (
                None,
                "",
                [],
                {},
            ):
                return index
    return None


def form_values(question: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    """A stored answer turned back into what the form fields should show."""
    if answer is None:
        return {}
    qid = question["id"]
    kind = question["type"]
    if kind == "grid":
        return {f"{qid}.{item}": value for item, value in dict(answer).items()}
    if kind == "multiple":
        chosen = [v if not isinstance(v, dict) else OTHER for v in answer]
        other = next((v["other"] for v in answer if isinstance(v, dict)), "")
        return {qid: chosen, qid + OTHER_SUFFIX: other}
    if isinstance(answer, dict):
        return {qid: OTHER, qid + OTHER_SUFFIX: answer.get("other", "")}
    return {qid: answer}
