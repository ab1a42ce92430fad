"""A small campaign with every question type and a results section, and respondents made
through the survey's own services (``start_response``, ``save_page``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from campaign import attribution
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Campaign, Link, Response
from campaign.survey.services import save_page, start_response
from tests.survey.conftest import form

CAMPAIGN = """\
slug: resultaten-test
title: Digitale vragen in de regio
organisers: [POM West-Vlaanderen, Huis van het Leren]
schedule:
  opens_at: 2027-07-01 09:00
  closes_at: 2027-07-31 23:59
  results_due: 2027-08-16
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - {code: onderwijs, name: Onderwijs, target: 10}
  - {code: welzijn, name: Welzijn, target: 8}
  - {code: arbeid, name: Arbeidsmarkt, target: 5}
questionnaire:
  scales:
    eens:
      - {value: "1", label: Oneens}
      - {value: "2", label: Neutraal}
      - {value: "3", label: Eens}
  pages:
    - id: profiel
      title: Over jou
      questions:
        - {id: sector, type: sector, label: "In welke sector werk je?", required: true}
        - id: regio
          type: single
          label: In welke regio werk je?
          options: [{value: brugge, label: Regio Brugge}, {value: kortrijk, label: Regio Kortrijk}]
        - id: rol
          type: single
          label: Wat is je functie?
          other: true
          options: [{value: lesgever, label: Lesgever}, {value: consulent, label: Consulent}]
        - {id: ervaring, type: number, label: "Hoeveel jaar ervaring heb je?"}
    - id: vragen
      title: Digitale vragen
      questions:
        - {id: nut, type: likert, scale: eens, label: Een Digiwijzer helpt mij.}
        - id: kanalen
          type: multiple
          label: Via welke kanalen komen vragen binnen?
          other: true
          options:
            - {value: mail, label: E-mail}
            - {value: telefoon, label: Telefoon}
            - {value: balie, label: Aan de balie}
        - id: functies
          type: grid
          scale: eens
          label: Wat moet een Digiwijzer kunnen?
          items: [{id: zoeken, label: Zoeken op hulpvraag}, {id: kaart, label: Een kaart}]
        - id: aanbod
          type: single
          label: Heeft je organisatie een aanbod?
          options: [{value: ja, label: Ja}, {value: nee, label: Nee}]
        - id: vorm
          type: multiple
          label: Welke vorm heeft het aanbod?
          show_if: {question: aanbod, equals: ja}
          options: [{value: groep, label: Groepsles}, {value: individueel, label: Individueel}]
        - id: beschrijving
          type: textarea
          label: Beschrijf het aanbod.
          show_if: {question: aanbod, equals: ja}
        - id: deelname
          type: single
          label: Wil je organisatie meedoen aan een Digiwijzer?
          show_if: {question: aanbod, equals: ja}
          options:
            - {value: ja, label: Ja}
            - {value: misschien, label: Misschien}
            - {value: nee, label: Nee}
        - {id: opmerking, type: textarea, label: "Nog iets kwijt?"}
results:
  profile: [sector, regio, rol]
  decision:
    demand:
      - {question: nut, positive: ["3"]}
      - functies
    offer:
      - {question: aanbod, positive: [ja]}
      - {question: deelname, positive: [ja, misschien]}
    catalogue:
      take_part: deelname
      take_part_values: [ja, misschien]
      fields: [regio, vorm, beschrijving]
