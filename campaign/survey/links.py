"""Tracked survey links ``/s/<code>``: a key figure's own link and forwarded child links."""

from __future__ import annotations

from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link


def find_link(code: str) -> Link | None:
    return db.session.scalar(select(Link).where(Link.code == code.strip().lower()))


def root_link_for(key_figure: KeyFigure) -> Link:
    """The key figure's own link, created (not yet committed) when it does not exist."""
    link = db.session.scalar(
        select(Link).where(Link.key_figure_id == key_figure.id, Link.parent_id.is_(None))
    )
    if link is None:
        link = Link(campaign_id=key_figure.campaign_id, key_figure=key_figure)
        db.session.add(link)
    return link


def new_child_link(parent: Link) -> Link:
    """A link for a respondent to forward; it credits the same key figure as ``parent``."""
    link = Link(
        campaign_id=parent.campaign_id, key_figure_id=parent.key_figure_id, parent_id=parent.id
    )
    db.session.add(link)
    return link


def find_link_and_campaign(code: str) -> tuple[Link, Campaign] | None:
    """The link with this code and its campaign, in one query (the survey's hot path)."""
    if not code or len(code) > 40:
        return None
    row = db.session.execute(
        select(Link, Campaign)
        .join(Campaign, Campaign.id == Link.campaign_id)
        .where(Link.code == code.strip().lower())
    ).first()
    return (row[0], row[1]) if row else None
