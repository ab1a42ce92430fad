"""Properties of the survey's answer validation, for every question type of the example
questionnaire (sector, single with and without "Andere", likert, multiple with a maximum,
grid, number with bounds, text, textarea, show-if on a page and on a question): any form
values give either answers that fit their question, or Dutch errors; never an exception
but ``ForeignFields`` for a field that is not on the page.

The first property runs without a database (``questionnaire.validate_page``, the rule
itself); the second through ``services.save_page`` on SQLite and PostgreSQL, and reads
back what was stored."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from campaign.definitions.loader import parse_campaign_text
from campaign.extensions import db
from campaign.models import Response
from campaign.survey import questionnaire as q
from campaign.survey import services
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.properties.conftest import bounded
from tests.properties.dutch import assert_dutch
from tests.survey.conftest import EXAMPLE_FORMS, form

SPEC = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"))
QUESTIONNAIRE = SPEC.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
SECTORS = SPEC.sectors
PAGES = q.pages(QUESTIONNAIRE)
TYPES = {question["type"] for page in PAGES for question in page["questions"]}


def earlier_answers(page_index: int) -> dict[str, Any]:
    """The answers of the pages before ``page_index``, as a respondent left them."""
    answers: dict[str, Any] = {}
    for index in range(page_index):
        result = q.validate_page(QUESTIONNAIRE, index, form(EXAMPLE_FORMS[index]), answers, SECTORS)
        assert result.ok, result.errors
        answers.update(result.answers)
    return answers


HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-0",
            "5",
            " 7 ",
            "50",
            "51",
            "-1",
            "2,5",
            "2.5",
            "1e308",
            "1e309",
            "nan",
            "inf",
            "-inf",
            "１２",
            "٣",
            "0x10",
            "1_000",
            "1" * 31,
            "9" * 400,
            q.OTHER,
            "x" * 201,
            "x" * 2001,
            "x" * 5001,
            "<script>",
            "' OR 1=1",
            "\t\r\n",
        ]
    ),  # fmt: skip
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats().map(str),
    st.text(max_size=20),
)


def plausible(question: dict[str, Any], name: str) -> st.SearchStrategy[list[str]]:
    """What a browser sends for one field of ``question``: no value or one of its options,
    several options of a multiple question, a number in range, some text."""
    valid = [o["value"] for o in q.options_for(question, QUESTIONNAIRE, SECTORS)]
    valid += [q.OTHER] if question.get("other") else []
    kind = question["type"]
    given = 1 if question.get("required") else 0  # a required question is mostly answered
    if name.endswith(q.OTHER_SUFFIX) or kind in ("text", "textarea"):
        limit = q.DEFAULT_MAX_LENGTH["text"]
        if not name.endswith(q.OTHER_SUFFIX):
            limit = question.get("max_length") or q.DEFAULT_MAX_LENGTH[kind]
        at_limit = st.sampled_from(["é" * limit, "x" * (limit + 1), f" {'x' * limit} "])
        return st.lists(st.one_of(st.text(max_size=40), at_limit), max_size=1)
    if kind == "number":  # in range, or just out of it
        low, high = int(question.get("min", -100)), int(question.get("max", 100))
        number = st.one_of(st.integers(low, high), st.sampled_from([low - 1, high + 1]))
        return st.lists(number.map(str), max_size=1)
    if kind == "multiple":
        return st.lists(st.sampled_from(valid), unique=True, min_size=given, max_size=4)
    return st.lists(st.sampled_from(valid), min_size=given, max_size=1)


@st.composite
def page_forms(draw: st.DrawFn, page_index: int) -> MultiDict:
    """The form of page ``page_index``: each field as a browser sends it or, in some of the
    forms, zero to three times anything (a forged post); now and then a field of another
    page."""
    items: list[tuple[str, str]] = []
    hostile_tenths = draw(st.sampled_from([0, 0, 1, 3, 10]))
    for question in PAGES[page_index]["questions"]:
        valid = [o["value"] for o in q.options_for(question, QUESTIONNAIRE, SECTORS)]
        anything = st.one_of(st.sampled_from(valid), HOSTILE) if valid else HOSTILE
        for name in sorted(q.field_names(question)):
            if draw(st.integers(0, 9)) < hostile_tenths:
                values = draw(st.lists(anything, max_size=3))
            else:
                values = draw(plausible(question, name))
            items += [(name, value) for value in values]
    if draw(st.sampled_from([False] * 9 + [True])):
        other_page = PAGES[(page_index + 1) % len(PAGES)]["questions"][0]
        items.append((q.first_field(other_page), "1"))
    return MultiDict(draw(st.permutations(items)))


def fits(question: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is an answer the questionnaire allows for ``question``."""
    kind = question["type"]
    options = [o["value"] for o in q.options_for(question, QUESTIONNAIRE, SECTORS)]
    other_ok = bool(question.get("other"))

    def other(item: Any) -> bool:
        return (
            other_ok
            and isinstance(item, dict)
            and set(item) == {"other"}
            and isinstance(item["other"], str)
            and 0 < len(item["other"]) <= q.DEFAULT_MAX_LENGTH["text"]
        )

    if kind in ("single", "likert", "sector"):
        return value in options or other(value)
    if kind == "multiple":
        plain = [v for v in value if not isinstance(v, dict)]
        extra = value[len(plain) :]
        return (
            isinstance(value, list)
            and 0 < len(value) <= (question.get("max_choices") or len(options) + 1)
            and plain == [o for o in options if o in plain]  # each once, in the file's order
            and len(extra) <= 1
            and all(other(v) for v in extra)
        )
    if kind == "grid":
        items = {item["id"] for item in question["items"]}
        return (
            isinstance(value, dict)
            and 0 < len(value) <= len(items)
            and set(value) <= items
            and all(v in options for v in value.values())
            and (not question.get("required") or set(value) == items)
        )
    if kind in ("text", "textarea"):
        limit = question.get("max_length") or q.DEFAULT_MAX_LENGTH[kind]
        return isinstance(value, str) and value == value.strip() and 0 < len(value) <= limit
    assert kind == "number"
    whole = question.get("integer", True)
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (not whole or isinstance(value, int))
        and question.get("min", -math.inf) <= value <= question.get("max", math.inf)
    )


