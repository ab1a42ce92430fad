import click

mail_cli = click.Group("mail", help="Queue and send campaign mail.")
