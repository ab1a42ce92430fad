"""``flask results ...``: the answers out of the tool."""

from __future__ import annotations

import click

results_cli = click.Group("results", help="Export the answers and the results pack.")
