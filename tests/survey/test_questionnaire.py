"""The questionnaire rules as plain functions: show-if, visibility, validation of one page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from campaign.survey import questionnaire as q
from tests.survey.conftest import form

SCALE = [{"value": "1", "label": "Oneens"}, {"value": "2", "label": "Eens"}]

QUESTIONNAIRE = {
    "scales": {"eens2": SCALE},
    "pages": [
        {
            "id": "een",
            "title": "Een",
            "questions": [
                {"id": "sector", "type": "sector", "label": "Sector?", "required": True},
                {
                    "id": "rol",
                    "type": "single",
                    "label": "Rol?",
                    "required": True,
                    "other": True,
                    "options": [
                        {"value": "lesgever", "label": "Lesgever"},
                        {"value": "begeleider", "label": "Begeleider"},
                    ],
                },
                {
                    "id": "vak",
                    "type": "text",
                    "label": "Welk vak?",
                    "required": True,
                    "max_length": 10,
                    "show_if": {"question": "rol", "equals": "lesgever"},
                },
                {"id": "jaren", "type": "number", "label": "Jaren?", "min": 0, "max": 50},
            ],
        },
        {
            "id": "twee",
            "title": "Twee",
            "show_if": {"question": "rol", "in": ["lesgever", "begeleider"]},
            "questions": [
                {
                    "id": "kanalen",
                    "type": "multiple",
                    "label": "Kanalen?",
                    "other": True,
                    "max_choices": 2,
                    "options": [
                        {"value": "telefoon", "label": "Telefoon"},
                        {"value": "mail", "label": "Mail"},
                        {"value": "balie", "label": "Balie"},
                    ],
                },
                {
                    "id": "welke_app",
                    "type": "textarea",
                    "label": "Welke app?",
                    "show_if": {"question": "kanalen", "includes": "telefoon"},
                },
                {
                    "id": "stellingen",
                    "type": "grid",
                    "label": "Stellingen",
                    "scale": "eens2",
                    "required": True,
                    "items": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
                },
                {"id": "nut", "type": "likert", "label": "Nut?", "scale": "eens2"},
            ],
        },
        {
            "id": "drie",
            "title": "Drie",
            "questions": [{"id": "slot", "type": "textarea", "label": "Nog iets?"}],
        },
    ],
}

SECTORS = [
    SimpleNamespace(code="onderwijs", name="Onderwijs", examples=["CVO"]),
    SimpleNamespace(code="welzijn", name="Welzijn", examples=[]),
]


def validate(page: int, data: dict, answers: dict | None = None, **kwargs) -> q.PageResult:
    return q.validate_page(QUESTIONNAIRE, page, form(data), answers or {}, SECTORS, **kwargs)


# --- show-if --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "answers", "expected"),
    [
        (None, {}, True),
        ({"question": "rol", "equals": "lesgever"}, {"rol": "lesgever"}, True),
        ({"question": "rol", "equals": "lesgever"}, {"rol": "begeleider"}, False),
        ({"question": "rol", "equals": "lesgever"}, {}, False),
        ({"question": "rol", "equals": "lesgever"}, {"rol": {"other": "lesgever"}}, False),
        ({"question": "kanalen", "includes": "mail"}, {"kanalen": ["telefoon", "mail"]}, True),
        ({"question": "kanalen", "includes": "mail"}, {"kanalen": ["telefoon"]}, False),
        ({"question": "rol", "in": ["a", "b"]}, {"rol": "b"}, True),
        ({"question": "rol", "in": ["a", "b"]}, {"rol": "c"}, False),
    ],
)
def test_condition_met_follows_equals_includes_and_in(rule, answers, expected):
    assert q.condition_met(rule, answers) is expected


def test_page_with_unmet_condition_is_skipped_both_ways():
    answers = {"rol": {"other": "kok"}}
    assert q.visible_page_indexes(QUESTIONNAIRE, answers) == [0, 2]
    assert q.next_page_index(QUESTIONNAIRE, 0, answers) == 2
    assert q.previous_page_index(QUESTIONNAIRE, 2, answers) == 0
    assert q.next_page_index(QUESTIONNAIRE, 2, answers) is None


def test_prune_hidden_drops_answers_of_questions_and_pages_now_hidden():
    answers = {
        "rol": "begeleider",
        "vak": "wiskunde",
        "kanalen": ["mail"],
        "welke_app": "itsme",
        "slot": "ok",
    }
    assert q.prune_hidden(QUESTIONNAIRE, answers) == {
        "rol": "begeleider",
        "kanalen": ["mail"],
        "slot": "ok",
    }
    # without a role, page two disappears with everything on it
    assert q.prune_hidden(QUESTIONNAIRE, {"kanalen": ["telefoon"], "slot": "x"}) == {"slot": "x"}


# --- validation -----------------------------------------------------------------------------


def test_valid_page_gives_clean_typed_answers():
    result = validate(0, {"sector": "welzijn", "rol": "lesgever", "vak": " Frans ", "jaren": "12"})
    assert result.ok
    assert result.answers == {"sector": "welzijn", "rol": "lesgever", "vak": "Frans", "jaren": 12}


def test_required_questions_get_a_dutch_message_beside_the_field():
    result = validate(0, {})
    assert result.errors == {"sector": q.REQUIRED, "rol": q.REQUIRED}
    assert result.answers == {}


def test_hidden_question_is_not_required_and_its_answer_not_kept():
    result = validate(0, {"sector": "welzijn", "rol": "begeleider", "vak": "Frans"})
    assert result.ok
    assert "vak" not in result.answers


def test_question_shown_by_an_answer_on_the_same_page_becomes_required():
    result = validate(0, {"sector": "welzijn", "rol": "lesgever"})
    assert result.errors == {"vak": q.REQUIRED}


def test_going_back_does_not_insist_on_required_answers():
    result = validate(0, {"rol": "begeleider"}, enforce_required=False)
    assert result.ok and result.answers == {"rol": "begeleider"}


@pytest.mark.parametrize(
    "data",
    [
        {"sector": "ruimtevaart", "rol": "lesgever", "vak": "x"},
        {"sector": "welzijn", "rol": "piloot"},
        {"sector": ["welzijn", "onderwijs"], "rol": "begeleider"},
    ],
)
def test_values_not_among_the_options_are_refused(data):
    result = validate(0, data)
    assert not result.ok
    assert "ruimtevaart" not in str(result.answers) and "piloot" not in str(result.answers)


def test_other_needs_its_text_and_is_stored_as_other():
    assert validate(0, {"sector": "welzijn", "rol": "__other__"}).errors == {
        "rol": "Vul in wat je bedoelt met 'Andere'."
    }
    result = validate(0, {"sector": "welzijn", "rol": "__other__", "rol__other": "Kok"})
    assert result.answers["rol"] == {"other": "Kok"}


def test_typing_an_other_text_without_ticking_other_counts_as_other():
    result = validate(0, {"sector": "welzijn", "rol__other": "Kok"})
    assert result.answers["rol"] == {"other": "Kok"}


def test_text_longer_than_max_length_is_refused():
    result = validate(0, {"sector": "welzijn", "rol": "lesgever", "vak": "x" * 11})
    assert result.errors == {"vak": "Gebruik hoogstens 10 tekens (nu 11)."}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("51", "Vul een getal in van 0 tot en met 50."),
        ("-1", "Vul een getal in van 0 tot en met 50."),
        ("2,5", "Vul een geheel getal in, bv. 5."),
        ("veel", "Vul een geheel getal in, bv. 5."),
        ("nan", "Vul een geheel getal in, bv. 5."),
        ("1" * 40, "Vul een geheel getal in, bv. 5."),
    ],
)
def test_number_outside_its_range_or_not_a_number_is_refused(raw, error):
    result = validate(0, {"sector": "welzijn", "rol": "begeleider", "jaren": raw})
    assert result.errors == {"jaren": error}


def test_multiple_with_other_and_max_choices():
    answers = {"rol": "lesgever"}
    ok = validate(1, {"kanalen": ["mail", "__other__"], "kanalen__other": "Post"}, answers)
    assert ok.errors == {"stellingen.a": q.REQUIRED}
    assert ok.answers["kanalen"] == ["mail", {"other": "Post"}]
    too_many = validate(1, {"kanalen": ["mail", "telefoon", "balie"]}, answers)
    assert too_many.errors["kanalen"] == "Kies maximaal 2 antwoorden."
    repeated = validate(1, {"kanalen": ["mail", "mail"]}, answers)
    assert repeated.errors["kanalen"] == q.NOT_AN_OPTION


def test_required_grid_needs_every_item_and_values_on_its_scale():
    answers = {"rol": "lesgever"}
    assert validate(1, {"stellingen.a": "1"}, answers).errors == {
        "stellingen.a": "Beantwoord elke stelling."
    }
    assert validate(1, {"stellingen.a": "1", "stellingen.b": "9"}, answers).errors == {
        "stellingen.a": q.NOT_AN_OPTION
    }
    result = validate(1, {"stellingen.a": "1", "stellingen.b": "2", "nut": "2"}, answers)
    assert result.answers == {"stellingen": {"a": "1", "b": "2"}, "nut": "2"}


def test_includes_condition_on_the_same_page():
    answers = {"rol": "lesgever"}
    grid = {"stellingen.a": "1", "stellingen.b": "2"}
    shown = validate(1, {**grid, "kanalen": ["telefoon"], "welke_app": "itsme"}, answers)
    assert shown.answers["welke_app"] == "itsme"
    hidden = validate(1, {**grid, "kanalen": ["mail"], "welke_app": "itsme"}, answers)
    assert "welke_app" not in hidden.answers


def test_fields_that_are_not_on_the_page_refuse_the_whole_form():
    with pytest.raises(q.ForeignFields):
        validate(0, {"sector": "welzijn", "rol": "lesgever", "slot": "van een andere pagina"})
    with pytest.raises(q.ForeignFields):
        validate(0, {"sector": "welzijn", "is_admin": "1"})


def test_first_incomplete_page_finds_a_required_question_left_open():
    answers = {"sector": "welzijn", "rol": "lesgever", "vak": "Frans"}
    assert q.first_incomplete_page(QUESTIONNAIRE, answers) == 1
    answers["stellingen"] = {"a": "1", "b": "1"}
    assert q.first_incomplete_page(QUESTIONNAIRE, answers) is None


def test_stored_answers_fill_the_form_again():
    multiple = QUESTIONNAIRE["pages"][1]["questions"][0]
    assert q.form_values(multiple, ["mail", {"other": "Post"}]) == {
        "kanalen": ["mail", "__other__"],
        "kanalen__other": "Post",
    }
    grid = QUESTIONNAIRE["pages"][1]["questions"][2]
    assert q.form_values(grid, {"a": "1"}) == {"stellingen.a": "1"}


def test_sector_options_come_from_the_campaign():
    sector_question = QUESTIONNAIRE["pages"][0]["questions"][0]
    options = q.options_for(sector_question, QUESTIONNAIRE, SECTORS)
    assert [o["value"] for o in options] == ["onderwijs", "welzijn"]
    assert options[0]["hint"] == "CVO"
