"""The exports: columns as the questionnaire implies, codes, the codebook, CSV/XLSX/JSON,
formula injection neutralised, partial responses apart, nothing that joins to a person.

Responses are made through the survey's own services (``start_response``, ``save_page``)
on the shipped example campaign.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from flask import Flask

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link, Response
from campaign.results import export
from campaign.results.codebook import codebook
from campaign.survey.services import save_page, start_response
from tests.survey.conftest import EXAMPLE_FORMS, form, load_example

#: 23:30 UTC on 14 July is 01:30 on 15 July in Brussels: the day written is the local one.
NOW = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)
LOCAL_DAY = "2027-07-15"
INJECTIONS = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\t=1", "\r=1"]


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: NOW
    return load_example()


@pytest.fixture
def link(campaign: Campaign) -> Link:
    key_figure = save_key_figure(
        campaign,
        name="An Vermeersch",
        email="an.vermeersch@example.org",
        organisation="CAW Noord",
        sector_code="welzijn",
    )
    made = root_link(key_figure)
    db.session.commit()
    return made


def respond(link: Link, changes: dict[int, dict[str, Any]] | None = None, pages: int = 7):
    """A respondent through ``link``: the example answers page by page, with ``changes``
    per page index, stopping after ``pages`` pages (fewer than 7: a partial response)."""
    response = start_response(link)
    for index, fields in enumerate(EXAMPLE_FORMS[:pages]):
        outcome = save_page(response, index, form({**fields, **(changes or {}).get(index, {})}))
        assert not outcome.errors, outcome.errors
    return db.session.get(Response, response.id)


def csv_rows(campaign: Campaign, **options: Any) -> list[dict[str, str]]:
    stream = io.BytesIO()
    export.write_csv(campaign, stream, **options)
    text = stream.getvalue().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=options.get("delimiter", ";")))


def csv_header(campaign: Campaign, **options: Any) -> list[str]:
    stream = io.StringIO()
    export.write_csv(campaign, stream, **options)
    return next(csv.reader(io.StringIO(stream.getvalue().lstrip("\ufeff")), delimiter=";"))


def expected_columns(campaign: Campaign, partial: bool = False) -> list[str]:
    """The columns the questionnaire implies, derived here on their own."""
    meta = ["rij", "vragenlijstversie", "telt_voor_sector"]
    meta += ["laatst_bewaard_op", "laatste_pagina"] if partial else ["afgerond_op"]
    questionnaire = campaign.questionnaire
    columns = list(meta)
    for page in questionnaire["pages"]:
        for question in page["questions"]:
            qid, kind = question["id"], question["type"]
            if kind == "grid":
                columns += [f"{qid}.{item['id']}" for item in question["items"]]
            elif kind == "multiple":
                columns += [f"{qid}.{option['value']}" for option in question["options"]]
            else:
                columns.append(qid)
            if question.get("other"):
                columns.append(f"{qid}.andere")
    return columns


# --- columns ------------------------------------------------------------------------------


def test_header_has_a_column_per_question_option_grid_row_and_other_text(campaign, link):
    respond(link)
    header = csv_header(campaign)
    assert header == expected_columns(campaign)
    assert "drempels.taal" in header and "drempels" not in header
    assert "soorten_hulpvragen.itsme_eid" in header and "soorten_hulpvragen" not in header
    assert {"organisatietype.andere", "doelgroepen.andere", "wat_helpt.andere"} <= set(header)
    assert len(header) == len(set(header))


def test_codebook_describes_every_column_with_dutch_labels(campaign):
    entries = codebook(campaign)
    assert [e.column for e in entries] == expected_columns(campaign)
    by_column = {e.column: e for e in entries}
    nut = by_column["digiwijzer_nut"]
    assert nut.question.startswith("Stelling: een Digiwijzer")
    assert ("5", "Helemaal eens") in nut.codes and nut.version == campaign.questionnaire_version
    assert by_column["drempels.taal"].codes == (("0", "niet aangeduid"), ("1", "aangeduid"))
    assert by_column["drempels.taal"].part.startswith("Taal")
    assert ("andere", "Andere, namelijk ...") in by_column["organisatietype"].codes
    assert ("welzijn", "Welzijn") in by_column["telt_voor_sector"].codes
    assert "' ervoor" in by_column["moeilijke_hulpvraag"].note


def test_one_row_per_completed_response_with_codes(campaign, link):
    respond(link)
    respond(
        link,
        {
            0: {"organisatietype": "__other__", "organisatietype__other": "Buurtwerk"},
            1: {"drempels": ["taal", "__other__"], "drempels__other": "Geen tijd"},
        },
    )
    respond(link, pages=3)  # partial: not in this export
    rows = csv_rows(campaign)
    assert len(rows) == 2
    assert [row["rij"] for row in rows] == ["1", "2"]
    first = next(r for r in rows if r["organisatietype"] == "vzw")
    other = next(r for r in rows if r["organisatietype"] == "andere")
    assert first["vragenlijstversie"] == str(campaign.questionnaire_version)
    assert first["telt_voor_sector"] == "onderwijs"  # the respondent's own answer
    assert first["afgerond_op"] == LOCAL_DAY
    assert first["ervaring_jaren"] == "7"
    assert (first["drempels.vaardigheden"], first["drempels.toestel"]) == ("1", "1")
    assert (first["drempels.taal"], first["drempels.andere"]) == ("0", "")
    assert first["soorten_hulpvragen.itsme_eid"] == "4"
    assert first["soorten_hulpvragen.email"] == ""  # a grid row left open
    assert first["moeilijke_hulpvraag"].startswith("Een aanvraag voor een premie")
    assert first["drempels_eigen_aanbod.tijd"] == ""  # hidden by its show-if: empty, not 0
    assert other["organisatietype.andere"] == "Buurtwerk"
    assert (other["drempels.taal"], other["drempels.andere"]) == ("1", "Geen tijd")
    assert other["drempels.vaardigheden"] == "0"


def test_partial_export_holds_only_the_responses_not_completed(campaign, link):
    respond(link)
    respond(link, pages=2)
    rows = csv_rows(campaign, partial=True)
    assert len(rows) == 1
    assert list(rows[0])[:5] == [
        "rij",
        "vragenlijstversie",
        "telt_voor_sector",
        "laatst_bewaard_op",
        "laatste_pagina",
    ]
    assert rows[0]["laatste_pagina"] == "basisvaardigheden"
    assert rows[0]["laatst_bewaard_op"] == LOCAL_DAY
    assert rows[0]["soorten_hulpvragen.itsme_eid"] == "4"
    assert rows[0]["digiwijzer_nut"] == ""
    assert "afgerond_op" not in rows[0]


def test_rows_are_grouped_by_sector_in_file_order(campaign, link):
    for code in ["welzijn", "onderwijs", "welzijn", "arbeidsmarkt", "onderwijs"]:
        respond(link, {0: {"sector": code}})
    order = [row["telt_voor_sector"] for row in csv_rows(campaign)]
    assert order == ["onderwijs", "onderwijs", "arbeidsmarkt", "welzijn", "welzijn"]


def test_no_cell_carries_a_response_link_or_key_figure(campaign, link):
    responses = [respond(link), respond(link)]
    key_figure = db.session.get(KeyFigure, link.key_figure_id)
    forbidden = [r.id for r in responses] + [link.code, key_figure.email, key_figure.name]
    forbidden += [key_figure.organisation]
    csv_stream, json_stream, xlsx = io.BytesIO(), io.StringIO(), io.BytesIO()
    export.write_csv(campaign, csv_stream)
    export.write_json(campaign, json_stream)
    export.write_xlsx(campaign, xlsx)
    texts = [csv_stream.getvalue().decode("utf-8-sig"), json_stream.getvalue()]
    book = openpyxl.load_workbook(xlsx)
    texts.append(repr([list(r) for r in book["antwoorden"].iter_rows(values_only=True)]))
    for text in texts:
        for value in forbidden:
            assert value not in text
    header = csv_header(campaign)
    meta = [
        column for column in header if "." not in column and column not in campaign_ids(campaign)
    ]
    assert meta == ["rij", "vragenlijstversie", "telt_voor_sector", "afgerond_op"]
    row_numbers = [int(row["rij"]) for row in csv_rows(campaign)]
    assert sorted(row_numbers) == [1, 2]


def campaign_ids(campaign: Campaign) -> set[str]:
    return {q["id"] for page in campaign.questionnaire["pages"] for q in page["questions"]}


# --- formula injection --------------------------------------------------------------------


def injected(campaign: Campaign, link: Link) -> None:
    """Six responses, each with one injection in a free text, an other-text and a grid-free
    text.  The survey strips leading whitespace, so a tab or carriage return in front
    reaches the store only by other paths (older data, imports): those are stored directly."""
    for payload in INJECTIONS:
        typed = payload.strip() or payload
        response = respond(
            link,
            {
                0: {"organisatietype": "__other__", "organisatietype__other": typed},
                1: {"moeilijke_hulpvraag": typed},
            },
        )
        if typed != payload:
            answers = dict(response.answers)
            answers["moeilijke_hulpvraag"] = payload
            answers["organisatietype"] = {"other": payload}
            response.answers = answers
            # a change stamps updated_at (the test clock stands still: a second later here),
            # which is what tells the export that the row kept at completion is stale
            response.updated_at = response.updated_at + timedelta(seconds=1)
            db.session.commit()


def test_injection_cases_are_neutralised_in_csv(campaign, link):
    injected(campaign, link)
    rows = csv_rows(campaign)
    assert sorted(r["moeilijke_hulpvraag"] for r in rows) == sorted("'" + p for p in INJECTIONS)
    assert sorted(r["organisatietype.andere"] for r in rows) == sorted("'" + p for p in INJECTIONS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_injection_cases_are_neutralised_in_xlsx(campaign, link):
    injected(campaign, link)
    stream = io.BytesIO()
    export.write_xlsx(campaign, stream)
    sheet = openpyxl.load_workbook(stream)["antwoorden"]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    column = header.index("moeilijke_hulpvraag")
    texts = [row[column] for row in rows[1:]]
    # XML reads a carriage return back as a line feed: the cell's line break
    expected = ["'" + p.replace("\r", "\n") for p in INJECTIONS]
    assert sorted(cell.value for cell in texts) == sorted(expected)
    for row in rows[1:]:
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value


def test_neutralised_json_is_not_changed(campaign, link):
    injected(campaign, link)
    stream = io.StringIO()
    export.write_json(campaign, stream)
    texts = [r["moeilijke_hulpvraag"] for r in json.loads(stream.getvalue())["responses"]]
    assert sorted(texts) == sorted(INJECTIONS)


# --- CSV ----------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_and_semicolons_by_default(campaign, link):
    respond(link, {1: {"moeilijke_hulpvraag": "Één cliënt; met puntkomma"}})
    stream = io.BytesIO()
    assert export.write_csv(campaign, stream) == 1
    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbfrij;vragenlijstversie;")
    assert "Één cliënt; met puntkomma".encode() in data
    assert csv_rows(campaign)[0]["moeilijke_hulpvraag"] == "Één cliënt; met puntkomma"


def test_csv_with_commas_on_request(campaign, link):
    respond(link)
    stream = io.StringIO()
    export.write_csv(campaign, stream, delimiter=",")
    assert stream.getvalue().startswith("\ufeffrij,vragenlijstversie,telt_voor_sector,")
    assert csv_rows(campaign, delimiter=",")[0]["regio"] == "brugge"


def test_unknown_delimiter_is_refused(campaign):
    with pytest.raises(export.ExportError, match="scheidingsteken"):
        export.write_csv(campaign, io.StringIO(), delimiter="|")


def test_codebook_csv_lists_every_code_with_its_label(campaign):
    stream = io.BytesIO()
    export.write_codebook_csv(campaign, stream)
    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == export.CODEBOOK_HEADER
    nut = [(r["code"], r["label"]) for r in rows if r["kolom"] == "digiwijzer_nut"]
    assert nut == [
        ("1", "Helemaal oneens"),
        ("2", "Oneens"),
        ("3", "Niet eens, niet oneens"),
        ("4", "Eens"),
        ("5", "Helemaal eens"),
    ]
    assert {r["kolom"] for r in rows} == set(expected_columns(campaign))
    assert any("als formule" in r["toelichting"] for r in rows if r["kolom"] == "aanbod_ontbreekt")


# --- XLSX ---------------------------------------------------------------------------------


def test_xlsx_has_the_answers_and_the_codebook_with_cell_types(campaign, link):
    respond(link)
    respond(link, {0: {"sector": "welzijn"}})
    stream = io.BytesIO()
    assert export.write_xlsx(campaign, stream) == 2
    book = openpyxl.load_workbook(stream)
    assert book.sheetnames == ["antwoorden", "codeboek"]
    rows = list(book["antwoorden"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header == expected_columns(campaign)
    assert len(rows) == 3
    first = dict(zip(header, rows[1], strict=True))
    assert first["rij"] == 1 and first["telt_voor_sector"] == "onderwijs"
    assert first["digiwijzer_nut"] == 5  # a scale code as a number
    assert first["drempels.toestel"] == 1 and first["drempels.taal"] == 0
    assert first["ervaring_jaren"] == 7 and first["regio"] == "brugge"
    assert first["afgerond_op"].date() == date(2027, 7, 15)
    assert first["soorten_hulpvragen.email"] is None
    day_cell = book["antwoorden"].cell(row=2, column=header.index("afgerond_op") + 1)
    assert day_cell.is_date and "h" not in day_cell.number_format  # the day, no time
    codes = list(book["codeboek"].iter_rows(values_only=True))
    assert list(codes[0]) == export.CODEBOOK_HEADER
    assert {row[0] for row in codes[1:]} == set(header)


def test_xlsx_drops_characters_a_spreadsheet_cannot_hold(campaign, link):
    response = respond(link)
    response.answers = {**response.answers, "moeilijke_hulpvraag": "Een\x01 bel\x0b"}
    db.session.commit()
    stream = io.BytesIO()
    export.write_xlsx(campaign, stream)
    rows = list(openpyxl.load_workbook(stream)["antwoorden"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("moeilijke_hulpvraag")] == "Een bel"


def test_partial_xlsx_has_only_the_partial_responses(campaign, link):
    respond(link)
    respond(link, pages=1)
    stream = io.BytesIO()
    assert export.write_xlsx(campaign, stream, partial=True) == 1
    rows = list(openpyxl.load_workbook(stream)["antwoorden"].iter_rows(values_only=True))
    assert rows[0][:5] == (
        "rij",
        "vragenlijstversie",
        "telt_voor_sector",
        "laatst_bewaard_op",
        "laatste_pagina",
    )
    assert len(rows) == 2 and rows[1][4] == "hulpvragen"


# --- JSON ---------------------------------------------------------------------------------


def test_json_has_campaign_codebook_and_responses(campaign, link):
    respond(link)
    respond(link, pages=2)
    stream = io.BytesIO()
    assert export.write_json(campaign, stream) == 1
    data = json.loads(stream.getvalue().decode("utf-8"))
    assert list(data) == ["campaign", "codebook", "responses"]
    assert data["campaign"]["slug"] == campaign.slug and data["campaign"]["partial"] is False
    assert [entry["column"] for entry in data["codebook"]] == expected_columns(campaign)
    (row,) = data["responses"]
    assert list(row) == expected_columns(campaign)
    assert row["digiwijzer_nut"] == "5" and row["drempels.toestel"] == 1
    assert row["afgerond_op"] == LOCAL_DAY and row["ervaring_jaren"] == 7
    partial = io.StringIO()
    assert export.write_json(campaign, partial, partial=True) == 1
    assert json.loads(partial.getvalue())["campaign"]["partial"] is True


def test_an_empty_campaign_exports_a_header_only(campaign):
    assert csv_rows(campaign) == []
    assert csv_header(campaign) == expected_columns(campaign)
    stream = io.StringIO()
    assert export.write_json(campaign, stream) == 0
    assert json.loads(stream.getvalue())["responses"] == []


# --- names that could clash, decimals -----------------------------------------------------

CLASHING = """\
slug: botsende-namen
title: Botsende namen
organisers: [Huis van het Leren]
schedule:
  opens_at: 2020-01-01 00:00
  closes_at: 2099-12-31 00:00