def check_result(page_index: int, sent: MultiDict, answers_so_far: dict[str, Any]) -> Any:
    """Validate ``sent``; assert the promises; return the result (None when refused)."""
    questions = {question["id"]: question for question in PAGES[page_index]["questions"]}
    allowed = set(q.CONTROL_FIELDS).union(*(q.field_names(x) for x in questions.values()))
    try:
        result = q.validate_page(QUESTIONNAIRE, page_index, sent, answers_so_far, SECTORS)
    except q.ForeignFields:
        assert set(sent.keys()) - allowed  # refused as a whole only for a foreign field
        event("foreign field")
        return None
    assert set(sent.keys()) <= allowed
    assert set(result.errors) <= {q.first_field(x) for x in questions.values()}
    for message in result.errors.values():
        assert_dutch(message)
    assert set(result.answers) <= set(questions)
    for question_id, value in result.answers.items():
        assert fits(questions[question_id], value), (question_id, value)
    event("errors" if result.errors else "answers")
    return result


@pytest.mark.parametrize("page_index", range(len(PAGES)))
def test_any_form_gives_answers_that_fit_their_question_or_dutch_errors(page_index: int):
    assert set(q.CLEANERS) == TYPES  # the example has every question type
    answers_so_far = earlier_answers(page_index)

    @bounded(60)
    @given(page_forms(page_index))
    def one_page(sent: MultiDict) -> None:
        result = check_result(page_index, sent, answers_so_far)
        if result is None or not result.ok:
            return
        # What was kept shows again in the form, and is kept again unchanged.
        again = MultiDict()
        for question in PAGES[page_index]["questions"]:
            shown = q.form_values(question, result.answers.get(question["id"]))
            for name, value in shown.items():
                for one in value if isinstance(value, list) else [value]:
                    again.add(name, one)
        replayed = q.validate_page(QUESTIONNAIRE, page_index, again, answers_so_far, SECTORS)
        assert replayed.ok and replayed.answers == result.answers

    one_page()


def test_a_saved_page_stores_exactly_the_answers_that_fit_and_a_refused_one_nothing(
    key_link,
) -> None:
    """Through the survey's service on a real database: what is stored is what passed."""

    @bounded(25)
    @given(st.integers(0, len(PAGES) - 1).flatmap(lambda i: st.tuples(st.just(i), page_forms(i))))
    def one_save(drawn: tuple[int, MultiDict]) -> None:
        page_index, sent = drawn
        response = services.start_response(key_link)
        for index in range(page_index):
            assert not services.save_page(response, index, form(EXAMPLE_FORMS[index])).errors
        before = dict(db.session.get(Response, response.id).answers or {})
        expected = check_result(page_index, sent, before)
        try:
            outcome = services.save_page(response, page_index, sent)
        except q.ForeignFields:
            assert expected is None
            outcome = None
        db.session.expire_all()
        stored = db.session.get(Response, response.id).answers or {}
        if expected is None or not expected.ok:
            assert stored == before  # refused or with errors: nothing stored
            assert outcome is None or outcome.errors == expected.errors
        else:
            page_ids = {x["id"] for x in PAGES[page_index]["questions"]}
            assert {k: v for k, v in stored.items() if k in page_ids} == expected.answers
        db.session.delete(db.session.get(Response, response.id))
        db.session.commit()

    one_save()
