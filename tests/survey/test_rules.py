"""Promised rules of the questionnaire: chained show-if conditions prune what hangs on a
hidden answer, and a page hidden by show-if cannot be opened or saved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Link, Response
from campaign.survey import questionnaire as q
from campaign.survey.services import SurveyError, save_page, start_response
from tests.survey.conftest import form, start_survey

#: Page "les" is shown if a = ja; question c (page "afsluiter") if b = ja; on page 1,
#: y is shown if x = ja and z if y = ja.  The last page keeps the response from
#: completing while earlier pages are changed.
CHAINED = """\
slug: ketting
title: Voorwaarden in een ketting
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-07-01 00:00
  closes_at: 2027-07-31 00:00
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - code: onderwijs
    name: Onderwijs
    target: 10
questionnaire:
  pages:
    - id: start
      title: Start
      questions:
        - id: a
          type: single
          label: Geef je les?
          options: [ja, nee]
          required: true
        - id: x
          type: single
          label: Werk je met groepen?
          options: [ja, nee]
        - id: y
          type: single
          label: Ook online?
          options: [ja, nee]
          show_if: {question: x, equals: ja}
        - id: z
          type: text
          label: Met welk platform?
          show_if: {question: y, equals: ja}
    - id: les
      title: Over je lessen
      show_if: {question: a, equals: ja}
      questions:
        - id: b
          type: single
          label: Geef je ook les over digitale vragen?
          options: [ja, nee]
          required: true
    - id: afsluiter
      title: Nog even
      questions:
        - id: c
          type: textarea
          label: Welke digitale vragen komen in je lessen?
          show_if: {question: b, equals: ja}
        - id: d
          type: text
          label: Je gemeente
    - id: slot
      title: Tot slot
      questions:
        - id: e
          type: text
          label: Nog iets?
          required: true
"""
JULY = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def chained_link(app: Flask) -> Link:
    app.config["CLOCK"] = lambda: JULY
    campaign = load_campaign(parse_campaign_text(CHAINED, "ketting.yaml")).campaign
    key_figure = save_key_figure(campaign, name="An", email="an@example.org")
    link = root_link(key_figure)
    db.session.commit()
    return link


def stored(response: Response) -> dict:
    db.session.expire_all()
    return db.session.get(Response, response.id).answers


def answer_through_page_three(response: Response) -> None:
    for index, data in enumerate(
        [
            {"a": "ja", "x": "ja", "y": "ja", "z": "Teams"},
            {"b": "ja"},
            {"c": "itsme", "d": "Brugge"},
        ]
    ):
        outcome = save_page(response, index, form(data))
        assert not outcome.errors and outcome.completion is None, outcome


# --- chained show-if -------------------------------------------------------------------------


def test_prune_hidden_follows_a_chain_of_conditions(chained_link):
    questionnaire = chained_link.campaign.questionnaire
    everything = {"a": "ja", "x": "ja", "y": "ja", "z": "Teams", "b": "ja", "c": "itsme"}
    assert q.prune_hidden(questionnaire, everything) == everything
    assert q.prune_hidden(questionnaire, {**everything, "a": "nee"}) == {
        "a": "nee",
        "x": "ja",
        "y": "ja",
        "z": "Teams",
    }
    assert q.prune_hidden(questionnaire, {**everything, "x": "nee"}) == {
        "a": "ja",
        "x": "nee",
        "b": "ja",
        "c": "itsme",
    }


def test_hiding_a_page_prunes_its_answers_and_what_hangs_on_them(chained_link):
    response = start_response(chained_link)
    answer_through_page_three(response)
    assert stored(response)["c"] == "itsme"
    save_page(response, 0, form({"a": "nee", "x": "ja", "y": "ja", "z": "Teams"}))
    # b's page is hidden now, so b goes, and c (shown if b) goes with it; d stays
    assert stored(response) == {"a": "nee", "x": "ja", "y": "ja", "z": "Teams", "d": "Brugge"}
    assert q.visible_page_indexes(chained_link.campaign.questionnaire, stored(response)) == [
        0,
        2,
        3,
    ]


def test_a_chain_on_one_page_keeps_only_what_is_shown(chained_link):
    response = start_response(chained_link)
    save_page(response, 0, form({"a": "ja", "x": "nee", "y": "ja", "z": "Teams"}))
    assert stored(response) == {"a": "ja", "x": "nee"}
    save_page(response, 0, form({"a": "ja", "x": "ja", "y": "nee", "z": "Teams"}))
    assert stored(response) == {"a": "ja", "x": "ja", "y": "nee"}


def test_a_hidden_required_question_does_not_block_the_page(chained_link):
    response = start_response(chained_link)
    outcome = save_page(response, 0, form({"a": "nee"}))
    assert not outcome.errors
    assert outcome.next_page == 2  # page "les" (and its required b) is skipped


# --- a hidden page cannot be opened -------------------------------------------------------------


def test_a_page_hidden_by_show_if_redirects_in_the_browser(chained_link, client):
    code = chained_link.code
    start_survey(client, code)
    for number, data in enumerate([{"a": "ja"}, {"b": "ja"}, {"d": "Brugge"}], start=1):
        assert client.post(f"/s/{code}/vraag/{number}", data=form(data)).status_code == 302
    assert client.get(f"/s/{code}/vraag/2").status_code == 200  # reached, and shown
    assert client.post(f"/s/{code}/vraag/1", data=form({"a": "nee"})).status_code == 302
    hidden = client.get(f"/s/{code}/vraag/2")
    assert hidden.status_code == 302
    assert not hidden.headers["Location"].endswith("/vraag/2")
    posted = client.post(f"/s/{code}/vraag/2", data=form({"b": "nee"}))
    assert posted.status_code == 302 and not posted.headers["Location"].endswith("/vraag/2")
    response = db.session.scalar(db.select(Response).where(Response.link_id == chained_link.id))
    assert "b" not in stored(response)


def test_saving_a_hidden_page_raises_and_stores_nothing(chained_link):
    response = start_response(chained_link)
    answer_through_page_three(response)
    save_page(response, 0, form({"a": "nee"}))
    before = stored(response)
    response = db.session.get(Response, response.id)
    assert response.last_page >= 1  # reached before: only show-if stands in the way
    with pytest.raises(SurveyError):
        save_page(response, 1, form({"b": "nee"}))
    assert stored(response) == before
