"""``flask scheduler run``: the one process that fires the campaigns' scheduled jobs."""

from __future__ import annotations

import click

scheduler_cli = click.Group(
    "scheduler", help="The process that fires scheduled jobs and sends mail."
)
