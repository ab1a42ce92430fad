"""``flask mail remind SLUG [--dry-run]``: the targeted reminder from the command line."""

from __future__ import annotations

import click

from campaign.definitions.services import find_campaign
from campaign.formatting import plural
from campaign.history import COMMAND_LINE
from campaign.mailing.commands import _print_report, _send_with_bar, mail_cli
from campaign.mailing.render import MailError
from campaign.models import Campaign
from campaign.schedule.reminder import (
    SKIPPED_LABELS,
    PlanEntry,
    ReminderError,
    ReminderResult,
    queue_reminder,
    reminder_plan,
    require_open,
)

__all__ = ["mail_cli"]


def _print_plan(plan: list[PlanEntry]) -> None:
    """Each recipient and why; the others counted per reason."""
    result = ReminderResult(plan=plan)
    chosen = result.chosen
    if chosen:
        click.echo(f"Herinnering voor {plural(len(chosen), 'sleutelfiguur', 'sleutelfiguren')}:")
        for entry in chosen:
            click.echo(f"  {entry.key_figure.email} ({entry.key_figure.name}): {entry.reason}")
    else:
        click.echo("Geen enkele sleutelfiguur krijgt de herinnering.")
    skipped = result.skipped
    if skipped:
        reasons = ", ".join(
            f"{skipped[why]} {label}" for why, label in SKIPPED_LABELS.items() if why in skipped
        )
        total = plural(sum(skipped.values()), "sleutelfiguur", "sleutelfiguren")
        click.echo(f"Geen herinnering voor {total}: {reasons}.")


def _campaign(slug: str) -> Campaign:
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"Geen campagne met slug {slug!r}.")
    return campaign


@mail_cli.command("remind")
@click.argument("slug")
@click.option(
    "--dry-run", is_flag=True, help="Only show who would get the reminder and why; queue nothing."
)
def remind_command(slug: str, dry_run: bool) -> None:
    """Queue the targeted reminder (key figures of sectors behind target), then send it.

    Safe to run twice: nobody gets the reminder a second time.
    """
    campaign = _campaign(slug)
    if dry_run:
        _print_plan(reminder_plan(campaign))
        try:
            require_open(campaign)
        except ReminderError as exc:
            click.echo(f"Let op: {exc}", err=True)
        click.echo("Proefdraai: er werd niets in de wachtrij gezet.")
        return
    try:
        result = queue_reminder(campaign, actor=COMMAND_LINE)
    except MailError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_plan(result.plan)
    click.echo(result.summary)
    report = _send_with_bar(campaign.id)
    _print_report(report)
    if not report.ok:
        raise SystemExit(1)
