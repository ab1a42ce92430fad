"""The prize draw's rules and writes: the seed, the freeze, the draw, the prizes' fate.

The life of a draw (one ``Draw`` row per campaign):

1. **Seed**: made with the campaign (``attach_seed`` when its file is loaded, or
   ``ensure_draw`` at first need): 32 random bytes, kept secret; their SHA-256,
   the *commitment*, is copied to ``Campaign.draw_commitment`` and shown from
   the opening.  The row's unique ``campaign_id`` makes two processes that
   race for it end with one seed.
2. **Freeze**: entries are taken until the survey's grace period after the
   close ends (``freeze_moment``); then the receipts taking part (excluded and
   duplicate addresses left out, visibly) are frozen, sorted, with their hash.
3. **Draw**: ``run_draw`` reveals the seed and ranks the receipts
   (``checkdraw.draw``); winners are mailed through the outbox.  A second run
   is refused unless it is an explicit redraw with a reason, which keeps the
   earlier result in ``Draw.rounds``.
4. **Prizes**: a prize not claimed within ``claim_days`` may pass to the next
   reserve, a handed-over prize is noted (``campaign.draw.prizes``); the purge
   (``campaign.draw.purge``) follows.

Every action is recorded with ``history.record_event`` and its actor.  No log line
names an entrant: no address, no receipt.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from campaign import clock
from campaign.database import begin_write
from campaign.draw import checkdraw
from campaign.draw.settings import DrawSettings, exclusion_rule, fold, settings_of
from campaign.extensions import db
from campaign.formatting import format_date, format_datetime
from campaign.history import PLANNER, record_event
from campaign.mailing.render import campaign_context
from campaign.mailing.services import Recipient, insert_ignoring_duplicates, render_rows
from campaign.models import Campaign, Draw, DrawEntry
from campaign.urls import public_url

log = logging.getLogger(__name__)

#: Why an entry was left out at the freeze (public: never the rule, which may be an address).
EXCLUDED_STAFF = "organisator"
EXCLUDED_DUPLICATE = "dubbel"


class DrawRefused(ValueError):
    """The draw action cannot be done now; the message is Dutch and says why."""


# --- the seed ---------------------------------------------------------------------------------


def new_seed() -> str:
    """32 random bytes, in hex."""
    return secrets.token_hex(32)


def _insert_seed(campaign: Campaign) -> str:
    """Inside the caller's write transaction: the campaign's draw row with a new seed,
    unless one exists (then that one stays); returns the commitment that holds."""
    seed = new_seed()
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Draw).on_conflict_do_nothing(index_elements=["campaign_id"])
    db.session.execute(
        statement,
        {
            "campaign_id": campaign.id,
            "seed": seed,
            "commitment": checkdraw.commitment(seed),
            "winners": [],
        },
    )
    commitment = db.session.scalar(select(Draw.commitment).where(Draw.campaign_id == campaign.id))
    assert commitment is not None
    campaign.draw_commitment = commitment
    return commitment


def attach_seed(campaign: Campaign) -> None:
    """Inside the campaign file's load transaction: give a campaign without a seed one."""
    if campaign.draw_commitment is None:
        db.session.flush()  # a new campaign's id
        _insert_seed(campaign)


def ensure_draw(campaign: Campaign) -> Draw:
    """The campaign's draw row, made (with its seed, committed) when it has none yet."""
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))
    if draw is not None and campaign.draw_commitment == draw.commitment:
        return draw
    begin_write()
    _insert_seed(campaign)
    db.session.commit()
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))
    assert draw is not None
    return draw


def apply_file_settings(campaign: Campaign, section: dict[str, Any]) -> list[str]:
    """Inside the load transaction: store the file's ``draw`` section and make the seed;
    returns the changes (Dutch) for the load's report."""
    old = settings_of(campaign) if campaign.id is not None else None
    campaign.draw_settings = section
    attach_seed(campaign)
    if old is None or old == settings_of(campaign):
        return []
    return ["instellingen van de trekking gewijzigd"]


# --- the freeze -----------------------------------------------------------------------------


def freeze_moment(campaign: Campaign) -> datetime:
    """When entries stop: the end of the survey's grace period after the (effective) close,
    the last moment a response in progress can complete and hand out a ticket."""
    from campaign.survey.services import grace_ends_at

    return grace_ends_at(campaign)


@dataclass(frozen=True)
class Eligibility:
    receipts: list[str]
    #: [{"receipt", "reason"}], sorted by receipt.
    excluded: list[dict[str, str]]


