"""``flask mail ...``: queue and send campaign mail from the command line."""

from __future__ import annotations

import click

from campaign.definitions.services import find_campaign
from campaign.formatting import plural
from campaign.mailing import resend, services
from campaign.mailing.render import MailError
from campaign.mailing.sender import SendReport, count_due, run_sender, send_queued
from campaign.models import Campaign

mail_cli = click.Group("mail", help="Queue and send campaign mail.")


def _print_report(report: SendReport) -> None:
    click.echo(f"{report.sent} verstuurd, {report.failed} mislukt, {report.cancelled} geannuleerd.")
    for failure in report.failures:
        click.echo(f"  mislukt: {failure}", err=True)
    if report.server_error:
        click.echo(
            f"De mailserver is niet bereikbaar ({report.server_error}). Er ging niets verloren: "
            "probeer later opnieuw met `flask mail send-queued`.",
            err=True,
        )
    elif report.deferred:
        wait = "wacht" if report.deferred == 1 else "wachten"
        click.echo(
            f"{plural(report.deferred, 'mail', 'mails')} {wait} op een nieuwe poging: "
            "`flask scheduler run` verstuurt ze vanzelf, of voer later "
            "`flask mail send-queued` uit.",
            err=True,
        )


def _send_with_bar(campaign_id: int | None) -> SendReport:
    total = count_due(campaign_id)
    if not total:
        return send_queued(campaign_id)
    with click.progressbar(length=total, label="Versturen", show_pos=True) as bar:
        return send_queued(campaign_id, progress=bar.update)


@mail_cli.command("invite")
@click.argument("slug")
def invite_command(slug: str) -> None:
    """Queue an invitation for every key figure not yet invited (and not opted out), then send."""
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"Geen campagne met slug {slug!r}.")
    try:
        queued = services.queue_invitations(campaign)
    except MailError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{plural(queued.queued, 'uitnodiging', 'uitnodigingen')} in de wachtrij gezet "
        f"({queued.already} al eerder, {queued.opted_out} afgemeld)."
    )
    _print_failed_earlier(campaign)
    report = _send_with_bar(campaign.id)
    _print_report(report)
    if report.failed:
        click.echo(f"Probeer de mislukte opnieuw met `flask mail retry {slug}`.", err=True)
    if not report.ok:
        raise SystemExit(1)


def _print_failed_earlier(campaign: Campaign) -> None:
    """Say plainly how many invitations failed in earlier runs, and how to retry them."""
    failed = resend.count_failed(campaign, "invitation")
    if failed:
        verb = "mislukte" if failed == 1 else "mislukten"
        click.echo(
            f"{plural(failed, 'uitnodiging', 'uitnodigingen')} {verb} eerder; "
            f"probeer ze opnieuw met `flask mail retry {campaign.slug}`."
        )


@mail_cli.command("retry")
@click.argument("slug")
def retry_command(slug: str) -> None:
    """Put the campaign's failed mails back in the queue (not those of key figures who
    opted out, nor invitations once the survey is closed), then send (progress bar)."""
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"Geen campagne met slug {slug!r}.")
    result = resend.retry_all_failed(campaign)
    if result.retried:
        click.echo(
            f"{plural(result.retried, 'mislukte mail', 'mislukte mails')} opnieuw in de wachtrij gezet."
        )
    else:
        click.echo("Er zijn geen mislukte mails om opnieuw te proberen.")
    if result.refused:
        click.echo(
            f"{plural(result.refused, 'mislukte mail', 'mislukte mails')} niet opnieuw geprobeerd "
            "(de ontvanger meldde zich af, de mail werd gewist of de bevraging is afgesloten)."
        )
    report = _send_with_bar(campaign.id)
    _print_report(report)
    if not report.ok:
        raise SystemExit(1)


def _print_pass(report: SendReport) -> None:
    """One line per pass of the watching sender that did something."""
    if report.sent or report.failed or report.cancelled or report.server_error:
        _print_report(report)


@mail_cli.command("send-queued")
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: send what falls due, look again every few seconds, stop on Ctrl+C/SIGTERM.",
)
def send_queued_command(watch: bool) -> None:
    """Send every due mail of every campaign and exit (safe beside other senders)."""
    if watch:
        click.echo("Mails worden verstuurd zodra ze klaarstaan (Ctrl+C stopt).")
        run_sender(on_report=_print_pass)
        click.echo("Gestopt.")
        return
    report = _send_with_bar(None)
    _print_report(report)
    if not report.ok:
        raise SystemExit(1)
