"""The printable report: title, organisers, nl-BE dates, response per sector against
target, every question; print CSS; self-contained (no external files)."""

from __future__ import annotations

import re

import pytest

from campaign.results.report import sector_summary
from campaign.results.services import SUPPRESSED
from tests.results.results_seed import AFTER, DURING, load, seed

REPORT = "/dashboard/resultaten-test/resultaten/rapport"


@pytest.fixture
def seeded(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    app.config["CLOCK"] = lambda: AFTER
    return campaign


def test_report_has_title_organisers_and_dutch_dates(seeded, client, auth):
    auth.login()
    page = client.get(REPORT).text
    assert "<h1>Digitale vragen in de regio</h1>" in page
    assert "Een bevraging van POM West-Vlaanderen en Huis van het Leren." in page
    assert "<dt>Open sinds</dt><dd>1 juli 2027</dd>" in page
    assert "<dt>Gesloten op</dt><dd>31 juli 2027</dd>" in page
    assert "<dt>Resultaten verwacht</dt><dd>16 augustus 2027</dd>" in page
    assert "8 van de 23 beoogde" in page


def test_report_shows_response_per_sector_against_target(seeded, client, auth):
    auth.login()
    page = client.get(REPORT).text
    start = page.index('id="respons"')
    page = page[start : page.index("</section>", start)]
    rows = dict(
        (name, cells)
        for name, cells in (
            (m.group(1), re.findall(r'<td class="num">(.*?)</td>', m.group(2)))
            for m in re.finditer(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page)
        )
    )
    assert rows["Onderwijs"] == ["2", "10", "20&nbsp;%"]
    assert rows["Welzijn"] == ["5", "8", "62,5&nbsp;%"]
    assert rows["Arbeidsmarkt"] == ["1", "5", "20&nbsp;%"]
    assert rows["Totaal"] == ["8", "23", "34,8&nbsp;%"]


def test_report_has_every_question_with_its_figures(seeded, client, auth):
    auth.login()
    page = client.get(REPORT).text
    for question in seeded.questionnaire["pages"][0]["questions"]:
        assert question["label"] in page
    for question in seeded.questionnaire["pages"][1]["questions"]:
        assert question["label"] in page
    assert '<svg class="svg-bars"' in page
    assert "<dt>Mediaan</dt><dd>5</dd>" in page
    assert "Digicafé in de bib" in page


def test_report_is_printable_and_self_contained(seeded, client, auth):
    auth.login()
    page = client.get(REPORT).text
    assert "@media print" in page and "break-before: page" in page
    assert 'class="toolbar no-print"' in page
    assert not re.search(r'<(link|script)[^>]+(href|src)="(?!data:)', page)
    assert "plotly" not in page


def test_summary_per_sector_suppresses_small_sectors(seeded):
    header, rows = sector_summary(seeded)
    assert header == [
        "sector",
        "naam",
        "doel",
        "afgerond",
        "% van het doel",
        "nut: % Eens",
        "aanbod: % Ja",
        "deelname: % Ja of Misschien",
    ]
    table = {row[0]: row for row in rows}
    assert table["onderwijs"] == ["onderwijs", "Onderwijs", "10", "2", "20", *[SUPPRESSED] * 3]
    # welzijn: 5 respondents, nut 3 in 2 of 5, aanbod ja 2 of 5, deelname asked of 2 only
    assert table["welzijn"] == ["welzijn", "Welzijn", "8", "5", "62,5", "40", "40", SUPPRESSED]
    assert table["totaal"] == ["totaal", "Alle sectoren", "23", "8", "34,8", "62,5", "62,5", "80"]
