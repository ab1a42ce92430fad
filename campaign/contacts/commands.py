"""``flask contacts``: import and list key figures."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from campaign.contacts.queries import all_key_figures
from campaign.contacts.services import ImportReport, import_key_figures
from campaign.definitions.commands import campaign_or_fail

contacts_cli = click.Group("contacts", help="Import and manage key figures.")


@contacts_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the file and report; write nothing.")
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid rows and report the invalid ones."
)
@with_appcontext
def import_command(slug: str, file: Path, dry_run: bool, skip_invalid: bool) -> None:
    """Import the key figures of FILE.csv into campaign SLUG (all or nothing).

    Comma or semicolon separated, UTF-8 or Windows-1252, with the columns
    naam/name and e-mail (required), organisatie, sector, netwerk, bereik.
    Known e-mail addresses are updated, never duplicated.
    """
    campaign = campaign_or_fail(slug)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"Kan {file} niet lezen: {exc.strerror}.") from exc
    report = import_key_figures(campaign, data, skip_invalid=skip_invalid, dry_run=dry_run)
    _print_report(file, report)
    if not report.accepted:
        raise SystemExit(1)


def _print_report(file: Path, report: ImportReport) -> None:
    if report.read_as():
        click.echo(f"{file}: gelezen als {report.read_as()}.")
    if report.ignored_columns:
        click.echo(f"Genegeerde kolommen: {', '.join(report.ignored_columns)}.")
    stream_is_err = not report.accepted
    if report.problems:
        heading = "Overgeslagen regels:" if report.accepted else "Problemen:"
        click.echo(heading, err=stream_is_err)
        for problem in report.problems:
            click.echo(f"  {problem.describe()}", err=stream_is_err)
    click.echo(report.summary(), err=stream_is_err)
    if report.opted_out and report.accepted:
        verb = "staat" if report.opted_out == 1 else "staan"
        click.echo(
            f"{report.opted_out} van deze sleutelfiguren {verb} afgemeld; dat blijft zo "
            "(zij krijgen geen mails)."
        )


@contacts_cli.command("list")
@click.argument("slug")
@with_appcontext
def list_command(slug: str) -> None:
    """Print the key figures of campaign SLUG, tab-separated:
    e-mail, name, organisation, sector, opted out (ja/nee)."""
    campaign = campaign_or_fail(slug)
    for key_figure in all_key_figures(campaign):
        sector = key_figure.sector.code if key_figure.sector else ""
        opted_out = "ja" if key_figure.opted_out else "nee"
        fields = (key_figure.email, key_figure.name, key_figure.organisation, sector, opted_out)
        click.echo("\t".join(fields))
