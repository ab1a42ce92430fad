"""Reloading a campaign file that drops an answered option is refused, like a dropped
answered question: a Dutch problem naming the question, the option and the count, and
nothing changed.  Answers are given through the survey's own services."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import DefinitionError
from campaign.definitions.services import find_campaign, load_campaign_file
from campaign.extensions import db
from campaign.models import Campaign
from campaign.survey.services import save_page, start_response
from tests.survey.conftest import form

OPTIONS_FILE = """\
slug: opties
title: Opties die blijven
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-06-28 09:00
  closes_at: 2027-09-15 23:59
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - code: onderwijs
    name: Onderwijs
    target: 50
questionnaire:
  scales:
    eens:
      - {value: "1", label: Oneens}
      - {value: "2", label: Neutraal}
      - {value: "3", label: Eens}
  pages:
    - id: vragen
      title: Vragen
      questions:
        - id: rol
          type: single
          label: Wat is je rol?
          other: true
          options:
            - {value: lesgever, label: Lesgever}
            - {value: begeleider, label: Begeleider}
            - {value: consulent, label: Consulent}
        - id: kanalen
          type: multiple
          label: Langs welke kanalen komen vragen binnen?
          options:
            - {value: telefoon, label: Telefoon}
            - {value: mail, label: E-mail}
            - {value: balie, label: Aan de balie}
        - id: stelling
          type: likert
          scale: eens
          label: Digitale vragen nemen toe.
        - id: vaardigheden
          type: grid
          scale: eens
          label: Ik kan ...
          items:
            - {id: toestel, label: een toestel instellen}
            - {id: itsme, label: helpen met itsme}
"""
JULY = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opties.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def campaign(app: Flask, tmp_path: Path) -> Campaign:
    app.config["CLOCK"] = lambda: JULY
    return load_campaign_file(write(tmp_path, OPTIONS_FILE)).campaign


def answer(campaign: Campaign, **fields: object) -> None:
    """One respondent who answers the page with ``fields`` (as form fields)."""
    key_figure = save_key_figure(campaign, name="An", email="an@example.org")
    link = root_link(key_figure)
    db.session.commit()
    response = start_response(link)
    outcome = save_page(response, 0, form(fields))
    assert not outcome.errors, outcome.errors


def refused(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_campaign_file(write(tmp_path, text))
    return [problem.message for problem in caught.value.problems]


def assert_unchanged(campaign: Campaign) -> None:
    db.session.expire_all()
    stored = find_campaign(campaign.slug)
    assert stored.questionnaire_version == 1
    assert json.dumps(stored.questionnaire) == json.dumps(campaign.questionnaire)


def test_dropping_an_answered_single_option_is_refused(campaign, tmp_path):
    answer(campaign, rol="begeleider")
    before = campaign.questionnaire
    problems = refused(
        tmp_path, OPTIONS_FILE.replace("            - {value: begeleider, label: Begeleider}\n", "")
    )
    assert problems == [
        "vraag 'rol': antwoordoptie 'begeleider' is verwijderd, maar is al gekozen in "
        "1 antwoord; zet de optie terug of gebruik een nieuwe campagne"
    ]
    db.session.expire_all()
    assert find_campaign(campaign.slug).questionnaire == before
    assert find_campaign(campaign.slug).questionnaire_version == 1


def test_dropping_an_answered_multiple_option_counts_every_response(campaign, tmp_path):
    answer(campaign, kanalen=["mail", "balie"])
    answer(campaign, kanalen=["mail"])
    problems = refused(
        tmp_path, OPTIONS_FILE.replace("            - {value: mail, label: E-mail}\n", "")
    )
    assert len(problems) == 1
    assert "vraag 'kanalen': antwoordoptie 'mail'" in problems[0]
    assert "gekozen in 2 antwoorden" in problems[0]


def test_dropping_an_answered_scale_value_is_refused_for_likert_and_grid(
    campaign, runner, tmp_path
):
    answer(campaign, stelling="3", **{"vaardigheden.toestel": "3", "vaardigheden.itsme": "1"})
    without_eens = OPTIONS_FILE.replace('      - {value: "3", label: Eens}\n', "")
    result = runner.invoke(args=["campaign", "load", str(write(tmp_path, without_eens))])
    assert result.exit_code == 1
    assert "niets gewijzigd. 2 problemen:" in result.output
    assert "vraag 'stelling': antwoordoptie '3' is verwijderd" in result.output
    assert "vraag 'vaardigheden': antwoordoptie '3' is verwijderd" in result.output
    assert_unchanged(campaign)


def test_dropping_other_with_answers_in_it_is_refused(campaign, tmp_path):
    answer(campaign, rol="__other__", rol__other="Bibliothecaris")
    problems = refused(tmp_path, OPTIONS_FILE.replace("          other: true\n", ""))
    assert problems == [
        "vraag 'rol': antwoordoptie 'Andere, namelijk ...' is verwijderd, maar is al "
        "gekozen in 1 antwoord; zet de optie terug of gebruik een nieuwe campagne"
    ]


def test_dropping_an_unanswered_option_or_relabelling_an_answered_one_is_accepted(
    campaign, tmp_path
):
    answer(campaign, rol="lesgever", kanalen=["telefoon"], stelling="1")
    changed = (
        OPTIONS_FILE.replace("            - {value: consulent, label: Consulent}\n", "")
        .replace("label: Lesgever}", "label: Leerkracht of lesgever}")
        .replace("            - {value: balie, label: Aan de balie}\n", "")
    )
    result = load_campaign_file(write(tmp_path, changed))
    assert result.campaign.questionnaire_version == 2
    options = result.campaign.questionnaire["pages"][0]["questions"][0]["options"]
    assert [o["value"] for o in options] == ["lesgever", "begeleider"]
