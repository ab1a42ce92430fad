"""Erasing the entrants' e-mail addresses once the prizes are settled, keeping the proof.

When: after the draw, once every prize is handed over (or its claim ran out with no
reserve left) and the campaign file's ``draw.retention_days`` have passed, and not
before the calendar's purge date (``schedule.purge_at`` or ``DATA_RETENTION_DAYS``
after the close): the scheduler's purge job asks ``purge_wait`` and then calls
``purge_entries``; ``flask draw purge SLUG`` does it by hand.

What: the draw entries and tickets are deleted; the winner mails in the outbox
keep their status and dates but lose the address, the bodies and the headers (and
their ``.eml`` copies, without ``MAIL_SERVER``, are deleted).
On SQLite the deleted bytes are overwritten (``secure_delete``) and the WAL is
checkpointed and truncated, so no address is left in the database file or its
WAL; on PostgreSQL the two tables are vacuumed.  The ``Draw`` row (receipts,
seed, hashes, winners by receipt) stays: verification still works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, String, case, delete, literal, select, text, update
from sqlalchemy import cast as sql_cast

from campaign import clock
from campaign.database import begin_write
from campaign.draw.prizes import settled_at
from campaign.draw.services import DrawRefused, ensure_draw, locked_draw
from campaign.draw.settings import settings_of
from campaign.extensions import db
from campaign.formatting import format_date, plural
from campaign.history import record_event
from campaign.mailing.transport import eml_path, outbox_dir
from campaign.models import Campaign, Draw, DrawEntry, DrawTicket, Message, MessageStatus

log = logging.getLogger(__name__)

#: The mail kinds that carry an entrant's address.
ENTRANT_KINDS = ("winner",)


def erase_after(campaign: Campaign, now: datetime | None = None) -> datetime | None:
    """The earliest moment the addresses may be erased by the retention rule: the draw's
    settlement plus ``retention_days``; None while a prize is still open."""
    draw = ensure_draw(campaign)
    settled = settled_at(draw, now)
    if settled is None:
        return None
    return settled + timedelta(days=settings_of(campaign).retention_days)


def planned_erase(campaign: Campaign) -> datetime | None:
    """``erase_after`` read only (no draw row is made): for the calendar's purge date."""
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))
    if draw is None or draw.purged_at is not None:
        return None
    settled = settled_at(draw)
    if settled is None:
        return None
    return settled + timedelta(days=settings_of(campaign).retention_days)


def purge_wait(campaign: Campaign, now: datetime | None = None) -> str | None:
    """Why the scheduled purge must wait (Dutch, for the Planning page), or None."""
    now = now or clock.now()
    draw = ensure_draw(campaign)
    if draw.purged_at is not None:
        return None
    if draw.performed_at is None:
        if not campaign.prizes:
            return None
        return "Wacht op de trekking: de deelnames worden gewist zodra die gebeurd is."
    moment = erase_after(campaign, now)
    if moment is None:
        return "Wacht tot elke prijs overhandigd is (of de termijn verlopen is zonder reserve)."
    if now < moment:
        days = settings_of(campaign).retention_days
        return (
            f"Wacht tot {format_date(campaign.local(moment))}: "
            f"{plural(days, 'dag', 'dagen')} na de overhandiging van de laatste prijs."
        )
    return None


@dataclass(frozen=True)
class PurgeResult:
    entries: int
    mails: int

    @property
    def summary(self) -> str:
        return (
            f"{plural(self.entries, 'deelname', 'deelnames')} aan de trekking en "
            f"{plural(self.mails, 'winnaarsmail', 'winnaarsmails')} gewist."
        )


def purge_entries(
    campaign: Campaign, *, actor: str, now: datetime | None = None, force: bool = False
) -> PurgeResult:
    """Erase the entrants' addresses now (see the module's docstring), in one transaction.

    Raises ``DrawRefused`` when the campaign has prizes and the draw was not made, and
    (unless ``force``) while a prize is still open or its retention period runs.
    """
    now = now or clock.now()
    _refuse_purge(campaign, now, force)
    dialect = db.session.get_bind().dialect.name
    begin_write()
    if dialect == "sqlite":
        db.session.execute(text("PRAGMA secure_delete = ON"))
    draw = locked_draw(campaign)
    mail_ids = list(
        db.session.scalars(
            select(Message.id).where(
                Message.campaign_id == campaign.id, Message.kind.in_(ENTRANT_KINDS)
            )
        )
    )
    entries = _rowcount(
        db.session.execute(delete(DrawEntry).where(DrawEntry.campaign_id == campaign.id))
    )
    db.session.execute(delete(DrawTicket).where(DrawTicket.campaign_id == campaign.id))
    mails = _rowcount(db.session.execute(_blank_entrant_mails(campaign)))
    draw.purged_at = now
    record_event(campaign, "draw_purged", actor=actor, now=now, entries=entries, mails=mails)
    if dialect == "sqlite":  # the deleted bytes are zeroed by now; back to the default
        db.session.execute(text("PRAGMA secure_delete = OFF"))
    db.session.commit()
    _flush_storage(dialect)
    _remove_eml_files(mail_ids)
    log.info("campaign %s: draw entries erased by %s", campaign.slug, actor)
    return PurgeResult(entries, mails)


def _refuse_purge(campaign: Campaign, now: datetime, force: bool) -> None:
    draw = ensure_draw(campaign)
    if draw.purged_at is not None:
        raise DrawRefused("De deelnames zijn al gewist.")
    if campaign.prizes and draw.performed_at is None:
        raise DrawRefused("De trekking is nog niet gebeurd: wis de deelnames pas daarna.")
    if force:
        return
    moment = erase_after(campaign, now)
    if moment is None:
        raise DrawRefused(
            "Niet elke prijs is al overhandigd: na het wissen kan ze niet meer naar een "
            "reserve gaan. Noteer eerst de overhandiging, of wis toch (--force)."
        )
    if now < moment:
        raise DrawRefused(
            f"De bewaartermijn loopt tot {format_date(campaign.local(moment))}; wis toch "
            "(--force) als dat zo afgesproken is."
        )


def _blank_entrant_mails(campaign: Campaign) -> Any:
    """The winner mails without their person: a placeholder address (unique per row, so
    the outbox's unique key still holds), no bodies, no headers, no server reply; a mail
    still queued is cancelled."""
    placeholder = literal("verwijderd-") + sql_cast(Message.id, String) + literal("@invalid")
    pending = Message.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value])

    return (
        update(Message)
        .where(Message.campaign_id == campaign.id, Message.kind.in_(ENTRANT_KINDS))
        .values(
            recipient_email=placeholder,
            body_text="",
            body_html="",
            headers={},
            last_error=None,
            status=case((pending, MessageStatus.CANCELLED.value), else_=Message.status),
        )
        .execution_options(synchronize_session=False)
    )


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _flush_storage(dialect: str) -> None:
    """Leave no copy of the erased rows behind in the database's own files."""
    if dialect == "sqlite":
        raw = db.engine.raw_connection()  # outside any transaction: a checkpoint needs that
        try:
            cursor = raw.cursor()
            busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        if busy:
            log.warning("WAL checkpoint after the purge was blocked by a reader; it ends later")
        return
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM draw_entries, draw_tickets, messages"))


def _remove_eml_files(mail_ids: list[int]) -> None:
    """Without ``MAIL_SERVER`` a sent mail is also an ``.eml`` file: the winner mails' go."""
    folder = outbox_dir(current_app)
    for mail_id in mail_ids:
        eml_path(folder, mail_id).unlink(missing_ok=True)
