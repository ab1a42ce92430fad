import click

contacts_cli = click.Group("contacts", help="Import and manage key figures.")
