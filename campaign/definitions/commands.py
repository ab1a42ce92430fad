import json

import click
from flask.cli import with_appcontext

from campaign.dashboard.queries import campaign_stats
from campaign.definitions.loader import DefinitionError
from campaign.definitions.services import (
    CloseError,
    close_now,
    find_campaign,
    list_campaigns,
    load_campaign_file,
    when,
)
from campaign.history import COMMAND_LINE
from campaign.models import Campaign

campaign_cli = click.Group("campaign", help="Load, list, follow and close campaigns.")


def campaign_or_fail(slug: str) -> Campaign:
    """The campaign with this slug, or a click error (exit status 1) naming it."""
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(
            f"Geen campagne met slug {slug!r}. Bekijk de campagnes met 'flask campaign list'."
        )
    return campaign


@campaign_cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def load_command(file: str) -> None:
    """Create or update a campaign from a YAML campaign FILE."""
    try:
        result = load_campaign_file(file, actor=COMMAND_LINE)
    except DefinitionError as exc:
        count = len(exc.problems)
        click.echo(
            f"Campagnebestand niet geladen; er is niets gewijzigd. {count} "
            f"{'probleem' if count == 1 else 'problemen'}:",
            err=True,
        )
        for problem in exc.problems:
            click.echo(f"  {problem.describe(exc.filename)}", err=True)
        raise SystemExit(1) from exc
    campaign = result.campaign
    if result.created:
        click.echo(f"Campagne {campaign.slug} aangemaakt: {campaign.title}.")
    else:
        click.echo(f"Campagne {campaign.slug} bijgewerkt.")
        for change in result.changes:
            click.echo(f"  - {change}")


@campaign_cli.command("list")
@with_appcontext
def list_command() -> None:
    """List the campaigns with their state and schedule."""
    campaigns = list_campaigns()
    if not campaigns:
        click.echo("Nog geen campagnes. Laad er een met 'flask campaign load FILE'.")
        return
    for campaign in campaigns:
        opens = campaign.local(campaign.opens_at).strftime("%Y-%m-%d %H:%M")
        closes = campaign.local(campaign.effective_close).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{campaign.slug}\t{campaign.state()}\t{opens} -> {closes}\t{campaign.title}")


@campaign_cli.command("stats")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def stats_command(slug: str, as_json: bool) -> None:
    """Print the figures of campaign SLUG."""
    stats = campaign_stats(campaign_or_fail(slug))
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    click.echo(f"{stats['title']} ({stats['slug']}): {stats['state']}")
    funnel = stats["funnel"]
    click.echo(
        f"Uitgenodigd: {funnel['invited']}  Afgeleverd: {funnel['delivered']}  "
        f"Geopend: {funnel['opened']}  Gestart: {funnel['started']}  "
        f"Afgerond: {funnel['completed']}"
    )
    for sector in stats["sectors"]:
        verdict = "op koers" if sector["on_track"] else "achter op schema"
        click.echo(
            f"  {sector['name']:<30} {sector['completed']:>5} / {sector['target']}"
            f"  (verwacht bij sluiting: {round(sector['projected'])}, {verdict})"
        )


@campaign_cli.command("close")
@click.argument("slug")
@with_appcontext
def close_command(slug: str) -> None:
    """Close the survey of campaign SLUG now (recorded as done from the command line)."""
    campaign = campaign_or_fail(slug)
    try:
        closed = close_now(campaign, actor=COMMAND_LINE)
    except CloseError as exc:
        raise click.ClickException(str(exc)) from exc
    if closed:
        click.echo(
            f"Campagne {slug} is afgesloten op {when(campaign, campaign.effective_close)}; "
            "nieuwe antwoorden worden geweigerd."
        )
    else:
        click.echo(
            f"Campagne {slug} was al afgesloten (sinds {when(campaign, campaign.effective_close)})."
        )
