"""Small helpers shared by the key-figure tests."""

from __future__ import annotations

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return newline.join(lines).encode(encoding) + newline.encode(encoding)


def count_key_figures(campaign: Campaign) -> int:
    query = select(func.count()).where(KeyFigure.campaign_id == campaign.id)
    return db.session.scalar(query) or 0


def count_links(campaign: Campaign) -> int:
    return db.session.scalar(select(func.count()).where(Link.campaign_id == campaign.id)) or 0


def key_figures_by_email(campaign: Campaign) -> dict[str, KeyFigure]:
    db.session.expire_all()
    rows = db.session.scalars(select(KeyFigure).where(KeyFigure.campaign_id == campaign.id))
    return {kf.email: kf for kf in rows}


def lines_of(report) -> list[int | None]:
    return [problem.line for problem in report.problems]
