"""Hostile or broken key-figure CSVs: a value over the csv module's field limit (a long
line, an unclosed quote in a long file), an unclosed quote that would swallow rows in a
short one, a huge reach. A Dutch problem with its line on the CLI and the upload page, no
traceback, nothing imported, no row lost without a word."""

from __future__ import annotations

import io

from campaign.contacts.csvimport import parse_key_figures
from tests.contacts.helpers import count_key_figures, csv_bytes

SLUG = "eerste-hulp-digitale-vragen"
BASE = f"/dashboard/{SLUG}/sleutelfiguren"
HEADER = "naam;e-mail;organisatie;sector"


def long_value_file() -> bytes:
    return csv_bytes(HEADER, "An;an@example.org;CAW;welzijn", "Bo;bo@example.org;" + "x" * 140_000)


def unclosed_quote_long_file() -> bytes:
    rows = [f"Naam {n};kf{n}@example.org;Org {n};welzijn" for n in range(4000)]
    return csv_bytes(
        HEADER, "An;an@example.org;CAW;welzijn", 'Bo;bo@example.org;"CAW;welzijn', *rows
    )


def unclosed_quote_short_file() -> bytes:
    return csv_bytes(
        HEADER,
        "An;an@example.org;CAW;welzijn",
        'Bo;bo@example.org;"CAW Noord;welzijn',
        "Ce;ce@example.org;OCMW;welzijn",
        "De;de@example.org;VDAB;arbeidsmarkt",
    )


def import_cli(runner, tmp_path, data: bytes):
    path = tmp_path / "lijst.csv"
    path.write_bytes(data)
    return runner.invoke(args=["contacts", "import", SLUG, str(path)])


def test_a_value_over_the_field_limit_is_a_problem_on_its_line(runner, example_campaign, tmp_path):
    result = import_cli(runner, tmp_path, long_value_file())
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Regel 3: Een waarde op of na deze regel is langer dan 128 KiB" in result.stderr
    assert "Traceback" not in result.output
    assert count_key_figures(example_campaign) == 0


def test_an_unclosed_quote_in_a_long_file_is_named_with_its_line(
    runner, example_campaign, tmp_path
):
    result = import_cli(runner, tmp_path, unclosed_quote_long_file())
    assert result.exit_code == 1
    assert "Regel 3: " in result.stderr
    assert "sluitend aanhalingsteken" in result.stderr
    assert count_key_figures(example_campaign) == 0


def test_an_unclosed_quote_that_swallows_rows_is_flagged_not_imported(
    runner, example_campaign, tmp_path
):
    parsed = parse_key_figures(unclosed_quote_short_file(), example_campaign.sectors)
    # Bo's quote runs to the end: lines 3 to 5 were read as one record.
    assert [p.describe() for p in parsed.problems] == [
        'Regel 3: Waarschijnlijk ontbreekt een sluitend aanhalingsteken ("): deze regel en '
        "de 2 regels erna (met een puntkomma erin) zijn als één waarde gelezen. Sluit het "
        "aanhalingsteken of haal het weg, en probeer opnieuw."
    ]
    result = import_cli(runner, tmp_path, unclosed_quote_short_file())
    assert result.exit_code == 1
    assert "Regel 3: Waarschijnlijk ontbreekt een sluitend aanhalingsteken" in result.stderr
    assert count_key_figures(example_campaign) == 0


def test_a_quoted_value_on_two_lines_without_the_delimiter_stays_valid(example_campaign):
    data = csv_bytes(HEADER, 'An;an@example.org;"CAW\nBrugge";welzijn', "Bo;fout;CAW;welzijn")
    parsed = parse_key_figures(data, example_campaign.sectors)
    assert [row.organisation for row in parsed.rows] == ["CAW\nBrugge"]
    assert [p.line for p in parsed.problems] == [3]  # the spreadsheet's row of Bo


def test_a_huge_reach_is_a_problem_on_its_line(runner, example_campaign, tmp_path):
    data = csv_bytes(
        "naam;e-mail;bereik", "An;an@example.org;40", "Bo;bo@example.org;" + "9" * 5000
    )
    result = import_cli(runner, tmp_path, data)
    assert result.exit_code == 1
    assert "Regel 3: Bereik is te groot: hoogstens 10.000.000." in result.stderr
    parsed = parse_key_figures(csv_bytes("naam;e-mail;bereik", "Ce;ce@example.org;10.000.001"), [])
    assert [p.describe() for p in parsed.problems] == [
        "Regel 2: Bereik is te groot: hoogstens 10.000.000."
    ]
    assert count_key_figures(example_campaign) == 0


def test_the_upload_page_names_each_broken_file_in_dutch(client, auth, example_campaign):
    auth.login()
    for data, expected in (
        (long_value_file(), "Een waarde op of na deze regel is langer dan 128 KiB"),
        (unclosed_quote_long_file(), "sluitend aanhalingsteken"),
        (unclosed_quote_short_file(), "Waarschijnlijk ontbreekt een sluitend aanhalingsteken"),
        (csv_bytes("naam;e-mail;bereik", "An;an@example.org;" + "9" * 40), "Bereik is te groot"),
    ):
        for button, label in (("check", "Alleen controleren"), ("submit", "Importeren")):
            form = {"file": (io.BytesIO(data), "lijst.csv"), button: label}
            reply = client.post(f"{BASE}/importeren", data=form, content_type="multipart/form-data")
            assert reply.status_code == 200
            assert expected in reply.get_data(as_text=True)
    assert count_key_figures(example_campaign) == 0
