import sys

import click
from flask.cli import with_appcontext

from campaign.auth.services import AccountError, create_coordinator

users_cli = click.Group("users", help="Manage coordinator accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@with_appcontext
def create_command(email: str, name: str, password_stdin: bool) -> None:
    """Create a coordinator account for EMAIL."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    try:
        coordinator = create_coordinator(email, password, name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Account aangemaakt voor {coordinator.email}.")