def eligibility(entries: list[tuple[str, str]], settings: DrawSettings) -> Eligibility:
    """Which (receipt, e-mail) entries take part: not excluded, and one per folded address
    (the smallest receipt of a group stays)."""
    taking_part: dict[str, str] = {}
    excluded = []
    for receipt, email in sorted(entries):
        address = fold(email, settings.fold_domains)
        if exclusion_rule(address, settings.exclude) is not None:
            excluded.append({"receipt": receipt, "reason": EXCLUDED_STAFF})
        elif address in taking_part:
            excluded.append({"receipt": receipt, "reason": EXCLUDED_DUPLICATE})
        else:
            taking_part[address] = receipt
    return Eligibility(sorted(taking_part.values()), excluded)


def entries_of(campaign: Campaign) -> list[tuple[str, str]]:
    query = select(DrawEntry.receipt, DrawEntry.email).where(DrawEntry.campaign_id == campaign.id)
    return [(receipt, email) for receipt, email in db.session.execute(query)]


def locked_draw(campaign: Campaign) -> Draw:
    """Inside a write transaction: the campaign's draw row as it is now (read again, not
    the copy the session may hold), locked on PostgreSQL."""
    query = (
        select(Draw)
        .where(Draw.campaign_id == campaign.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    draw = db.session.scalar(query)
    if draw is None:
        _insert_seed(campaign)
        draw = db.session.scalar(query)
    assert draw is not None
    return draw


def _freeze_list(campaign: Campaign, draw: Draw) -> None:
    """Inside a write transaction: the frozen list from the entries as they are now."""
    found = eligibility(entries_of(campaign), settings_of(campaign))
    draw.receipts = found.receipts
    draw.receipts_hash = checkdraw.list_hash(found.receipts)
    draw.excluded = found.excluded


def freeze(campaign: Campaign, now: datetime | None = None) -> Draw:
    """Freeze the list of entries once its moment has come (idempotent; committed).

    Raises ``DrawRefused`` before ``freeze_moment``.
    """
    now = now or clock.now()
    moment = freeze_moment(campaign)
    draw = ensure_draw(campaign)
    if draw.frozen_at is not None:
        return draw
    if now < moment:
        raise DrawRefused(
            f"De deelnames worden pas bevroren na de sluiting, op {when(campaign, moment)}."
        )
    begin_write()
    draw = locked_draw(campaign)
    if draw.frozen_at is None:
        _freeze_list(campaign, draw)
        draw.frozen_at = moment
        record_event(
            campaign,
            "draw_frozen",
            actor=PLANNER,
            now=moment,
            receipts=len(draw.receipts),
            excluded=len(draw.excluded),
            receipts_hash=draw.receipts_hash,
        )
    db.session.commit()
    log.info("campaign %s: draw entries frozen", campaign.slug)
    return draw


def freeze_if_due(campaign: Campaign, now: datetime | None = None) -> Draw:
    """The campaign's draw, frozen when its moment has passed (for the pages)."""
    try:
        return freeze(campaign, now)
    except DrawRefused:
        return ensure_draw(campaign)


def when(campaign: Campaign, moment: datetime) -> str:
    return format_datetime(campaign.local(moment))


# --- the draw -------------------------------------------------------------------------------


def _awards(campaign: Campaign, winners: list[str], now: datetime) -> list[dict[str, Any]]:
    claim = timedelta(days=settings_of(campaign).claim_days)
    prizes = campaign.prizes or []
    return [
        {
            "prize": prizes[index].get("name", ""),
            "receipt": receipt,
            "notified_at": now.isoformat(),
            "claim_until": (now + claim).isoformat(),
            "delivered_at": None,
            "passed": [],
        }
        for index, receipt in enumerate(winners)
    ]


def winner_rows(
    campaign: Campaign, awards: list[dict[str, Any]], round_: int
) -> list[dict[str, Any]]:
    """Outbox rows of the winner mail for ``awards``, addressed to the entrants."""
    emails = dict(entries_of(campaign))
    shared = campaign_context(campaign)
    recipients = [
        Recipient(
            email=emails[award["receipt"]],
            context=_winner_context(
                campaign,
                shared,
                award["prize"],
                award["receipt"],
                datetime.fromisoformat(award["claim_until"]),
            ),
        )
        for award in awards
        if award["receipt"] in emails
    ]
    return render_rows(campaign, "winner", recipients, round_)


#: The receipt the mail page's preview of the winner mail shows.
PREVIEW_RECEIPT = "VOORBEELD"


def winner_preview_context(campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """What the winner mail says to an entrant (no name: entrants leave only an address),
    for the mail page's preview: the first prize, an example receipt, the claim period
    counted from now."""
    now = now or clock.now()
    prize = campaign.prizes[0]["name"] if campaign.prizes else ""
    claim = timedelta(days=settings_of(campaign).claim_days)
    return _winner_context(
        campaign, campaign_context(campaign), prize, PREVIEW_RECEIPT, now + claim
    )


def _winner_context(
    campaign: Campaign, shared: dict[str, Any], prize: str, receipt: str, claim_until: datetime
) -> dict[str, Any]:
    return {
        **shared,
        "name": "",
        "prize": prize_phrase_of(prize),
        "receipt": receipt,
        "claim_until": format_date(campaign.local(claim_until)),
        "draw_url": public_url("draw.public", slug=campaign.slug),
    }


def prize_phrase_of(name: str) -> str:
    """``een hartige box ...`` for the winner mail (``Hartige box ...`` in the file)."""
    if not name:
        return "een prijs"
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        name = name[0].lower() + name[1:]
    return f"een {name}"


def _refuse_run(campaign: Campaign, draw: Draw, now: datetime, reason: str | None) -> None:
    if not campaign.prizes:
        raise DrawRefused("Deze campagne heeft geen prijzen: er valt niets te trekken.")
    moment = freeze_moment(campaign)
    if now < moment:
        raise DrawRefused(
            "De trekking kan pas na de sluiting van de bevraging en de wachttijd voor wie nog "
            f"bezig was: vanaf {when(campaign, moment)}."
        )
    if draw.purged_at is not None:
        raise DrawRefused("De deelnames zijn al gewist: opnieuw trekken kan niet meer.")
    if draw.performed_at is not None and not reason:
        raise DrawRefused(
            f"De trekking is al gebeurd op {when(campaign, draw.performed_at)}. Opnieuw "
            "trekken kan enkel uitdrukkelijk, met een reden die op de publieke pagina komt."
        )
    if draw.performed_at is None and reason:
        raise DrawRefused("Er is nog geen trekking om over te doen: voer eerst de trekking uit.")


@dataclass(frozen=True)
class DrawResult:
    draw: Draw
    mails: int


def run_draw(
    campaign: Campaign, *, actor: str, now: datetime | None = None, redraw_reason: str = ""
) -> DrawResult:
    """Reveal the seed, draw the winners and reserves, and queue the winner mails.

    Raises ``DrawRefused`` before the freeze moment, after the purge, and when the
    draw was made already unless ``redraw_reason`` asks for a redraw (same seed, the
    list frozen again with the exclusions as they are now; the earlier result kept).
    """
    now = now or clock.now()
    reason = " ".join(redraw_reason.split())
    draw = ensure_draw(campaign)
    _refuse_run(campaign, draw, now, reason)
    if draw.frozen_at is None:
        draw = freeze(campaign, now)
    begin_write()
    draw = locked_draw(campaign)
    _refuse_run(campaign, draw, now, reason)  # again, under the lock: one run wins a race
    if reason:
        draw.rounds = [*draw.rounds, _round_record(draw, reason)]
    _refreeze(campaign, draw, actor, now)
    mails = _perform(campaign, draw, actor, now)
    record_event(
        campaign,
        "draw_redrawn" if reason else "draw_run",
        actor=actor,
        now=now,
        winners=list(draw.winners),
        reserves=list(draw.reserves),
        receipts_hash=draw.receipts_hash,
        **({"reason": reason} if reason else {}),
    )
    db.session.commit()
    log.info("campaign %s: draw %s by %s", campaign.slug, "redone" if reason else "run", actor)
    return DrawResult(draw, mails)


def _refreeze(campaign: Campaign, draw: Draw, actor: str, now: datetime) -> None:
    """The list as the draw takes it: entries stop at the freeze moment, but exclusions
    changed in the campaign file since (staff found among the entrants) apply, visibly."""
    before = draw.receipts_hash
    _freeze_list(campaign, draw)
    if draw.receipts_hash != before:
        record_event(
            campaign,
            "draw_list_changed",
            actor=actor,
            now=now,
            old_hash=before,
            receipts_hash=draw.receipts_hash,
            receipts=len(draw.receipts),
            excluded=len(draw.excluded),
        )


def _round_record(draw: Draw, reason: str) -> dict[str, Any]:
    return {
        "performed_at": draw.performed_at.isoformat() if draw.performed_at else None,
        "performed_by": draw.performed_by,
        "reason": reason,
        "receipts_hash": draw.receipts_hash,
        "winners": list(draw.winners),
        "reserves": list(draw.reserves),
    }


def _perform(campaign: Campaign, draw: Draw, actor: str, now: datetime) -> int:
    """Inside the run's transaction: the result on the row and the winner mails queued."""
    prizes = len(campaign.prizes or [])
    reserves = settings_of(campaign).reserves
    winners, reserve_list = checkdraw.draw(draw.seed, draw.receipts, prizes, reserves)
    draw.winners, draw.reserves = winners, reserve_list
    draw.awards = _awards(campaign, winners, now)
    draw.performed_at, draw.performed_by = now, actor
    rows = winner_rows(campaign, draw.awards, 1 + len(draw.rounds))
    insert_ignoring_duplicates(rows, now)
    return len(rows)
