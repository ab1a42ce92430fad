"""The Digiwijzer decision summary: the three conditions, the figures behind the first two
from the declared questions, the offering catalogue as a table and a CSV."""

from __future__ import annotations

import csv
import io

import pytest

from campaign.results.decision import decision_summary
from campaign.results.services import SUPPRESSED_SENTENCE
from tests.results.results_seed import CAMPAIGN, DURING, link_for, load, respond, seed

PAGE = "/dashboard/resultaten-test/resultaten/digiwijzer"


@pytest.fixture
def seeded(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    return campaign


def test_figures_behind_each_condition(seeded):
    summary = decision_summary(seeded)
    demand, offer = summary.conditions
    assert [f.result.id for f in demand.figures] == ["nut", "functies"]
    assert [f.result.id for f in offer.figures] == ["aanbod", "deelname"]
    assert demand.figures[0].shares == [("", 5, 8)]
    assert demand.figures[0].positive_text == "eens"
    assert demand.figures[1].shares == []  # declared without positive answers
    assert offer.figures[0].shares == [("", 5, 8)]
    assert offer.figures[1].shares == [("", 4, 5)]
    assert offer.figures[1].positive_text == "ja of misschien"


def test_catalogue_lists_the_offers_of_those_who_take_part(seeded):
    catalogue = decision_summary(seeded).catalogue
    assert catalogue is not None
    assert [label for _, label in catalogue.columns] == [
        "In welke regio werk je?",
        "Welke vorm heeft het aanbod?",
        "Beschrijf het aanbod.",
    ]
    assert sorted(catalogue.rows) == sorted(
        [
            ["Regio Brugge", "Groepsles", "Digicafé in de bib"],
            ["Regio Brugge", "Groepsles; Individueel", "Lessen smartphone"],
            ["Regio Kortrijk", "Groepsles", "Digitaal spreekuur"],
            ["Regio Kortrijk", "Groepsles", '=HYPERLINK("http://example.org")'],
        ]
    )  # "Spreekuur" answered nee: not in the catalogue


def test_page_shows_the_three_conditions_and_the_catalogue(seeded, client, auth):
    auth.login()
    page = client.get(PAGE).text
    assert "Voorwaarde 1: Er is voldoende vraag vanuit het werkveld" in page
    assert "Voorwaarde 2: Organisaties met een aanbod werken mee" in page
    assert "Voorwaarde 3: Samen met de digibanken ontwikkelen" in page
    assert "staat niet\n" not in page and "staat niet in de antwoorden" in page
    assert "62,5&nbsp;%</span>\n        antwoordde eens (5 van 8)" in page
    assert "80&nbsp;%</span>\n        antwoordde ja of misschien (4 van 5)" in page
    assert "4 beschrijvingen" in page
    assert "Lessen smartphone" in page and ">Spreekuur<" not in page


def test_catalogue_csv_parses_and_neutralises_formulas(seeded, client, auth):
    auth.login()
    reply = client.get(PAGE + "/aanbod.csv")
    assert reply.status_code == 200
    assert reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    text = reply.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == [
        "In welke regio werk je?",
        "Welke vorm heeft het aanbod?",
        "Beschrijf het aanbod.",
    ]
    assert len(rows) == 5
    assert ["Regio Kortrijk", "Groepsles", '\'=HYPERLINK("http://example.org")'] in rows


def test_small_campaign_shows_the_suppression_message(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    link = link_for(campaign)
    for _ in range(4):
        respond(
            link, {"sector": "welzijn"}, {"aanbod": "ja", "deelname": "ja", "beschrijving": "Les"}
        )
    summary = decision_summary(campaign)
    assert summary.respondents == 4
    assert summary.conditions == [] and summary.catalogue is None
    auth.login()
    page = client.get(PAGE).text
    assert SUPPRESSED_SENTENCE in page
    assert "Voorwaarde 1" not in page and ">Les<" not in page
    rows = client.get(PAGE + "/aanbod.csv").data.decode("utf-8").splitlines()
    assert len(rows) == 1  # the header only


def test_campaign_without_a_decision_section_has_a_clear_empty_state(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    text = CAMPAIGN[: CAMPAIGN.index("  decision:")]
    load(text)
    auth.login()
    page = client.get(PAGE).text
    assert "Voor deze campagne zijn geen beslissingsvragen aangeduid." in page
    assert "results: decision:" in page