"""

#: Mid-July 2027 (Brussels): the campaign is open.
DURING = datetime(2027, 7, 15, 10, 0, tzinfo=UTC)
#: After the close.
AFTER = datetime(2027, 8, 2, 10, 0, tzinfo=UTC)


def load(text: str = CAMPAIGN) -> Campaign:
    return load_campaign(parse_campaign_text(text, "resultaten.yaml")).campaign


def link_for(campaign: Campaign, email: str = "kf@example.org", sector: str = "welzijn") -> Link:
    key_figure = save_key_figure(campaign, name="Sleutel", email=email, sector_code=sector)
    link = attribution.root_link(key_figure)
    db.session.commit()
    return link


def respond(link: Link, profile: dict[str, Any], answers: dict[str, Any], finish: bool = True):
    """A respondent through ``link``: the profile page, then (when finishing) the questions."""
    response = start_response(link)
    outcome = save_page(response, 0, form(profile))
    assert not outcome.errors, outcome.errors
    if finish:
        outcome = save_page(response, 1, form(answers))
        assert not outcome.errors, outcome.errors
        assert outcome.completion is not None
    return db.session.get(Response, response.id)


#: Eight completed respondents and one who stopped after the profile page. Per sector:
#: onderwijs 2, welzijn 5, arbeid 1; per region: brugge 5, kortrijk 3.
PEOPLE: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"sector": "onderwijs", "regio": "brugge", "rol": "lesgever", "ervaring": "2"},
        {
            "nut": "3",
            "kanalen": ["mail", "telefoon"],
            "functies.zoeken": "3",
            "functies.kaart": "1",
            "aanbod": "ja",
            "vorm": ["groep"],
            "beschrijving": "Digicafé in de bib",
            "deelname": "ja",
            "opmerking": "Goed idee",
        },
    ),
    (
        {"sector": "onderwijs", "regio": "brugge", "rol": "consulent", "ervaring": "5"},
        {
            "nut": "3",
            "kanalen": ["mail"],
            "functies.zoeken": "3",
            "functies.kaart": "2",
            "aanbod": "ja",
            "vorm": ["groep", "individueel"],
            "beschrijving": "Lessen smartphone",
            "deelname": "misschien",
        },
    ),
    (
        {"sector": "welzijn", "regio": "kortrijk", "rol": "lesgever", "ervaring": "10"},
        {
            "nut": "2",
            "kanalen": ["balie", "__other__"],
            "kanalen__other": "Via WhatsApp",
            "functies.zoeken": "2",
            "aanbod": "nee",
        },
    ),
    (
        {
            "sector": "welzijn",
            "regio": "brugge",
            "rol": "__other__",
            "rol__other": "Maatschappelijk werker",
            "ervaring": "1",
        },
        {
            "nut": "1",
            "kanalen": ["mail"],
            "functies.zoeken": "3",
            "functies.kaart": "3",
            "aanbod": "ja",
            "vorm": ["individueel"],
            "beschrijving": "Spreekuur",
            "deelname": "nee",
        },
    ),
    (
        {"sector": "welzijn", "regio": "brugge", "rol": "lesgever", "ervaring": "20"},
        {
            "nut": "3",
            "kanalen": ["telefoon"],
            "functies.zoeken": "1",
            "functies.kaart": "1",
            "aanbod": "nee",
            "opmerking": "=1+1",
        },
    ),
    (
        {"sector": "welzijn", "regio": "kortrijk", "rol": "consulent"},
        {
            "nut": "3",
            "kanalen": ["mail", "telefoon", "balie"],
            "functies.zoeken": "3",
            "functies.kaart": "3",
            "aanbod": "ja",
            "vorm": ["groep"],
            "beschrijving": "Digitaal spreekuur",
            "deelname": "ja",
        },
    ),
    (
        {"sector": "welzijn", "regio": "brugge", "rol": "lesgever", "ervaring": "4"},
        {"nut": "2", "kanalen": ["mail"], "aanbod": "nee"},
    ),
    (
        {"sector": "arbeid", "regio": "kortrijk", "rol": "consulent", "ervaring": "8"},
        {
            "nut": "3",
            "kanalen": ["telefoon"],
            "functies.zoeken": "3",
            "functies.kaart": "2",
            "aanbod": "ja",
            "vorm": ["groep"],
            "beschrijving": '=HYPERLINK("http://example.org")',
            "deelname": "ja",
        },
    ),
]


def seed(campaign: Campaign) -> None:
    """``PEOPLE`` through one key figure's link, plus a respondent who did not finish."""
    link = link_for(campaign)
    for profile, answers in PEOPLE:
        respond(link, profile, answers)
    respond(link, {"sector": "onderwijs", "regio": "brugge", "rol": "lesgever"}, {}, finish=False)
