"""``flask results export``: files written, partial apart, and Dutch errors with exit status 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from tests.results import test_export as base

#: Fixtures shared with the export tests.
campaign = base.campaign
link = base.link
respond = base.respond

SLUG = "eerste-hulp-digitale-vragen"


def export(runner, *args: str):
    return runner.invoke(args=["results", "export", *args])


def read_csv(path: Path, delimiter: str = ";") -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_csv_export_writes_the_data_and_its_codebook(runner, link, tmp_path):
    respond(link)
    respond(link, pages=2)
    target = tmp_path / "antwoorden.csv"
    result = export(runner, SLUG, "--format", "csv", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "1 afgeronde antwoorden geschreven naar" in result.output
    assert target.read_bytes().startswith(b"\xef\xbb\xbfrij;")
    assert len(read_csv(target)) == 1
    book = tmp_path / "antwoorden-codeboek.csv"
    assert "codeboek staat in" in result.output
    assert any(row["kolom"] == "digiwijzer_nut" for row in read_csv(book))
    assert not list(tmp_path.glob("*.deel"))


def test_partial_export_with_commas(runner, link, tmp_path):
    respond(link)
    respond(link, pages=2)
    respond(link, pages=3)
    target = tmp_path / "onvolledig.csv"
    result = export(
        runner, SLUG, "--format", "CSV", "--output", str(target), "--partial", "--delimiter", ","
    )
    assert result.exit_code == 0, result.output
    assert "2 onvolledige antwoorden" in result.output
    rows = read_csv(target, ",")
    assert sorted(row["laatste_pagina"] for row in rows) == ["aanbod_kennis", "basisvaardigheden"]


def test_xlsx_and_json_exports(runner, link, tmp_path):
    respond(link)
    xlsx, data = tmp_path / "a.xlsx", tmp_path / "a.json"
    assert export(runner, SLUG, "--format", "xlsx", "--output", str(xlsx)).exit_code == 0
    assert openpyxl.load_workbook(xlsx).sheetnames == ["antwoorden", "codeboek"]
    assert export(runner, SLUG, "--format", "json", "--output", str(data)).exit_code == 0
    assert len(json.loads(data.read_text(encoding="utf-8"))["responses"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["onbekend", "--format", "csv", "--output", "x.csv"], "Geen campagne met slug 'onbekend'"),
        ([SLUG, "--format", "pdf", "--output", "x.pdf"], "Onbekend formaat 'pdf': kies csv, xlsx"),
        ([SLUG, "--output", "x.csv"], "Kies een formaat met --format"),
        ([SLUG, "--format", "csv"], "Geef met --output het bestand op"),
        ([SLUG, "--format", "csv", "--output", "x.csv", "--delimiter", "|"], "scheidingsteken '|'"),
        ([SLUG, "--format", "xlsx", "--output", "x.xlsx", "--delimiter", ","], "alleen voor"),
        ([SLUG, "--format", "csv", "--output", "/geen/map/x.csv"], "De map /geen/map bestaat niet"),
    ],
)
def test_errors_are_dutch_and_fail(runner, campaign, tmp_path, monkeypatch, args, message):
    work = tmp_path / "uit"
    work.mkdir()
    monkeypatch.chdir(work)
    result = export(runner, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not list(work.iterdir())
