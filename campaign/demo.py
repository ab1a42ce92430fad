import click

demo_command = click.Command("demo", help="Load the example campaign with made-up data.")
