"""``flask results ...``: the answers out of the tool."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import click

from campaign.database import begin_write
from campaign.definitions.commands import campaign_or_fail
from campaign.extensions import db
from campaign.models import Campaign
from campaign.results import export, export_lines, tally

results_cli = click.Group("results", help="Export the answers and the results pack.")

FORMATS = ("csv", "xlsx", "json")
DELIMITER_NAMES = {";": "puntkomma's", ",": "komma's"}


@results_cli.command("export")
@click.argument("slug")
@click.option("--format", "file_format", default=None, help="csv, xlsx or json.")
@click.option("--output", "output", default=None, help="The file to write.")
@click.option(
    "--partial",
    is_flag=True,
    help="Export the responses that were not completed (instead of the completed ones).",
)
@click.option("--delimiter", default=";", show_default=True, help="CSV only: ';' or ','.")
def export_command(
    slug: str, file_format: str | None, output: str | None, partial: bool, delimiter: str
) -> None:
    """Write the answers of campaign SLUG, one row per response, to --output.

    Codes as in the codebook (a sheet of its own in XLSX, a part of its own in JSON;
    for CSV it is written beside the data as FILE-codeboek.csv).
    """
    file_format = _check_options(file_format, output, delimiter)
    assert output is not None
    campaign = campaign_or_fail(slug)
    target = Path(output)
    count = _write(campaign, file_format, target, partial, delimiter)
    what = "onvolledige antwoorden" if partial else "afgeronde antwoorden"
    click.echo(f"{count} {what} geschreven naar {target}.")
    if file_format == "csv":
        book = codebook_path(target)
        _atomic(book, lambda f: export.write_codebook_csv(campaign, f, delimiter, partial=partial))
        click.echo(f"Het codeboek staat in {book}.")


def _check_options(file_format: str | None, output: str | None, delimiter: str) -> str:
    """The format in lower case; a Dutch error (exit status 1) for what is missing or wrong."""
    if not file_format:
        raise click.ClickException("Kies een formaat met --format: csv, xlsx of json.")
    file_format = file_format.lower()
    if file_format not in FORMATS:
        raise click.ClickException(f"Onbekend formaat {file_format!r}: kies csv, xlsx of json.")
    if not output:
        raise click.ClickException("Geef met --output het bestand op waarin de export komt.")
    if delimiter not in export.DELIMITERS:
        raise click.ClickException(
            f"Onbekend scheidingsteken {delimiter!r}: kies ';' (standaard) of ','."
        )
    if delimiter != ";" and file_format != "csv":
        raise click.ClickException("--delimiter geldt alleen voor --format csv.")
    return file_format


def _write(
    campaign: Campaign, file_format: str, target: Path, partial: bool, delimiter: str
) -> int:
    if file_format == "csv":
        return _atomic(
            target, lambda f: export.write_csv(campaign, f, partial=partial, delimiter=delimiter)
        )
    if file_format == "json":
        return _atomic(target, lambda f: export.write_json(campaign, f, partial=partial))
    return _atomic(target, lambda f: export.write_xlsx(campaign, f, partial=partial))


def _atomic(target: Path, write: Callable[[BinaryIO], int | None]) -> int:
    """Write through ``write(binary file)`` into ``target``'s folder, then rename, so a
    failed export never leaves half a file behind under the name asked for."""
    if target.parent and not target.parent.exists():
        raise click.ClickException(f"De map {target.parent} bestaat niet.")
    partial_path = target.with_name(target.name + ".deel")
    try:
        with open(partial_path, "wb") as stream:
            result = write(stream)
        os.replace(partial_path, target)
    except OSError as exc:
        raise click.ClickException(f"Kon {target} niet schrijven: {exc.strerror}.") from exc
    finally:
        if partial_path.exists():
            partial_path.unlink()
    return int(result or 0)


def codebook_path(data_file: Path) -> Path:
    """Where the codebook of a CSV export goes: beside it, ``NAME-codeboek.csv``."""
    return data_file.with_name(f"{data_file.stem}-codeboek{data_file.suffix or '.csv'}")


@results_cli.command("recount")
@click.argument("slug")
def recount_command(slug: str) -> None:
    """Count the answers of campaign SLUG again into the results' kept counts.

    The counts follow every completion on their own; this rebuilds them from the answers
    (after a restore of the database, or to check them), in one transaction, and makes
    the CSV export's kept rows of the responses that have no current one.
    """
    campaign = campaign_or_fail(slug)
    begin_write()
    counted = tally.rebuild(campaign)
    db.session.commit()
    export_lines.refresh(campaign)
    word = "afgerond antwoord" if counted == 1 else "afgeronde antwoorden"
    click.echo(f"{counted} {word} opnieuw geteld voor {campaign.slug}.")
