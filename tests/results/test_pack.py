"""The results pack: a zip streamed after the close, with the data (CSV, XLSX), the
codebook, the summary per sector, the offering catalogue and the self-contained report."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from campaign.results.services import SUPPRESSED
from tests.results.results_seed import AFTER, CAMPAIGN, DURING, load, seed

PACK = "/dashboard/resultaten-test/resultaten/pakket.zip"


@pytest.fixture
def closed(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    app.config["CLOCK"] = lambda: AFTER
    return campaign


def read_csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(name).decode("utf-8")
    assert text.startswith("\ufeff"), name
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def download(client) -> zipfile.ZipFile:
    reply = client.get(PACK)
    assert reply.status_code == 200
    assert reply.is_streamed
    assert reply.mimetype == "application/zip"
    assert (
        'filename="resultaten-test-resultatenpakket-2027-08-02.zip"'
        in (reply.headers["Content-Disposition"])
    )
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    assert archive.testzip() is None
    return archive


def test_pack_holds_every_file_under_a_dutch_name(closed, client, auth):
    auth.login()
    archive = download(client)
    assert archive.namelist() == [
        "lees-mij.txt",
        "antwoorden.csv",
        "antwoorden.xlsx",
        "codeboek.csv",
        "onvolledige-antwoorden.csv",
        "onvolledige-antwoorden-codeboek.csv",
        "samenvatting-per-sector.csv",
        "aanbod-digiwijzer.csv",
        "rapport.html",
    ]
    assert archive.getinfo("rapport.html").date_time[:3] == (2027, 8, 2)


def test_pack_data_parse_with_one_row_per_completed_response(closed, client, auth):
    auth.login()
    archive = download(client)
    data = read_csv(archive, "antwoorden.csv")
    assert len(data) == 1 + 8
    assert "nut" in data[0]
    codebook = read_csv(archive, "codeboek.csv")
    assert len(codebook) > 10
    # the one respondent who stopped after the profile page, apart, with the page reached
    partial = read_csv(archive, "onvolledige-antwoorden.csv")
    assert len(partial) == 1 + 1
    assert "laatste_pagina" in partial[0] and "nut" in partial[0]
    row = dict(zip(partial[0], partial[1], strict=True))
    assert row["sector"] == "onderwijs" and row["nut"] == ""
    partial_book = read_csv(archive, "onvolledige-antwoorden-codeboek.csv")
    assert any(line[0] == "laatste_pagina" for line in partial_book[1:])
    workbook = load_workbook(io.BytesIO(archive.read("antwoorden.xlsx")), read_only=True)
    assert workbook.sheetnames == ["antwoorden", "codeboek"]
    assert sum(1 for _ in workbook["antwoorden"].iter_rows()) == 1 + 8


def test_pack_summary_and_catalogue(closed, client, auth):
    auth.login()
    archive = download(client)
    summary = {row[0]: row for row in read_csv(archive, "samenvatting-per-sector.csv")}
    assert summary["welzijn"][:5] == ["welzijn", "Welzijn", "8", "5", "62,5"]
    assert summary["arbeid"][5] == SUPPRESSED
    assert summary["totaal"][-1] == "80"
    catalogue = read_csv(archive, "aanbod-digiwijzer.csv")
    assert len(catalogue) == 1 + 4
    assert any(row[2] == '\'=HYPERLINK("http://example.org")' for row in catalogue[1:])


def test_pack_report_is_self_contained(closed, client, auth):
    auth.login()
    report = download(client).read("rapport.html").decode("utf-8")
    assert "<h1>Digitale vragen in de regio</h1>" in report
    assert "Respons per sector" in report and "Digicafé in de bib" in report
    assert not re.search(r'<(link|script|img)[^>]+(href|src)="(?!data:)', report)
    assert "Terug naar de resultaten" not in report


def test_pack_without_a_catalogue_leaves_that_file_out(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    campaign = load(CAMPAIGN[: CAMPAIGN.index("    catalogue:")])
    seed(campaign)
    app.config["CLOCK"] = lambda: AFTER
    auth.login()
    assert "aanbod-digiwijzer.csv" not in download(client).namelist()


def test_pack_is_refused_before_the_close(app, client, auth):
    app.config["CLOCK"] = lambda: DURING
    load()
    auth.login()
    reply = client.get(PACK, follow_redirects=True)
    assert reply.request.path == "/dashboard/resultaten-test/resultaten/"
    assert "zodra de bevraging gesloten is" in reply.text
