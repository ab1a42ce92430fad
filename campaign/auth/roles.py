"""Roles and partner scopes: what an account may do and see.

Three roles (``Coordinator.role``):

- ``admin``, the campaign administrator: everything, and managing the accounts;
- ``coordinator``: runs the campaign (key figures, channels, mail, reminder, close,
  draw, exports), but manages no accounts;
- ``viewer``: reads every page its scope allows and changes nothing.

A coordinator or viewer may be limited to one partner organisation (one of the
campaign file's organisers, ``Coordinator.partner``): it then sees that partner's
key figures, networks and channels with their counts, and the campaign-wide totals,
nothing else.  An administrator is never limited.

A key figure or channel belongs to one partner (``partner_for``): the one asked for,
else the limited account's own partner, else the campaign's only organiser, else
its first organiser (the lead of the campaign file's list).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context

ADMIN = "admin"
COORDINATOR = "coordinator"
VIEWER = "viewer"

#: Dutch names, in the order the accounts page offers them.
ROLE_LABELS = {
    ADMIN: "Campagnebeheerder",
    COORDINATOR: "Coördinator",
    VIEWER: "Kijker",
}
ROLE_HINTS = {
    ADMIN: "alles, ook accounts beheren",
    COORDINATOR: "de campagne voeren, geen accounts beheren",
    VIEWER: "alles bekijken binnen zijn bereik, niets wijzigen",
}


class PartnerError(ValueError):
    """A partner organisation that is not one of the campaign's organisers, or not the
    one the account is limited to; the message is Dutch."""


def current_account() -> Any | None:
    """The logged-in coordinator behind the current request, if any."""
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user if getattr(current_user, "is_authenticated", False) else None


def partner_limit() -> str | None:
    """The partner the current account is limited to; None outside a request (a
    command, a job) or for an account that sees every partner."""
    account = current_account()
    return getattr(account, "partner", None) or None if account is not None else None


def can_change() -> bool:
    """Whether the current account may change anything (not a viewer)."""
    account = current_account()
    return account is not None and account.role in (ADMIN, COORDINATOR)


def is_admin() -> bool:
    account = current_account()
    return account is not None and account.role == ADMIN


def partner_for(organisers: list[str], given: str | None) -> str:
    """The partner a key figure or channel belongs to, spelled as in the campaign file.

    ``given`` is matched case-insensitively with the organisers.  Empty: the limited
    account's partner, else the only organiser, else the first one.  Raises
    ``PartnerError`` for an unknown partner, or another one than the account's limit.
    """
    limit = partner_limit()
    wanted = (given or "").strip()
    if not wanted:
        if limit:
            return limit
        return organisers[0] if organisers else ""
    match = next((name for name in organisers if name.casefold() == wanted.casefold()), None)
    if match is None:
        choices = ", ".join(organisers) or "geen"
        raise PartnerError(f"Onbekende partnerorganisatie '{wanted}'. Kies uit: {choices}.")
    if limit and match != limit:
        raise PartnerError(f"Je account is beperkt tot {limit}: kies die partnerorganisatie.")
    return match


def partner_choices(organisers: list[str]) -> list[str]:
    """The partners the current account may give a key figure or channel."""
    limit = partner_limit()
    return [limit] if limit else list(organisers)


def in_scope(partner: str | None) -> bool:
    """Whether the current account may see a key figure or channel of ``partner``."""
    limit = partner_limit()
    return limit is None or partner == limit
