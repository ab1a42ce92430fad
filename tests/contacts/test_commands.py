"""``flask contacts import`` and ``flask contacts list``."""

from __future__ import annotations

from campaign.contacts.services import set_opted_out
from tests.contacts.helpers import count_key_figures, csv_bytes, key_figures_by_email

SLUG = "eerste-hulp-digitale-vragen"


def _write(tmp_path, data: bytes, name: str = "sleutelfiguren.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_import_command_imports_and_says_how_many(runner, example_campaign, tmp_path):
    path = _write(
        tmp_path,
        csv_bytes("Naam;E-mail;Sector", "Joëlle;joelle@example.org;onderwijs", encoding="cp1252"),
    )
    result = runner.invoke(args=["contacts", "import", SLUG, path])
    assert result.exit_code == 0, result.output
    assert "gelezen als Windows-1252, gescheiden door puntkomma" in result.output
    assert "Import klaar: 1 nieuwe sleutelfiguur, 0 bijgewerkt, 0 ongewijzigd." in result.output
    assert key_figures_by_email(example_campaign)["joelle@example.org"].name == "Joëlle"


def test_import_command_lists_every_bad_line_and_exits_1(runner, example_campaign, tmp_path):
    path = _write(
        tmp_path,
        csv_bytes("naam;e-mail;sector", "An;an@example.org;", "Bo;fout;", "Ce;ce@example.org;x"),
    )
    result = runner.invoke(args=["contacts", "import", SLUG, path])
    assert result.exit_code == 1
    assert "Regel 3: Ongeldig e-mailadres: 'fout'." in result.stderr
    assert "Regel 4: Onbekende sector 'x'." in result.stderr
    assert "Niets geïmporteerd: 2 problemen op 2 regels." in result.stderr
    assert count_key_figures(example_campaign) == 0


def test_import_command_skip_invalid_imports_the_rest(runner, example_campaign, tmp_path):
    path = _write(tmp_path, csv_bytes("naam;e-mail", "An;an@example.org", "Bo;fout"))
    result = runner.invoke(args=["contacts", "import", SLUG, path, "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "Overgeslagen regels:" in result.output
    assert "Regel 3: Ongeldig e-mailadres: 'fout'." in result.output
    assert "1 regel overgeslagen" in result.output
    assert count_key_figures(example_campaign) == 1


def test_import_command_dry_run_writes_nothing(runner, example_campaign, tmp_path):
    path = _write(tmp_path, csv_bytes("naam;e-mail", "An;an@example.org"))
    result = runner.invoke(args=["contacts", "import", SLUG, path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        "Controle klaar, er is niets opgeslagen. Bij importeren: 1 nieuwe sleutelfiguur"
        in result.output
    )
    assert count_key_figures(example_campaign) == 0


def test_import_command_dry_run_with_problems_exits_1(runner, example_campaign, tmp_path):
    path = _write(tmp_path, b"")
    result = runner.invoke(args=["contacts", "import", SLUG, path, "--dry-run"])
    assert result.exit_code == 1
    assert "Het bestand is leeg." in result.stderr


def test_import_command_refuses_an_unknown_campaign(runner, example_campaign, tmp_path):
    path = _write(tmp_path, csv_bytes("naam;e-mail", "An;an@example.org"))
    result = runner.invoke(args=["contacts", "import", "bestaat-niet", path])
    assert result.exit_code == 1
    assert "Geen campagne met slug 'bestaat-niet'" in result.stderr


def test_import_command_says_when_the_file_cannot_be_read(runner, example_campaign, tmp_path):
    result = runner.invoke(args=["contacts", "import", SLUG, str(tmp_path / "weg.csv")])
    assert result.exit_code == 1
    assert "Kan " in result.stderr and "weg.csv niet lezen" in result.stderr


def test_import_command_reimport_reports_updates(runner, example_campaign, tmp_path):
    first = _write(tmp_path, csv_bytes("naam;e-mail", "An;an@example.org"), "a.csv")
    second = _write(tmp_path, csv_bytes("naam;e-mail", "An P;AN@example.org"), "b.csv")
    runner.invoke(args=["contacts", "import", SLUG, first])
    an = key_figures_by_email(example_campaign)["an@example.org"]
    set_opted_out(an, True)
    result = runner.invoke(args=["contacts", "import", SLUG, second])
    assert "0 nieuwe sleutelfiguren, 1 bijgewerkt, 0 ongewijzigd" in result.output
    assert "1 van deze sleutelfiguren staat afgemeld; dat blijft zo" in result.output
    assert count_key_figures(example_campaign) == 1


def test_list_command_prints_key_figures_tab_separated(runner, example_campaign, tmp_path):
    path = _write(
        tmp_path,
        csv_bytes(
            "naam;e-mail;organisatie;sector",
            "Bo;bo@example.org;VDAB;arbeidsmarkt",
            "An;an@example.org;;",
        ),
    )
    runner.invoke(args=["contacts", "import", SLUG, path])
    set_opted_out(key_figures_by_email(example_campaign)["an@example.org"], True)
    result = runner.invoke(args=["contacts", "list", SLUG])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "an@example.org\tAn\t\t\tja",
        "bo@example.org\tBo\tVDAB\tarbeidsmarkt\tnee",
    ]
