"""``flask draw run|verify|purge SLUG``: the prize draw from the command line."""

from __future__ import annotations

import click

from campaign.definitions.commands import campaign_or_fail
from campaign.draw.published import verify_draw
from campaign.draw.purge import purge_entries
from campaign.draw.services import DrawRefused, freeze_if_due, run_draw
from campaign.formatting import plural
from campaign.history import current_actor
from campaign.urls import public_url

draw_cli = click.Group("draw", help="The verifiable prize draw: run, verify, erase the entries.")


@draw_cli.command("run")
@click.argument("slug")
@click.option(
    "--redraw",
    "reason",
    default="",
    metavar="REASON",
    help="Draw again (same seed, exclusions as they are now); the reason is published.",
)
def run_command(slug: str, reason: str) -> None:
    """Reveal the seed and draw the winners and reserves of campaign SLUG (after the close),
    then queue the winner mails."""
    campaign = campaign_or_fail(slug)
    try:
        result = run_draw(campaign, actor=current_actor(), redraw_reason=reason)
    except DrawRefused as exc:
        raise click.ClickException(str(exc)) from exc
    draw = result.draw
    click.echo(f"Seed: {draw.seed}")
    click.echo(f"Bevroren lijst: {len(draw.receipts)} deelnamecodes, hash {draw.receipts_hash}")
    for number, receipt in enumerate(draw.winners, 1):
        click.echo(f"Prijs {number}: {receipt}")
    for number, receipt in enumerate(draw.reserves, 1):
        click.echo(f"Reserve {number}: {receipt}")
    click.echo(f"{plural(result.mails, 'winnaarsmail', 'winnaarsmails')} in de wachtrij.")
    click.echo(f"Publieke pagina: {public_url('draw.public', slug=slug)}")


@draw_cli.command("verify")
@click.argument("slug")
def verify_command(slug: str) -> None:
    """Recompute the draw of campaign SLUG from what is published; exit status 1 when
    anything differs."""
    campaign = campaign_or_fail(slug)
    draw = freeze_if_due(campaign)
    problems = verify_draw(campaign, draw)
    if problems:
        for problem in problems:
            click.echo(f"Fout: {problem}", err=True)
        raise SystemExit(1)
    click.echo(
        f"In orde: {len(draw.receipts)} deelnamecodes, hash {draw.receipts_hash}; "
        f"winnaars {', '.join(draw.winners) or '(geen)'}."
    )


@draw_cli.command("purge")
@click.argument("slug")
@click.option(
    "--force",
    is_flag=True,
    help="Erase even while a prize is open or the retention period runs.",
)
def purge_command(slug: str, force: bool) -> None:
    """Erase the entrants' e-mail addresses of campaign SLUG (entries, tickets, winner
    mails); the proof of the draw stays."""
    campaign = campaign_or_fail(slug)
    try:
        result = purge_entries(campaign, actor=current_actor(), force=force)
    except DrawRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary)
