"""The campaign file's ``draw`` section as the draw uses it, and the address rules.

One entry per address: an address is normalised (``auth.services.normalise_email``:
lower case, the domain's IDNA form) and, for the domains the campaign file
names under ``fold_domains``, folded (``+tag`` and dots of the local part
dropped: ``j.peeters+wedstrijd@gmail.com`` is ``jpeeters@gmail.com``), because
those providers deliver all of them to one mailbox.  ``exclude`` lists
addresses (``jan@pom.be``) and domains (``@pom.be``, subdomains included) whose
entries do not take part: the organisers' own staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign.models import Campaign

#: Reserves drawn after the winners when the campaign file does not say.
DEFAULT_RESERVES = 3
#: Days a winner has to claim the prize before it may pass to the next reserve.
DEFAULT_CLAIM_DAYS = 14
#: Days after the last prize is settled before the entrants' addresses are erased.
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class DrawSettings:
    exclude: tuple[str, ...] = ()
    fold_domains: tuple[str, ...] = ()
    reserves: int = DEFAULT_RESERVES
    claim_days: int = DEFAULT_CLAIM_DAYS
    retention_days: int = DEFAULT_RETENTION_DAYS

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> DrawSettings:
        stored = stored or {}
        return cls(
            exclude=tuple(stored.get("exclude") or ()),
            fold_domains=tuple(stored.get("fold_domains") or ()),
            reserves=int(stored.get("reserves", DEFAULT_RESERVES)),
            claim_days=int(stored.get("claim_days", DEFAULT_CLAIM_DAYS)),
            retention_days=int(stored.get("retention_days", DEFAULT_RETENTION_DAYS)),
        )


def settings_of(campaign: Campaign) -> DrawSettings:
    return DrawSettings.from_stored(campaign.draw_settings)


def fold(address: str, fold_domains: tuple[str, ...] | list[str]) -> str:
    """``address`` (already normalised) with its ``+tag`` and dots dropped when its
    domain is one of ``fold_domains``; otherwise unchanged."""
    local, _, domain = address.rpartition("@")
    if domain not in fold_domains:
        return address
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else address


def exclusion_rule(address: str, exclude: tuple[str, ...] | list[str]) -> str | None:
    """The rule of ``exclude`` that leaves ``address`` out (a domain or an address), or None."""
    domain = address.rpartition("@")[2]
    for rule in exclude:
        if rule.startswith("@"):
            wanted = rule[1:]
            if domain == wanted or domain.endswith("." + wanted):
                return rule
        elif rule == address:
            return rule
    return None
