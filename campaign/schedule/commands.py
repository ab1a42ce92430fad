"""``flask scheduler run``: the one process that fires the campaigns' scheduled jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from campaign.schedule.runner import run_scheduler

scheduler_cli = click.Group(
    "scheduler", help="The process that fires scheduled jobs and sends mail."
)


@scheduler_cli.command("run")
@click.option("--no-mail", is_flag=True, help="Do not send the outbox in this process.")
@with_appcontext
def run_command(no_mail: bool) -> None:
    """Fire launch, reminder, close and purge at their times, and send queued mail,
    until Ctrl+C or SIGTERM.  Run exactly one in production (a second one waits as standby)."""
    click.echo("Planner gestart: geplande taken en mails gaan vanzelf uit (Ctrl+C stopt).")
    # The app itself, not the proxy: the process's threads (jobs, sender) push its context.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_scheduler(app, send_mail=not no_mail)
    click.echo("Planner gestopt.")
