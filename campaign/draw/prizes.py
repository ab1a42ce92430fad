"""The prizes after the draw: passing an unclaimed prize to the next reserve, noting a
handover, and when every prize is settled (which the purge waits for).

A winner has ``draw.claim_days`` (campaign file) from the winner mail to claim the prize;
after that a coordinator may pass it to the next reserve that has had no prize yet (the
n-th handover goes to the n-th reserve, which ``checkdraw.holders`` checks).  Every
change is recorded with ``history.record_event`` and the acting coordinator.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from campaign import clock
from campaign.database import begin_write
from campaign.draw.services import DrawRefused, locked_draw, when, winner_rows
from campaign.draw.settings import settings_of
from campaign.extensions import db
from campaign.history import record_event
from campaign.mailing.services import insert_ignoring_duplicates
from campaign.models import Campaign, Draw

log = logging.getLogger(__name__)


def _award(campaign: Campaign, draw: Draw, index: int) -> dict[str, Any]:
    if draw.performed_at is None:
        raise DrawRefused("De trekking is nog niet gebeurd.")
    if draw.purged_at is not None:
        raise DrawRefused("De deelnames zijn gewist: er kan niets meer aan de prijzen wijzigen.")
    if not 0 <= index < len(draw.awards):
        raise DrawRefused("Die prijs bestaat niet.")
    return dict(draw.awards[index])


def handovers(draw: Draw) -> list[dict[str, Any]]:
    """Every pass to a reserve, in the order they happened: [{"prize", "from", "to", "at"}]."""
    passes = [
        {"prize": index, **step}
        for index, award in enumerate(draw.awards)
        for step in award.get("passed", [])
    ]
    return sorted(passes, key=lambda step: (step["at"], step["prize"]))


def pass_to_reserve(
    campaign: Campaign, index: int, *, actor: str, now: datetime | None = None, reason: str = ""
) -> Draw:
    """Give prize ``index`` to the next reserve because its holder did not claim it in time,
    and mail that reserve.  Raises ``DrawRefused`` while the claim period runs, for a
    prize already handed over, and when no reserve is left."""
    now = now or clock.now()
    begin_write()
    draw = locked_draw(campaign)
    try:
        award = _check_pass(campaign, draw, index, now)
    except DrawRefused:
        db.session.rollback()
        raise
    reserve = draw.reserves[len(handovers(draw))]
    claim = timedelta(days=settings_of(campaign).claim_days)
    step = {"from": award["receipt"], "to": reserve, "at": now.isoformat(), "by": actor}
    step["reason"] = " ".join(reason.split()) or "niet opgeëist binnen de termijn"
    award.update(
        receipt=reserve,
        notified_at=now.isoformat(),
        claim_until=(now + claim).isoformat(),
        passed=[*award.get("passed", []), step],
    )
    awards = list(draw.awards)
    awards[index] = award
    draw.awards = awards
    insert_ignoring_duplicates(winner_rows(campaign, [award], 1 + len(draw.rounds)), now)
    record_event(
        campaign, "draw_passed", actor=actor, now=now, prize=index + 1, **_public_step(step)
    )
    db.session.commit()
    log.info("campaign %s: prize %s passed to the next reserve by %s", campaign.slug, index, actor)
    return draw


def _public_step(step: dict[str, Any]) -> dict[str, Any]:
    return {"from_receipt": step["from"], "to_receipt": step["to"], "reason": step["reason"]}


def _check_pass(campaign: Campaign, draw: Draw, index: int, now: datetime) -> dict[str, Any]:
    award = _award(campaign, draw, index)
    if award.get("delivered_at"):
        raise DrawRefused("Deze prijs is al overhandigd.")
    claim_until = datetime.fromisoformat(award["claim_until"])
    if now < claim_until:
        raise DrawRefused(
            "De winnaar kan de prijs nog opeisen tot "
            f"{when(campaign, claim_until)}; pas daarna gaat ze naar de volgende reserve."
        )
    if len(handovers(draw)) >= len(draw.reserves):
        raise DrawRefused("Er is geen reserve meer over om de prijs aan door te geven.")
    return award


def mark_delivered(
    campaign: Campaign, index: int, *, actor: str, now: datetime | None = None
) -> Draw:
    """Record that prize ``index`` was handed over to its current holder."""
    now = now or clock.now()
    begin_write()
    draw = locked_draw(campaign)
    try:
        award = _award(campaign, draw, index)
        if award.get("delivered_at"):
            raise DrawRefused("Deze prijs was al als overhandigd genoteerd.")
    except DrawRefused:
        db.session.rollback()
        raise
    award["delivered_at"] = now.isoformat()
    awards = list(draw.awards)
    awards[index] = award
    draw.awards = awards
    record_event(campaign, "draw_delivered", actor=actor, now=now, prize=index + 1)
    db.session.commit()
    log.info("campaign %s: prize %s handed over, noted by %s", campaign.slug, index, actor)
    return draw


def settled_at(draw: Draw, now: datetime | None = None) -> datetime | None:
    """When the last prize was settled (handed over, or its claim ran out with no reserve
    left to pass it to); None while one is still open or before the draw."""
    now = now or clock.now()
    if draw.performed_at is None:
        return None
    no_reserve_left = len(handovers(draw)) >= len(draw.reserves)
    moments = [draw.performed_at]
    for award in draw.awards:
        if award.get("delivered_at"):
            moments.append(datetime.fromisoformat(award["delivered_at"]))
        elif no_reserve_left and datetime.fromisoformat(award["claim_until"]) <= now:
            moments.append(datetime.fromisoformat(award["claim_until"]))
        else:
            return None
    return max(moments)
