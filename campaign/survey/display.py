"""What the page templates need to draw one questionnaire page: no rules, only shaping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, get_template_attribute
from markupsafe import Markup

from campaign.survey import questionnaire as q
from campaign.survey.definition import Definition


@dataclass(slots=True)
class OptionView:
    """One radio button or checkbox, with everything its markup needs worked out."""

    id: str
    value: str
    label: str
    hint: str
    checked: bool


@dataclass(slots=True)
class GridRowView:
    label: str
    #: Form field name: ``<question>.<item>``.
    name: str
    options: list[OptionView]


@dataclass
class QuestionView:
    """One question as its macro draws it.  The template only reads attributes: the ids,
    the chosen options and the ``aria-describedby`` list are worked out here once
    (a Jinja lookup on a dict or a macro call per option costs more than the HTML)."""

    question: dict[str, Any]
    options: list[dict[str, str]]
    #: Form values to pre-fill: field name -> value (a list for checkboxes).
    values: dict[str, Any]
    error: str | None = None
    #: JSON of the show-if rule when it depends on this page (handled by script).
    show_if_json: str | None = None
    #: Plain-language condition, shown when the page runs without script.
    condition_text: str | None = None
    #: Ids of the hint, condition and error texts, for ``aria-describedby``.
    describedby: str = ""
    #: The choices of a single, likert, sector or multiple question.
    choices: list[OptionView] = field(default_factory=list)
    #: The "Andere, namelijk" choice of a question that allows one.
    other: OptionView | None = None
    #: The rows of a grid question.
    rows: list[GridRowView] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.question["id"]

    @property
    def type(self) -> str:
        return self.question["type"]

    @property
    def label(self) -> str:
        return self.question["label"]

    @property
    def required(self) -> bool:
        return bool(self.question.get("required"))

    @property
    def help(self) -> str | None:
        return self.question.get("help")

    @property
    def max_length(self) -> int:
        """The ``maxlength`` of a text field (the campaign file's, else the default)."""
        return self.question.get("max_length") or (5000 if self.type == "textarea" else 200)

    def input_id(self, item: str | None = None, index: int = 0) -> str:
        """Stable element ids: ``f-<question>[-<item>]-<n>``."""
        middle = f"-{item}" if item else ""
        return f"f-{self.id}{middle}-{index}"

    @property
    def first_input_id(self) -> str:
        if self.type == "grid":
            return self.input_id(self.question["items"][0]["id"])
        if self.type in ("text", "textarea", "number"):
            return self.input_id()
        return self.input_id(index=0)

    @property
    def value(self) -> Any:
        """The pre-filled value of a text, textarea or number field."""
        return self.values.get(self.id, "")

    @property
    def other_text(self) -> str:
        return self.values.get(self.id + q.OTHER_SUFFIX, "")


@dataclass
class PageView:
    index: int
    #: The page's place among the pages shown to this respondent so far.
    number: int
    #: Every page of the questionnaire: the same on every page, whatever is hidden.
    total: int
    #: Whether pages may be skipped (show-if), so that fewer than ``total`` are shown:
    #: the page then says "van ongeveer".
    approximate: bool
    page: dict[str, Any]
    questions: list[QuestionView]
    is_last: bool
    has_previous: bool
    errors: dict[str, str] = field(default_factory=dict)
    #: The questions' markup when drawn beforehand (``blank_page``); else the page template
    #: draws ``questions``.
    questions_html: Markup | None = None

    @property
    def percent(self) -> int:
        return round(100 * (self.number - 1) / self.total) if self.total else 0


def build_page(
    definition: Definition,
    index: int,
    answers: Mapping[str, Any],
    form: Any | None = None,
    errors: Mapping[str, str] | None = None,
) -> PageView:
    """The page ``index`` as it should be drawn, filled from ``form`` (after errors) or answers."""
    questionnaire = definition.questionnaire
    page = q.pages(questionnaire)[index]
    errors = dict(errors or {})
    visible = q.visible_page_indexes(questionnaire, answers)
    position = visible.index(index) if index in visible else 0
    views = [
        _question_view(definition, page, question, answers, form, errors)
        for question in q.rendered_questions(page, answers)
    ]
    every = q.pages(questionnaire)
    return PageView(
        index=index,
        number=position + 1,
        total=len(every),
        approximate=any(other.get("show_if") for other in every),
        page=page,
        questions=views,
        is_last=q.next_page_index(questionnaire, index, answers) is None,
        has_previous=position > 0,
        errors=errors,
    )


#: Blank pages kept per parsed questionnaire (pages times sector lists seen; a few).
MAX_DRAWN = 64


def blank_page(definition: Definition, index: int) -> PageView:
    """``build_page(definition, index, {})`` for a response with nothing answered yet, with
    its questions' markup drawn (``questions_html``): the same for every new respondent,
    so it is made once per questionnaire, page and list of sectors (a renamed sector is a
    new key; a changed questionnaire a new ``Parsed``).  Drawn afresh every time while
    templates reload (debug)."""
    sectors = tuple(
        (s.id, s.code, s.name, tuple(s.examples or ())) for s in definition.sectors_for_page(index)
    )
    drawn = definition.parsed.drawn
    key = (index, sectors)
    view = drawn.get(key)
    if view is None:
        view = build_page(definition, index, {})
        view.questions_html = get_template_attribute("survey/_questions.html", "questions")(
            view.questions
        )
        if current_app.jinja_env.auto_reload:
            return view
        if len(drawn) >= MAX_DRAWN:
            drawn.clear()
        drawn[key] = view
    return view


def _question_view(
    definition: Definition,
    page: Mapping[str, Any],
    question: dict[str, Any],
    answers: Mapping[str, Any],
    form: Any | None,
    errors: Mapping[str, str],
) -> QuestionView:
    if form is not None:
        values = {name: _form_value(form, name, question) for name in q.field_names(question)}
    else:
        values = q.form_values(question, answers.get(question["id"]))
    view = QuestionView(
        question=question,
        options=q.options_for(question, definition.questionnaire, _sectors(definition, question)),
        values=values,
        error=errors.get(q.first_field(question)),
    )
    if q.same_page_condition(question, page):
        view.show_if_json = json.dumps(question["show_if"])
        view.condition_text = condition_text(definition, page, question["show_if"])
    qid = view.id
    view.describedby = " ".join(
        f"{prefix}-{qid}"
        for prefix, present in (
            ("h", question.get("help")),
            ("c", view.condition_text),
            ("e", view.error),
        )
        if present
    )
    if view.type in CHOICE_TYPES:
        _add_choices(view)
    elif view.type == "grid":
        view.rows = [
            GridRowView(item["label"], f"{qid}.{item['id']}", _grid_options(view, item["id"]))
            for item in question["items"]
        ]
    return view


#: The question types drawn as a list of radio buttons or checkboxes.
CHOICE_TYPES = frozenset(("single", "likert", "sector", "multiple"))


def _add_choices(view: QuestionView) -> None:
    chosen = view.values.get(view.id)
    if view.type != "multiple":
        chosen = [chosen]
    picked = set(chosen or ()) - {None, ""}
    view.choices = [
        OptionView(
            view.input_id(index=n),
            option["value"],
            option["label"],
            option.get("hint") or "",
            option["value"] in picked,
        )
        for n, option in enumerate(view.options)
    ]
    if view.question.get("other"):
        view.other = OptionView(
            view.input_id(index=len(view.options)), q.OTHER, "", "", q.OTHER in picked
        )


def _grid_options(view: QuestionView, item: str) -> list[OptionView]:
    chosen = view.values.get(f"{view.id}.{item}")
    return [
        OptionView(
            view.input_id(item, n), option["value"], option["label"], "", option["value"] == chosen
        )
        for n, option in enumerate(view.options)
    ]


def _sectors(definition: Definition, question: Mapping[str, Any]) -> list[Any]:
    """The campaign's sectors for a sector question; none (and no query) for the others."""
    return definition.sectors if question["type"] == "sector" else []


def _form_value(form: Any, name: str, question: Mapping[str, Any]) -> Any:
    if question["type"] == "multiple" and name == question["id"]:
        return form.getlist(name)
    return form.get(name, "")


def condition_text(
    definition: Definition, page: Mapping[str, Any], show_if: Mapping[str, Any]
) -> str:
    """``Alleen als je bij "Volgde je ...?" "Ja" koos.`` for a page that runs without script."""
    target = next(x for x in page["questions"] if x["id"] == show_if["question"])
    labels = {
        o["value"]: o["label"]
        for o in q.options_for(target, definition.questionnaire, _sectors(definition, target))
    }
    wanted = show_if.get("in") or [show_if.get("equals") or show_if.get("includes")]
    choices = " of ".join(f"'{labels.get(v, v)}'" for v in wanted)
    return f"Beantwoord deze vraag alleen als je hierboven {choices} koos."


def paragraphs(text: str) -> list[str]:
    """Plain text from the campaign file: a blank line starts a new paragraph."""
    return [" ".join(block.split()) for block in (text or "").split("\n\n") if block.strip()]
