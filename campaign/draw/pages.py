"""What the draw's two pages show: the public page (receipts only) and the dashboard's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from campaign import clock
from campaign.draw import checkdraw
from campaign.draw.prizes import handovers
from campaign.draw.published import published
from campaign.draw.purge import erase_after, planned_erase, purge_wait
from campaign.draw.services import freeze_if_due, freeze_moment
from campaign.draw.settings import DrawSettings, settings_of
from campaign.extensions import db
from campaign.history import campaign_events
from campaign.models import Campaign, CampaignEvent, Draw, DrawEntry, Message

#: Longest receipt a visitor may look up (``K7M2-X9QD`` is 9).
MAX_CODE_LENGTH = 20


@dataclass
class PublicPage:
    campaign: Campaign
    draw: Draw
    data: dict[str, Any]
    freeze_at: datetime
    settings: DrawSettings
    #: When the addresses will be erased, once every prize is settled.
    erase_on: datetime | None
    #: (place, receipt, score) of the winners and reserves, best first.
    ranked: list[tuple[int, str, str]] = field(default_factory=list)
    #: The visitor's own receipt and what became of it, when one was looked up.
    lookup: dict[str, Any] | None = None


def public_page(campaign: Campaign, code: str = "", now: datetime | None = None) -> PublicPage:
    draw = freeze_if_due(campaign, now)
    page = PublicPage(
        campaign,
        draw,
        published(campaign, draw),
        freeze_moment(campaign),
        settings_of(campaign),
        planned_erase(campaign),
    )
    if draw.performed_at is not None:
        frozen = draw.receipts_hash or ""
        shown = [*draw.winners, *draw.reserves]
        page.ranked = [
            (place, receipt, checkdraw.score(draw.seed, frozen, receipt))
            for place, receipt in enumerate(shown, 1)
        ]
    code = code.strip().upper()[:MAX_CODE_LENGTH]
    if code and draw.frozen_at is not None:
        page.lookup = _lookup(draw, code)
    return page


def _lookup(draw: Draw, code: str) -> dict[str, Any]:
    """Where ``code`` stands: not on the list, left out, on it, winner or reserve."""
    excluded = {item["receipt"]: item["reason"] for item in draw.excluded}
    result: dict[str, Any] = {"code": code, "listed": code in draw.receipts}
    result["excluded"] = excluded.get(code)
    holders = [award["receipt"] for award in draw.awards]
    if code in holders:
        result["prize"] = holders.index(code) + 1
    elif code in draw.winners:
        result["passed_on"] = True
    if code in draw.reserves:
        result["reserve"] = draw.reserves.index(code) + 1
    return result


@dataclass
class AwardRow:
    number: int
    prize: str
    receipt: str
    email: str | None
    notified_at: datetime
    claim_until: datetime
    delivered_at: datetime | None
    mail_status: str | None
    expired: bool
    passed: list[dict[str, Any]]


@dataclass
class DashboardPage:
    campaign: Campaign
    draw: Draw
    freeze_at: datetime
    entries: int
    may_run: bool
    awards: list[AwardRow]
    #: Entries left out at the freeze, with the address while it is kept.
    excluded: list[dict[str, Any]]
    reserves_left: int
    purge_wait: str | None
    erase_after: datetime | None
    events: list[CampaignEvent]
    settings: DrawSettings


def dashboard_page(campaign: Campaign, now: datetime | None = None) -> DashboardPage:
    now = now or clock.now()
    draw = freeze_if_due(campaign, now)
    emails = dict(
        db.session.execute(
            select(DrawEntry.receipt, DrawEntry.email).where(DrawEntry.campaign_id == campaign.id)
        ).all()
    )
    return DashboardPage(
        campaign=campaign,
        draw=draw,
        freeze_at=freeze_moment(campaign),
        entries=len(emails),
        may_run=now >= freeze_moment(campaign) and draw.purged_at is None,
        awards=_award_rows(campaign, draw, emails, now),
        excluded=[{**item, "email": emails.get(item["receipt"])} for item in draw.excluded],
        reserves_left=len(draw.reserves) - len(handovers(draw)),
        purge_wait=purge_wait(campaign, now) if draw.purged_at is None else None,
        erase_after=erase_after(campaign, now),
        events=[e for e in campaign_events(campaign, limit=200) if e.kind.startswith("draw_")],
        settings=settings_of(campaign),
    )


def _award_rows(
    campaign: Campaign, draw: Draw, emails: dict[str, str], now: datetime
) -> list[AwardRow]:
    statuses = _winner_mail_statuses(campaign)
    rows = []
    for number, award in enumerate(draw.awards, 1):
        email = emails.get(award["receipt"])
        claim_until = datetime.fromisoformat(award["claim_until"])
        delivered = award.get("delivered_at")
        rows.append(
            AwardRow(
                number=number,
                prize=award["prize"],
                receipt=award["receipt"],
                email=email,
                notified_at=datetime.fromisoformat(award["notified_at"]),
                claim_until=claim_until,
                delivered_at=datetime.fromisoformat(delivered) if delivered else None,
                mail_status=statuses.get(email) if email else None,
                expired=not delivered and now >= claim_until,
                passed=list(award.get("passed", [])),
            )
        )
    return rows


def _winner_mail_statuses(campaign: Campaign) -> dict[str, str]:
    """The status of the latest winner mail per address."""
    query = (
        select(Message.recipient_email, Message.status)
        .where(Message.campaign_id == campaign.id, Message.kind == "winner")
        .order_by(Message.round)
    )
    return {email: status for email, status in db.session.execute(query)}