mail:
  sender_name: Team
  sender_email: team@example.org
sectors:
  - {code: onderwijs, name: Onderwijs, target: 5}
questionnaire:
  pages:
    - id: vragen
      title: Vragen
      questions:
        - id: rij
          type: single
          label: Een vraag met de naam van een kolom van het antwoord
          other: true
          options:
            - {value: andere, label: Een optie die 'andere' heet}
            - {value: nog, label: Nog een}
        - id: kanalen
          type: multiple
          label: Welke kanalen?
          other: true
          options:
            - {value: andere, label: Andere kanalen}
            - {value: mail, label: Mail}
        - id: uren
          type: number
          label: Hoeveel uur?
          integer: false
"""


def test_clashing_names_get_their_own_column_and_decimals_follow_the_delimiter(app):
    from campaign.definitions.loader import parse_campaign_text
    from campaign.definitions.services import load_campaign

    app.config["CLOCK"] = lambda: NOW
    campaign = load_campaign(parse_campaign_text(CLASHING, "botsend.yaml")).campaign
    key_figure = save_key_figure(campaign, name="Jo", email="jo@example.org", sector_code=None)
    link = root_link(key_figure)
    db.session.commit()
    response = start_response(link)
    fields = {
        "rij": "__other__",
        "rij__other": "Iets anders",
        "kanalen": ["andere", "__other__"],
        "kanalen__other": "Fax",
        "uren": "2,5",
    }
    assert save_page(response, 0, form(fields)).completion is not None
    header = csv_header(campaign)
    assert header == [
        "rij",
        "vragenlijstversie",
        "telt_voor_sector",
        "afgerond_op",
        "rij_2",
        "rij.andere_namelijk",
        "kanalen.andere",
        "kanalen.mail",
        "kanalen.andere_namelijk",
        "uren",
    ]
    (row,) = csv_rows(campaign)
    assert (row["rij"], row["rij_2"], row["rij.andere_namelijk"]) == (
        "1",
        "andere_namelijk",
        "Iets anders",
    )
    assert (row["kanalen.andere"], row["kanalen.mail"], row["kanalen.andere_namelijk"]) == (
        "1",
        "0",
        "Fax",
    )
    assert row["uren"] == "2,5" and row["telt_voor_sector"] == ""
    assert csv_rows(campaign, delimiter=",")[0]["uren"] == "2.5"
    codes = {entry.column: entry.codes for entry in codebook(campaign)}
    assert ("andere_namelijk", "Andere, namelijk ...") in codes["rij_2"]
