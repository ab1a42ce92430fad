"""The Export tab: login required, the empty state, and each button a streamed attachment."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import openpyxl
import pytest

from tests.results import test_export as base
from tests.survey.conftest import load_example

#: Fixtures shared with the export tests.
link = base.link
respond = base.respond

SLUG = "eerste-hulp-digitale-vragen"
PAGE = f"/dashboard/{SLUG}/export/"
#: The results are due on 4 October 2027: the day of the downloads.
DUE = datetime(2027, 10, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def campaign(app):
    app.config["CLOCK"] = lambda: DUE
    return load_example()


def rows(data: bytes, delimiter: str = ";") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_export_needs_a_login(client, campaign):
    for address in [PAGE, f"{PAGE}antwoorden.csv", f"{PAGE}codeboek.csv"]:
        reply = client.get(address)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def test_empty_state_without_responses(client, auth, campaign):
    auth.login()
    page = client.get(PAGE).text
    assert "Nog geen antwoorden om te exporteren." in page
    assert f'href="{PAGE}codeboek.csv"' in page
    assert "antwoorden.csv" not in page
    assert (
        '<a href="/dashboard/eerste-hulp-digitale-vragen/export/" aria-current="page">Export</a>'
        in page
    )


def test_page_offers_every_download_and_says_the_answers_are_anonymous(client, auth, link):
    respond(link)
    respond(link)
    respond(link, pages=2)
    auth.login()
    page = client.get(PAGE).text
    assert "2 rijen" in page and "1 respondent" in page
    for address in [
        "antwoorden.csv",
        "antwoorden.csv?scheidingsteken=komma",
        "antwoorden.xlsx",
        "antwoorden.json",
        "antwoorden.csv?onvolledig=1",
        "antwoorden.xlsx?onvolledig=1",
        "codeboek.csv",
    ]:
        assert f'href="{PAGE}{address}"'.replace("&", "&amp;") in page, address
    assert "geen naam, geen e-mailadres, geen link en geen sleutelfiguur" in page


def assert_attachment(reply, name: str, content_type: str) -> None:
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert reply.is_streamed


def test_csv_downloads(client, auth, link):
    respond(link)
    respond(link, pages=2)
    auth.login()
    reply = client.get(f"{PAGE}antwoorden.csv")
    assert_attachment(reply, f"{SLUG}-antwoorden-2027-10-04.csv", "text/csv; charset=utf-8")
    assert reply.data.startswith(b"\xef\xbb\xbfrij;")
    assert len(rows(reply.data)) == 1
    comma = client.get(f"{PAGE}antwoorden.csv?scheidingsteken=komma")
    assert comma.data.startswith("\ufeffrij,vragenlijstversie,".encode())
    partial = client.get(f"{PAGE}antwoorden.csv?onvolledig=1")
    assert_attachment(
        partial, f"{SLUG}-onvolledige-antwoorden-2027-10-04.csv", "text/csv; charset=utf-8"
    )
    assert [row["laatste_pagina"] for row in rows(partial.data)] == ["basisvaardigheden"]


def test_xlsx_json_and_codebook_downloads(client, auth, link):
    respond(link)
    auth.login()
    reply = client.get(f"{PAGE}antwoorden.xlsx")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert_attachment(reply, f"{SLUG}-antwoorden-2027-10-04.xlsx", xlsx)
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    assert book.sheetnames == ["antwoorden", "codeboek"]
    assert book["antwoorden"].max_row == 2
    reply = client.get(f"{PAGE}antwoorden.json")
    assert_attachment(
        reply, f"{SLUG}-antwoorden-2027-10-04.json", "application/json; charset=utf-8"
    )
    assert len(json.loads(reply.data)["responses"]) == 1
    reply = client.get(f"{PAGE}codeboek.csv")
    assert_attachment(reply, f"{SLUG}-codeboek-2027-10-04.csv", "text/csv; charset=utf-8")
    assert rows(reply.data)[0]["kolom"] == "rij"


@pytest.mark.parametrize(
    "address",
    ["antwoorden.pdf", "antwoorden.csv?scheidingsteken=pipe", "codeboek.csv?scheidingsteken=x"],
)
def test_unknown_downloads_are_not_found(client, auth, campaign, address):
    auth.login()
    assert client.get(f"{PAGE}{address}").status_code == 404
    assert client.get("/dashboard/onbekend/export/").status_code == 404
