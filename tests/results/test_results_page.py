"""The results page: counts and percentages per question from seeded answers, exactly;
filters; small groups suppressed; text answers; the pack button before and after the close."""

from __future__ import annotations

import re

import pytest

from campaign.results.services import (
    MIN_GROUP,
    SUPPRESSED,
    SUPPRESSED_SENTENCE,
    campaign_results,
    text_page,
)
from tests.results.results_seed import AFTER, DURING, link_for, load, respond, seed


@pytest.fixture
def seeded(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    return campaign


def by_id(results):
    return {q.id: q for q in results.questions}


def counts(result):
    return {bar.value: (bar.count, round(bar.percent, 1)) for bar in result.bars}


def test_only_completed_responses_count(seeded):
    assert campaign_results(seeded, {}).respondents == 8


def test_single_and_likert_counts_with_percentages_of_who_answered(seeded):
    questions = by_id(campaign_results(seeded, {}))
    assert counts(questions["nut"]) == {"1": (1, 12.5), "2": (2, 25.0), "3": (5, 62.5)}
    assert counts(questions["rol"]) == {
        "lesgever": (4, 50.0),
        "consulent": (3, 37.5),
        "__other__": (1, 12.5),
    }
    assert questions["rol"].others == ["Maatschappelijk werker"]
    assert counts(questions["sector"]) == {
        "onderwijs": (2, 25.0),
        "welzijn": (5, 62.5),
        "arbeid": (1, 12.5),
    }


def test_multiple_counts_respondents_per_option(seeded):
    kanalen = by_id(campaign_results(seeded, {}))["kanalen"]
    assert kanalen.answered == 8
    assert counts(kanalen) == {
        "mail": (5, 62.5),
        "telefoon": (4, 50.0),
        "balie": (2, 25.0),
        "__other__": (1, 12.5),
    }
    assert kanalen.others == ["Via WhatsApp"]


def test_grid_counts_per_item_of_who_answered_that_item(seeded):
    functies = by_id(campaign_results(seeded, {}))["functies"]
    assert functies.answered == 7
    rows = {row.id: (row.answered, counts(row)) for row in functies.rows}
    assert rows["zoeken"] == (7, {"1": (1, 14.3), "2": (1, 14.3), "3": (5, 71.4)})
    assert rows["kaart"] == (6, {"1": (2, 33.3), "2": (2, 33.3), "3": (2, 33.3)})


def test_number_question_count_median_min_max(seeded):
    ervaring = by_id(campaign_results(seeded, {}))["ervaring"]
    assert ervaring.number == {"count": 7, "min": 1.0, "max": 20.0, "median": 5.0}


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(seeded):
    respond(link_for(seeded, "twee@example.org"), {"sector": "arbeid", "ervaring": "6"}, {})
    ervaring = by_id(campaign_results(seeded, {}))["ervaring"]
    assert ervaring.number == {"count": 8, "min": 1.0, "max": 20.0, "median": 5.5}


def test_text_answers_are_listed(seeded):
    questions = by_id(campaign_results(seeded, {}))
    assert questions["opmerking"].text_total == 2
    assert sorted(questions["opmerking"].texts) == ["=1+1", "Goed idee"]
    assert questions["beschrijving"].text_total == 5


def test_filter_by_sector_follows_the_response_sector(seeded):
    results = campaign_results(seeded, {"sector": "welzijn"})
    assert results.respondents == 5
    assert counts(by_id(results)["nut"]) == {"1": (1, 20.0), "2": (2, 40.0), "3": (2, 40.0)}


def test_filter_by_region_counts_only_that_region(seeded):
    results = campaign_results(seeded, {"regio": "brugge"})
    assert results.respondents == 5
    assert counts(by_id(results)["nut"]) == {"1": (1, 20.0), "2": (1, 20.0), "3": (3, 60.0)}


def test_unknown_filter_values_are_ignored(seeded):
    results = campaign_results(seeded, {"regio": "gent", "kleur": "rood"})
    assert results.selection == {}
    assert results.respondents == 8


# --- small groups -------------------------------------------------------------------------


def test_a_selection_of_fewer_than_five_shows_nothing(seeded):
    results = campaign_results(seeded, {"rol": "lesgever", "regio": "brugge"})
    assert results.respondents == 3 < MIN_GROUP
    assert results.suppressed
    assert results.questions == []


def test_a_selection_of_exactly_five_is_shown(seeded):
    results = campaign_results(seeded, {"sector": "welzijn"})
    assert results.respondents == MIN_GROUP
    assert not results.suppressed


def test_a_question_answered_by_fewer_than_five_in_the_selection_is_suppressed(seeded):
    questions = by_id(campaign_results(seeded, {"regio": "brugge"}))
    assert questions["vorm"].answered == 3
    assert questions["vorm"].suppressed
    assert questions["vorm"].bars == []
    assert not questions["nut"].suppressed


def test_a_grid_row_with_fewer_than_five_answers_is_suppressed(seeded, client, auth):
    link = link_for(seeded, "rij@example.org")
    for _ in range(2):
        respond(link, {"sector": "welzijn"}, {"functies.zoeken": "2"})
    functies = by_id(campaign_results(seeded, {"sector": "welzijn"}))["functies"]
    rows = {row.id: row for row in functies.rows}
    assert rows["zoeken"].answered == 6 and not rows["zoeken"].suppressed
    assert counts(rows["zoeken"])["2"] == (3, 50.0)
    assert rows["kaart"].answered == 3 and rows["kaart"].suppressed
    assert rows["kaart"].bars == []
    auth.login()
    page = section(
        client.get("/dashboard/resultaten-test/resultaten/?sector=welzijn").text, "functies"
    )
    assert row_cells(page, "Een kaart") == [SUPPRESSED]
    assert row_cells(page, "Zoeken op hulpvraag")[-1] == "6"


def test_page_of_a_small_selection_shows_only_the_message(seeded, client, auth):
    auth.login()
    reply = client.get("/dashboard/resultaten-test/resultaten/?sector=onderwijs")
    assert reply.status_code == 200
    assert SUPPRESSED_SENTENCE in reply.text
    assert 'id="vraag-' not in reply.text
    assert "Digicafé" not in reply.text
    assert "afgeronde antwoorden in deze selectie" not in reply.text


def test_page_shows_counts_percentages_and_the_suppressed_cells(seeded, client, auth):
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/?regio=brugge").text
    assert "5 afgeronde antwoorden in deze selectie" in page
    nut = section(page, "nut")
    assert row_cells(nut, "Eens") == ["3", "60 %"]
    assert row_cells(nut, "Oneens") == ["1", "20 %"]
    assert SUPPRESSED_SENTENCE in section(page, "vorm")
    functies = section(page, "functies")
    assert SUPPRESSED_SENTENCE in functies  # 4 answered it in Brugge
    assert "Spreekuur" in section(page, "beschrijving")


def test_page_over_everything_shows_grid_and_number(seeded, client, auth):
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/").text
    assert "8 afgeronde antwoorden." in page
    functies = section(page, "functies")
    assert row_cells(functies, "Zoeken op hulpvraag") == [
        "1 (14,3 %)",
        "1 (14,3 %)",
        "5 (71,4 %)",
        "7",
    ]
    ervaring = section(page, "ervaring")
    assert re.search(r"<dt>Mediaan</dt><dd>5</dd>", ervaring)
    assert 'src="/dashboard/static/plotly.min.js"' in page
    assert "Plotly.newPlot" in section(page, "kanalen")


def test_text_answers_hidden_in_a_small_selection(seeded, client, auth):
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/?regio=kortrijk").text
    assert "Via WhatsApp" not in page and "Laptops" not in page
    texts = client.get(
        "/dashboard/resultaten-test/resultaten/tekst/beschrijving?regio=kortrijk"
    ).text
    assert SUPPRESSED_SENTENCE in texts
    assert "Digitaal spreekuur" not in texts
    selection, question, _pages = text_page(seeded, "beschrijving", {"regio": "kortrijk"}, 1)
    assert selection.respondents == 3 and question is None


def test_long_text_lists_are_paged(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    link = link_for(campaign)
    for number in range(12):
        respond(link, {"sector": "welzijn"}, {"opmerking": f"Opmerking nummer {number:02d}"})
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/").text
    assert section(page, "opmerking").count("<li>") == 10
    assert "Alle 12 antwoorden bekijken" in page
    full = client.get("/dashboard/resultaten-test/resultaten/tekst/opmerking").text
    assert full.count("Opmerking nummer") == 12


def test_empty_campaign_says_there_are_no_answers_yet(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    load()
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/").text
    assert "Nog geen afgeronde antwoorden" in page


def test_results_need_a_login(seeded, client):
    reply = client.get("/dashboard/resultaten-test/resultaten/")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def test_pack_button_is_disabled_with_the_reason_before_the_close(seeded, client, auth, app):
    auth.login()
    page = client.get("/dashboard/resultaten-test/resultaten/").text
    assert 'aria-disabled="true"' in page
    assert "zodra de bevraging gesloten is (31 juli 2027 om 23.59 u)" in page
    reply = client.get("/dashboard/resultaten-test/resultaten/pakket.zip")
    assert reply.status_code == 302
    app.config["CLOCK"] = lambda: AFTER
    page = client.get("/dashboard/resultaten-test/resultaten/").text
    assert 'href="/dashboard/resultaten-test/resultaten/pakket.zip"' in page


def test_results_tab_is_on_the_campaign_pages(seeded, client, auth):
    auth.login()
    page = client.get("/dashboard/resultaten-test/").text
    assert 'href="/dashboard/resultaten-test/resultaten/"' in page


# --- reading the HTML -----------------------------------------------------------------------


def section(page: str, question_id: str) -> str:
    start = page.index(f'id="vraag-{question_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def row_cells(html: str, label: str) -> list[str]:
    row = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert row, label
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [
        re.sub(r"<[^>]+>", "", c).replace("&nbsp;", " ").replace("  ", " ").strip() for c in cells
    ]
