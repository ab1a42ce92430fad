"""Key figures: creation, update and opt-out.  CSV import builds on these."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from campaign.auth.services import normalise_email
from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Sector, utcnow
from campaign.survey.links import root_link_for

log = logging.getLogger(__name__)


class ContactError(ValueError):
    """A key figure cannot be saved as given; the message is Dutch."""


def find_key_figure(campaign: Campaign, email: str) -> KeyFigure | None:
    return db.session.scalar(
        select(KeyFigure).where(
            KeyFigure.campaign_id == campaign.id, KeyFigure.email == email.strip().lower()
        )
    )


def sector_by_code(campaign: Campaign, code: str) -> Sector | None:
    return next((s for s in campaign.sectors if s.code == code), None)


def save_key_figure(
    campaign: Campaign,
    *,
    name: str,
    email: str,
    organisation: str = "",
    sector_code: str | None = None,
    network: str = "",
    reach: int | None = None,
) -> KeyFigure:
    """Create the key figure, or update the one with this e-mail; give it its own link.

    Raises ``ContactError`` for an invalid e-mail address or an unknown sector.
    """
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise ContactError(str(exc).capitalize()) from exc
    sector = None
    if sector_code:
        sector = sector_by_code(campaign, sector_code.strip().lower())
        if sector is None:
            raise ContactError(f"Onbekende sector {sector_code!r}")
    begin_write()
    key_figure = find_key_figure(campaign, email)
    if key_figure is None:
        key_figure = KeyFigure(campaign_id=campaign.id, email=email)
        db.session.add(key_figure)
    key_figure.name = name.strip()
    key_figure.organisation = organisation.strip()
    key_figure.sector = sector
    key_figure.network = network.strip()
    key_figure.reach = reach
    db.session.flush()
    root_link_for(key_figure)
    db.session.commit()
    return key_figure


def set_opted_out(key_figure: KeyFigure, opted_out: bool, now: datetime | None = None) -> None:
    """Opt the key figure out of (or back into) every mail of the campaign."""
    begin_write()
    key_figure.opted_out_at = (now or utcnow()) if opted_out else None
    db.session.commit()
    log.info("key figure %s opted %s", key_figure.id, "out" if opted_out else "in")
