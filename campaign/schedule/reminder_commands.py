"""``flask mail remind SLUG [--dry-run]``: the targeted reminder from the command line."""

from __future__ import annotations

from campaign.mailing.commands import mail_cli

__all__ = ["mail_cli"]
