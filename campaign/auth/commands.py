import sys

import click
from flask.cli import with_appcontext

from campaign.auth import roles
from campaign.auth.services import AccountError, create_coordinator

users_cli = click.Group("users", help="Manage coordinator accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@click.option(
    "--role",
    type=click.Choice(list(roles.ROLE_LABELS)),
    default=roles.ADMIN,
    show_default=True,
    help="admin: everything, also accounts; coordinator: runs the campaign; viewer: reads only.",
)
@click.option(
    "--partner",
    default=None,
    help="Limit a coordinator or viewer to this partner organisation (one of the organisers).",
)
@with_appcontext
def create_command(
    email: str, name: str, password_stdin: bool, role: str, partner: str | None
) -> None:
    """Create a coordinator account for EMAIL (a campaign administrator by default)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    try:
        coordinator = create_coordinator(email, password, name, role=role, partner=partner)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    label = roles.ROLE_LABELS[coordinator.role].lower()
    scope = f", beperkt tot {coordinator.partner}" if coordinator.partner else ""
    click.echo(f"Account aangemaakt voor {coordinator.email} ({label}{scope}).")
