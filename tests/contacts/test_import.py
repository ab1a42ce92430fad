"""CSV import of key figures: the files people have, every bad row, all or nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaign.contacts.services import import_key_figures, set_opted_out
from campaign.demo import KEY_FIGURES_FILE
from campaign.extensions import db
from campaign.models import LINK_ALPHABET, LINK_CODE_LENGTH, Link
from tests.contacts.helpers import (
    count_key_figures,
    count_links,
    csv_bytes,
    key_figures_by_email,
    lines_of,
)

DUTCH_HEADER = "Naam;E-mail;Organisatie;Sector;Netwerk;Bereik"


def test_semicolon_windows_1252_file_with_dutch_headers_imports(example_campaign):
    data = csv_bytes(
        DUTCH_HEADER,
        "Joëlle Vanhoutte;Joelle.Vanhoutte@Example.org;CLB Voorbeeldstad;onderwijs;CLB-netwerk;35",
        "Frédéric Çelik;frederic@example.org;Wereldhuis;integratie;Netwerk Integratie West;1.200",
        encoding="cp1252",
    )
    report = import_key_figures(example_campaign, data)
    assert report.written and report.accepted
    assert (report.new, report.updated, report.unchanged) == (2, 0, 0)
    assert report.read_as() == "Windows-1252, gescheiden door puntkomma"
    people = key_figures_by_email(example_campaign)
    joelle = people["joelle.vanhoutte@example.org"]
    assert joelle.name == "Joëlle Vanhoutte"
    assert joelle.sector.code == "onderwijs"
    assert (joelle.organisation, joelle.network, joelle.reach) == (
        "CLB Voorbeeldstad",
        "CLB-netwerk",
        35,
    )
    assert people["frederic@example.org"].name == "Frédéric Çelik"
    assert people["frederic@example.org"].reach == 1200


def test_comma_separated_utf8_with_bom_and_english_headers_imports(example_campaign):
    data = "\ufeff" + "Name,Email,Organization,Sector,Network,Reach\r\n"
    data += 'Zoë Maes,zoe@example.org,"CVO Kust, afdeling Brugge",welzijn,Netwerk,12\r\n'
    report = import_key_figures(example_campaign, data.encode("utf-8"))
    assert report.written
    assert report.read_as() == "UTF-8, gescheiden door komma"
    zoe = key_figures_by_email(example_campaign)["zoe@example.org"]
    assert (zoe.name, zoe.organisation, zoe.reach) == ("Zoë Maes", "CVO Kust, afdeling Brugge", 12)


def test_headers_match_regardless_of_case_accents_spacing_and_synonyms(example_campaign):
    data = csv_bytes(
        " NAAM ;E-MAILADRES;Organisatie;SECTOR;Netwerk;Bereik;Opmerking",
        "An Peeters;an@example.org;CAW;Welzijn;Eerstelijn;4;ignored",
        encoding="utf-16",
    )
    report = import_key_figures(example_campaign, data)
    assert report.written, report.problems
    assert report.ignored_columns == ["Opmerking"]
    an = key_figures_by_email(example_campaign)["an@example.org"]
    assert an.sector.code == "welzijn"  # the sector's name works as well as its code


@pytest.mark.parametrize(
    "header", ["naam;mail", "Name;E-mail address", "Volledige naam;e-mailadres", "naam\temail"]
)
def test_header_synonyms_for_name_and_email(example_campaign, header):
    separator = "\t" if "\t" in header else ";"
    report = import_key_figures(
        example_campaign, csv_bytes(header, separator.join(["Bo Claes", "bo@example.org"]))
    )
    assert report.written and report.new == 1


def test_every_invalid_row_is_reported_with_its_line_and_nothing_is_written(example_campaign):
    data = csv_bytes(
        DUTCH_HEADER,
        "Goed Persoon;goed@example.org;Org;welzijn;;3",  # 2: fine
        "Fout Adres;geen-adres;Org;welzijn;;",  # 3: invalid e-mail
        "Foute Sector;sector@example.org;Org;landbouw;;",  # 4: unknown sector
        "Dubbel;GOED@example.org;Org;;;",  # 5: duplicate of line 2
        "Negatief;neg@example.org;Org;;;-4",  # 6: reach below 0
        "Komma;komma@example.org;Org;;;2,5",  # 7: reach not whole
        ";zonder-naam@example.org;Org;;;",  # 8: no name
        "Geen Adres;;Org;;;",  # 9: no e-mail
    )
    report = import_key_figures(example_campaign, data)
    assert not report.accepted and not report.written
    assert lines_of(report) == [3, 4, 5, 6, 7, 8, 9]
    messages = [problem.describe() for problem in report.problems]
    assert messages[0] == "Regel 3: Ongeldig e-mailadres: 'geen-adres'."
    assert messages[1].startswith(
        "Regel 4: Onbekende sector 'landbouw'. Kies uit: andere, arbeidsmarkt"
    )
    assert messages[2] == "Regel 5: E-mailadres goed@example.org staat al op regel 2."
    assert messages[3] == "Regel 6: Bereik moet een geheel getal vanaf 0 zijn, niet '-4'."
    assert messages[4] == "Regel 7: Bereik moet een geheel getal vanaf 0 zijn, niet '2,5'."
    assert messages[5] == "Regel 8: De naam ontbreekt."
    assert messages[6] == "Regel 9: Het e-mailadres ontbreekt."
    assert report.summary().startswith("Niets geïmporteerd: 7 problemen op 7 regels.")
    assert count_key_figures(example_campaign) == 0
    assert count_links(example_campaign) == 0


def test_one_row_with_several_problems_lists_each(example_campaign):
    data = csv_bytes(DUTCH_HEADER, ";x@;Org;nergens;;veel")
    report = import_key_figures(example_campaign, data)
    assert lines_of(report) == [2, 2, 2, 2]
    assert report.invalid_lines == [2]


def test_too_long_values_are_refused_before_the_database_sees_them(example_campaign):
    data = csv_bytes(DUTCH_HEADER, f"{'x' * 201};lang@example.org;{'o' * 201};;;")
    report = import_key_figures(example_campaign, data)
    assert [p.message for p in report.problems] == [
        "Naam is te lang (hoogstens 200 tekens).",
        "Organisatie is te lang (hoogstens 200 tekens).",
    ]
    assert count_key_figures(example_campaign) == 0


def test_stray_delimiter_in_a_row_is_reported(example_campaign):
    data = csv_bytes("naam,email,organisatie", "An,an@example.org,CAW Brugge, Oostende")
    report = import_key_figures(example_campaign, data)
    assert lines_of(report) == [2]
    assert "meer waarden dan er kolommen zijn" in report.problems[0].message
    assert "komma" in report.problems[0].message


def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_spreadsheet(
    example_campaign,
):
    data = csv_bytes(
        "naam;e-mail;organisatie",
        "An;an@example.org;CAW",
        ";;",
        "",
        'Bo;bo@example.org;"twee',
        'regels"',
        "Ce;fout;CAW",
    )
    report = import_key_figures(example_campaign, data)
    # Excel shows the quoted two-line value in one row: Ce is on row 6.
    assert lines_of(report) == [6]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Het bestand is leeg."),
        (b"  \r\n\r\n ", "Het bestand is leeg."),
        (b"naam;e-mail\r\n", "Het bestand bevat alleen een kopregel en geen sleutelfiguren."),
        (
            b"naam;e-mail\r\n;\r\n\r\n",
            "Het bestand bevat alleen een kopregel en geen sleutelfiguren.",
        ),
        (b"\x00\x01\x02binary\x00\xff\xfe data", "Dit bestand is geen leesbaar tekstbestand."),
        (b"\x81\x8d\x8f\x90\x9d", "Dit bestand is geen leesbaar tekstbestand."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel", "Dit is een Excel-bestand, geen CSV."),
    ],
)
def test_unreadable_files_get_one_clear_message_and_change_nothing(example_campaign, data, message):
    report = import_key_figures(example_campaign, data, skip_invalid=True)
    assert report.unreadable and not report.accepted and not report.written
    assert len(report.problems) == 1
    assert report.problems[0].message.startswith(message)
    assert report.summary() == "Niets geïmporteerd: het bestand kan niet gelezen worden."
    assert count_key_figures(example_campaign) == 0


def test_an_xlsx_renamed_to_csv_is_recognised_as_excel(example_campaign):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    report = import_key_figures(example_campaign, buffer.getvalue())
    assert report.unreadable
    assert "Excel-bestand, geen CSV" in report.problems[0].message
    assert "Opslaan als" in report.problems[0].message


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ["Beste collega's", "Hierbij de lijst van deelnemers."],
            "Geen herkenbare kolomnamen gevonden; is dit wel een CSV-bestand met sleutelfiguren?",
        ),
        (["voornaam;familienaam;telefoon", "An;Peeters;050"], "Geen herkenbare kolomnamen"),
        (["naam;organisatie", "An;CAW"], "Verplichte kolom 'e-mail' ontbreekt."),
        (
            ["organisatie;sector", "CAW;welzijn"],
            "Verplichte kolommen 'naam' en 'e-mail' ontbreken.",
        ),
        (["naam;e-mail;Naam", "An;an@example.org;An"], "De kolom 'naam' staat er twee keer in."),
    ],
)
def test_header_problems_point_at_line_1_and_change_nothing(example_campaign, lines, message):
    report = import_key_figures(example_campaign, csv_bytes(*lines), skip_invalid=True)
    assert report.unreadable
    assert lines_of(report) == [1]
    assert report.problems[0].message.startswith(message)
    assert count_key_figures(example_campaign) == 0


def test_skip_invalid_imports_the_valid_rows_and_reports_the_skipped_lines(example_campaign):
    data = csv_bytes(
        DUTCH_HEADER,
        "An;an@example.org;;;;",
        "Fout;fout;;;;",
        "Bo;bo@example.org;;onbestaand;;",
        "Ce;ce@example.org;;;;",
    )
    report = import_key_figures(example_campaign, data, skip_invalid=True)
    assert report.accepted and report.written
    assert (report.new, report.skipped) == (2, 2)
    assert report.invalid_lines == [3, 4]
    assert report.summary() == (
        "Import klaar: 2 nieuwe sleutelfiguren, 0 bijgewerkt, 0 ongewijzigd, 2 regels overgeslagen."
    )
    assert sorted(key_figures_by_email(example_campaign)) == ["an@example.org", "ce@example.org"]


def test_dry_run_reports_what_would_happen_and_writes_nothing(example_campaign):
    import_key_figures(example_campaign, csv_bytes("naam;e-mail", "An;an@example.org"))
    data = csv_bytes("naam;e-mail", "An Peeters;an@example.org", "Bo;bo@example.org")
    report = import_key_figures(example_campaign, data, dry_run=True)
    assert report.accepted and not report.written
    assert (report.new, report.updated, report.unchanged) == (1, 1, 0)
    assert report.summary().startswith("Controle klaar, er is niets opgeslagen.")
    people = key_figures_by_email(example_campaign)
    assert list(people) == ["an@example.org"]
    assert people["an@example.org"].name == "An"
    assert count_links(example_campaign) == 1


def test_reimport_updates_by_normalised_email_and_never_duplicates(example_campaign):
    first = csv_bytes(
        DUTCH_HEADER, "An;an@example.org;CAW;welzijn;;10", "Bo;bo@example.org;VDAB;;;"
    )
    import_key_figures(example_campaign, first)
    links_before = {link.key_figure_id: link.code for link in db.session.scalars(select(Link))}
    second = csv_bytes(
        DUTCH_HEADER,
        "An Peeters; AN@Example.ORG ;CAW Brugge;welzijn;;12",
        "Bo;bo@example.org;VDAB;;;",
        "Ce;ce@example.org;;;;",
    )
    report = import_key_figures(example_campaign, second)
    assert (report.new, report.updated, report.unchanged) == (1, 1, 1)
    people = key_figures_by_email(example_campaign)
    assert sorted(people) == ["an@example.org", "bo@example.org", "ce@example.org"]
    an = people["an@example.org"]
    assert (an.name, an.organisation, an.reach) == ("An Peeters", "CAW Brugge", 12)
    links_after = {link.key_figure_id: link.code for link in db.session.scalars(select(Link))}
    assert len(links_after) == 3
    assert all(links_after[kf_id] == code for kf_id, code in links_before.items())


def test_reimport_without_a_column_keeps_what_that_column_held(example_campaign):
    import_key_figures(
        example_campaign, csv_bytes(DUTCH_HEADER, "An;an@example.org;CAW;welzijn;Net;10")
    )
    report = import_key_figures(example_campaign, csv_bytes("naam;e-mail", "An;an@example.org"))
    assert report.unchanged == 1
    an = key_figures_by_email(example_campaign)["an@example.org"]
    assert (an.organisation, an.sector.code, an.network, an.reach) == ("CAW", "welzijn", "Net", 10)


def test_reimport_never_opts_an_opted_out_key_figure_back_in(example_campaign):
    import_key_figures(example_campaign, csv_bytes("naam;e-mail", "An;an@example.org"))
    an = key_figures_by_email(example_campaign)["an@example.org"]
    moment = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)
    set_opted_out(an, True, now=moment)
    report = import_key_figures(example_campaign, csv_bytes("naam;e-mail", "An P;an@example.org"))
    assert (report.updated, report.opted_out) == (1, 1)
    assert key_figures_by_email(example_campaign)["an@example.org"].opted_out_at == moment


def test_every_imported_key_figure_gets_its_own_root_link(example_campaign):
    rows = [f"Persoon {i};persoon{i}@example.org" for i in range(120)]
    report = import_key_figures(example_campaign, csv_bytes("naam;e-mail", *rows))
    assert report.new == 120
    links = db.session.scalars(select(Link).where(Link.campaign_id == example_campaign.id)).all()
    assert len(links) == 120
    assert len({link.key_figure_id for link in links}) == 120
    assert all(link.parent_id is None for link in links)
    assert len({link.code for link in links}) == 120
    assert all(
        len(link.code) == LINK_CODE_LENGTH and set(link.code) <= set(LINK_ALPHABET)
        for link in links
    )


def test_import_times_are_the_injected_now(example_campaign):
    moment = datetime(2027, 6, 20, 8, 30, tzinfo=UTC)
    import_key_figures(example_campaign, csv_bytes("naam;e-mail", "An;an@example.org"), now=moment)
    an = key_figures_by_email(example_campaign)["an@example.org"]
    assert an.created_at == moment and an.updated_at == moment


def test_the_shipped_demo_file_imports_into_the_example_campaign(example_campaign):
    report = import_key_figures(example_campaign, KEY_FIGURES_FILE.read_bytes())
    assert report.written and not report.problems
    assert report.new == 40
    people = key_figures_by_email(example_campaign)
    assert len(people) == 40
    sectors = {kf.sector.code for kf in people.values()}
    assert sectors == {s.code for s in example_campaign.sectors}
