"""Channels: general links besides the key figures' (a website, a newsletter, a poster).

Each channel has its own link (made by ``attribution.channel_link``), QR code and
counts; answers through it, and through the links respondents forward from it, are
credited to the channel (``attribution.counts_by_channel``).  A channel belongs to one
partner organisation (``roles.partner_for``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from campaign import attribution
from campaign.auth import roles
from campaign.database import begin_write
from campaign.extensions import db
from campaign.history import current_actor, record_event
from campaign.mailing.services import qr_file, survey_url
from campaign.models import Campaign, Channel, Link

log = logging.getLogger(__name__)

#: Kinds of channel and their Dutch names, in the order the form offers them.
KINDS = {
    "website": "Website",
    "newsletter": "Nieuwsbrief",
    "poster": "Affiche of flyer",
    "social": "Sociale media",
    "other": "Ander kanaal",
}
MAX_NAME = 200
MAX_NOTE = 1000


class ChannelError(ValueError):
    """A channel cannot be saved as given; ``errors`` maps form fields to Dutch messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class ChannelValues:
    name: str
    kind: str = "other"
    note: str = ""
    partner: str = ""


def _clean(campaign: Campaign, values: ChannelValues, channel: Channel | None) -> dict[str, Any]:
    """The values checked; raises ``ChannelError`` with every field's problem."""
    errors: dict[str, str] = {}
    name = " ".join(values.name.split())
    if not name:
        errors["name"] = "Geef het kanaal een naam, bijvoorbeeld 'Nieuwsbrief juni'."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Hoogstens {MAX_NAME} tekens."
    else:
        same = db.session.scalar(
            select(Channel).where(
                Channel.campaign_id == campaign.id, func.lower(Channel.name) == name.lower()
            )
        )
        if same is not None and same is not channel:
            errors["name"] = f"Er is al een kanaal met de naam '{same.name}'."
    if values.kind not in KINDS:
        errors["kind"] = "Kies een soort kanaal uit de lijst."
    note = values.note.strip()
    if len(note) > MAX_NOTE:
        errors["note"] = f"Hoogstens {MAX_NOTE} tekens."
    partner = ""
    try:
        partner = roles.partner_for(list(campaign.organisers or []), values.partner)
    except roles.PartnerError as exc:
        errors["partner"] = str(exc)
    if errors:
        raise ChannelError(errors)
    return {"name": name, "kind": values.kind, "note": note, "partner": partner}


def create_channel(campaign: Campaign, values: ChannelValues) -> Channel:
    """Add a channel with its own link.  Raises ``ChannelError``; writes nothing then."""
    clean = _clean(campaign, values, None)
    begin_write()
    channel = Channel(campaign_id=campaign.id, created_by=current_actor(), **clean)
    db.session.add(channel)
    db.session.flush()
    attribution.channel_link(channel)
    record_event(campaign, "channel_created", name=channel.name, partner=channel.partner)
    db.session.commit()
    log.info("campaign %s: channel %s created", campaign.slug, channel.id)
    return channel


def update_channel(channel: Channel, values: ChannelValues) -> Channel:
    """Rename a channel or change its kind, note or partner; its link stays the same."""
    clean = _clean(channel.campaign, values, channel)
    begin_write()
    old = channel.name
    for key, value in clean.items():
        setattr(channel, key, value)
    record_event(channel.campaign, "channel_changed", name=channel.name, old=old, new=channel.name)
    db.session.commit()
    return channel


def get_channel(campaign: Campaign, channel_id: int) -> Channel | None:
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.campaign_id != campaign.id:
        return None
    return channel


@dataclass(frozen=True)
class ChannelRow:
    """One channel with its link and what came in through it (and its forwards)."""

    id: int
    name: str
    kind: str
    kind_label: str
    note: str
    partner: str
    url: str
    opened: int
    started: int
    completed: int


def channel_rows(campaign: Campaign, partner: str | None = None) -> list[ChannelRow]:
    """The campaign's channels by name, with their counts; only ``partner``'s when given
    (an account limited to a partner)."""
    query = select(Channel, Link).join(
        Link, (Link.channel_id == Channel.id) & Link.parent_id.is_(None)
    )
    query = query.where(Channel.campaign_id == campaign.id).order_by(func.lower(Channel.name))
    if partner:
        query = query.where(Channel.partner == partner)
    counts = attribution.counts_by_channel(campaign)
    opens = attribution.opens_by_channel(campaign)
    rows = []
    for channel, link in db.session.execute(query):
        numbers = counts.get(channel.id, attribution.Counts())
        rows.append(
            ChannelRow(
                id=channel.id,
                name=channel.name,
                kind=channel.kind,
                kind_label=KINDS.get(channel.kind, channel.kind),
                note=channel.note,
                partner=channel.partner,
                url=survey_url(link),
                opened=opens.get(channel.id, 0),
                started=numbers.started,
                completed=numbers.completed,
            )
        )
    return rows


def channel_url(channel: Channel) -> str:
    """The public address of the channel's own link."""
    link = attribution.channel_link(channel)
    return survey_url(link)


def channel_qr(channel: Channel, kind: str) -> tuple[bytes, str]:
    """The channel's QR code as a PNG or SVG file (the key figures' QR code, reused)."""
    return qr_file(channel_url(channel), kind)
