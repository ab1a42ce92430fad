"""The targeted reminder: who gets it and why, queueing it once, moving its date, and the
coordinators' choices to include or exclude one key figure.

The rule (issue 9): at ``reminder_at`` the reminder goes to the key figures whose sector
is behind its target pro rata, that is whose completed responses are below
``Campaign.reminder_threshold`` times what was expected by now (the target times the
elapsed share of the open period, ``attribution.expected_by_now``).  Never to a key
figure who opted out, never twice.  A coordinator's ``ReminderChoice`` overrides the
rule for one key figure; a key figure without a sector is left to the coordinators.

Every count comes from ``campaign.attribution``; queueing goes through the outbox
(``mailing.services.queue_messages``), whose unique key per (recipient, kind, round)
makes a second run harmless.  The pages, ``flask mail remind`` and the scheduler's
reminder job all call the functions here.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from campaign import attribution, clock
from campaign.attribution import Counts, SectorProgress
from campaign.database import begin_write
from campaign.definitions.localtime import LocalTimeError, local_to_utc
from campaign.extensions import db
from campaign.formatting import format_datetime, format_number, plural
from campaign.history import record_event
from campaign.mailing.render import MailError, RenderedMail, render_mail, subject_for
from campaign.mailing.resend import register_resend
from campaign.mailing.services import Recipient, key_figure_recipients, queue_messages, root_links
from campaign.models import (
    Campaign,
    CampaignState,
    KeyFigure,
    Message,
    MessageStatus,
    ReminderChoice,
)

log = logging.getLogger(__name__)

#: The outbox round of the targeted reminder: one per key figure, ever.
REMINDER_ROUND = 1
KIND = "reminder"


class ReminderError(MailError):
    """The reminder cannot be sent, moved or changed as asked; the message is Dutch."""


class Why(enum.StrEnum):
    """Why a key figure does or does not get the reminder."""

    BEHIND = "behind"
    INCLUDED = "included"
    ON_TRACK = "on_track"
    NO_TARGET = "no_target"
    NO_SECTOR = "no_sector"
    EXCLUDED = "excluded"
    OPTED_OUT = "opted_out"
    ALREADY = "already"


#: How the key figures left out are counted per reason (``flask mail remind``).
SKIPPED_LABELS = {
    Why.ON_TRACK: "sector op schema",
    Why.NO_TARGET: "sector zonder streefcijfer",
    Why.NO_SECTOR: "geen sector",
    Why.EXCLUDED: "uitgesloten door een coördinator",
    Why.OPTED_OUT: "afgemeld",
    Why.ALREADY: "kregen de herinnering al",
}

_ALREADY_REASONS = {
    MessageStatus.QUEUED.value: "herinnering staat al in de wachtrij",
    MessageStatus.SENDING.value: "herinnering wordt net verstuurd",
    MessageStatus.FAILED.value: "herinnering mislukt (zie Mails)",
    MessageStatus.CANCELLED.value: "herinnering geannuleerd",
}


@dataclass(frozen=True)
class PlanEntry:
    """One key figure in the reminder plan."""

    key_figure: KeyFigure
    chosen: bool
    why: Why
    #: In Dutch, for the page and the command ("sector op schema: ...").
    reason: str
    #: Responses through the key figure's own link and the links forwarded from it.
    answers: Counts
    #: The key figure's sector and where it stands; None without a sector.
    sector: SectorProgress | None
    #: The coordinator's choice for this key figure: True included, False excluded.
    choice: bool | None


@dataclass
class ReminderResult:
    queued: int = 0
    #: Key figures who already had the reminder in the outbox (sent or not).
    already: int = 0
    #: The plan the reminder was queued from (chosen under the campaign's lock).
    plan: list[PlanEntry] = field(default_factory=list)

    @property
    def chosen(self) -> list[PlanEntry]:
        return [entry for entry in self.plan if entry.chosen]

    @property
    def skipped(self) -> dict[Why, int]:
        """Key figures left out, per reason (those who already had it included)."""
        return dict(Counter(entry.why for entry in self.plan if not entry.chosen))

    @property
    def summary(self) -> str:
        return (
            f"{plural(self.queued, 'herinnering', 'herinneringen')} in de wachtrij gezet "
            f"({format_number(self.already)} al eerder verstuurd)."
        )


@dataclass(frozen=True)
class ReminderSent:
    """The reminder as it went out: when it was queued and to how many."""

    queued_at: datetime
    count: int
    sent: int


# --- the rule ------------------------------------------------------------------------------


def is_behind(sector: SectorProgress, threshold: float) -> bool:
    """Whether a sector is behind: completed below ``threshold`` x expected by now.
    A sector with target 0 is never behind."""
    return sector.target > 0 and sector.completed < threshold * sector.expected


def _figures(sector: SectorProgress) -> str:
    expected = format_number(round(sector.expected, 1))
    return f"{format_number(sector.completed)} van {expected} verwacht tegen nu"


def _by_rule(sector: SectorProgress | None, threshold: float) -> tuple[bool, Why, str]:
    if sector is None:
        return False, Why.NO_SECTOR, "geen sector"
    if sector.target <= 0:
        return False, Why.NO_TARGET, f"sector {sector.name} heeft geen streefcijfer"
    if is_behind(sector, threshold):
        share = round(100 * sector.completed / sector.expected)
        return True, Why.BEHIND, f"sector {sector.name} staat op {_figures(sector)} ({share} %)"
    return False, Why.ON_TRACK, f"sector {sector.name} op schema: {_figures(sector)}"


def _decide(
    key_figure: KeyFigure,
    sector: SectorProgress | None,
    choice: ReminderChoice | None,
    reminded: str | None,
    threshold: float,
) -> tuple[bool, Why, str]:
    """The rule for one key figure; ``reminded`` is the status of their reminder, if any."""
    if key_figure.opted_out:
        return False, Why.OPTED_OUT, "afgemeld"
    if reminded is not None:
        return (
            False,
            Why.ALREADY,
            _ALREADY_REASONS.get(reminded, "heeft de herinnering al gekregen"),
        )
    if choice is not None and choice.include:
        return True, Why.INCLUDED, f"toegevoegd door {choice.chosen_by}"
    if choice is not None:
        return False, Why.EXCLUDED, f"uitgesloten door {choice.chosen_by}"
    return _by_rule(sector, threshold)


def _reminder_statuses(campaign: Campaign) -> tuple[dict[str, str], dict[int, str]]:
    """The status of each reminder in the outbox, by recipient address and by key figure
    (an address edited after the reminder went out still counts as reminded)."""
    rows = db.session.execute(
        select(Message.recipient_email, Message.key_figure_id, Message.status).where(
            Message.campaign_id == campaign.id,
            Message.kind == KIND,
            Message.round == REMINDER_ROUND,
        )
    )
    by_email: dict[str, str] = {}
    by_key_figure: dict[int, str] = {}
    for email, key_figure_id, status in rows:
        by_email[email] = status
        if key_figure_id is not None:
            by_key_figure[key_figure_id] = status
    return by_email, by_key_figure


def reminder_plan(campaign: Campaign, now: datetime | None = None) -> list[PlanEntry]:
    """Every key figure of the campaign (by name) with whether they get the reminder and why.

    A fixed number of queries whatever the number of key figures: the key figures, the
    counts per sector and per key figure, the coordinators' choices, the reminders
    already in the outbox.  Rows are re-read (``populate_existing``) so that a
    long-lived session still sees an opt-out or a choice made elsewhere.
    """
    now = now or clock.now()
    fresh = {"populate_existing": True}
    key_figures = db.session.scalars(
        select(KeyFigure)
        .where(KeyFigure.campaign_id == campaign.id)
        .order_by(KeyFigure.name, KeyFigure.id)
        .execution_options(**fresh)
    ).all()
    sectors = {s.sector_id: s for s in attribution.sector_progress(campaign, now)}
    answers = attribution.counts_by_key_figure(campaign)
    choices = {
        choice.key_figure_id: choice
        for choice in db.session.scalars(
            select(ReminderChoice)
            .where(ReminderChoice.campaign_id == campaign.id)
            .execution_options(**fresh)
        )
    }
    by_email, by_key_figure = _reminder_statuses(campaign)
    plan = []
    for key_figure in key_figures:
        sector = sectors.get(key_figure.sector_id) if key_figure.sector_id else None
        choice = choices.get(key_figure.id)
        reminded = by_key_figure.get(key_figure.id) or by_email.get(key_figure.email)
        chosen, why, reason = _decide(
            key_figure, sector, choice, reminded, campaign.reminder_threshold
        )
        plan.append(
            PlanEntry(
                key_figure=key_figure,
                chosen=chosen,
                why=why,
                reason=reason,
                answers=answers.get(key_figure.id, Counts()),
                sector=sector,
                choice=choice.include if choice is not None else None,
            )
        )
    return plan


# --- the mail ------------------------------------------------------------------------------


def reminder_context(entry: PlanEntry) -> dict[str, Any]:
    """What ``emails/reminder.*`` shows beyond the key-figure context: the key figure's own
    answers and where their sector stands (``sector_name`` None without a sector)."""
    sector = entry.sector
    return {
        "own_started": entry.answers.started,
        "own_completed": entry.answers.completed,
        "own_in_progress": entry.answers.started - entry.answers.completed,
        "sector_name": sector.name if sector else None,
        "sector_completed": sector.completed if sector else 0,
        "sector_target": sector.target if sector else 0,
        "sector_expected": round(sector.expected) if sector else 0,
        "sector_missing": max(sector.target - sector.completed, 0) if sector else 0,
    }


def reminder_recipients(campaign: Campaign, entries: list[PlanEntry]) -> list[Recipient]:
    """Outbox recipients for ``entries``, each with their own figures in the context."""
    recipients = key_figure_recipients(campaign, [entry.key_figure for entry in entries])
    for recipient, entry in zip(recipients, entries, strict=True):
        recipient.context.update(reminder_context(entry))
    return recipients


def resend_recipients(campaign: Campaign, key_figures: Sequence[KeyFigure]) -> list[Recipient]:
    """Recipients for "opnieuw versturen" of a reminder: the figures as they stand now."""
    wanted = {key_figure.id for key_figure in key_figures}
    entries = [e for e in reminder_plan(campaign) if e.key_figure.id in wanted]
    return reminder_recipients(campaign, entries)


# The mail page's "opnieuw versturen" builds a reminder's recipients here, with the figures.
register_resend(KIND, resend_recipients)


def reminder_preview(
    campaign: Campaign, key_figure: KeyFigure, now: datetime | None = None
) -> RenderedMail:
    """The reminder as ``key_figure`` would get it now, with their real figures; written
    nowhere.  Raises ``MailError`` when the key figure is not one of the campaign's."""
    entry = next(
        (e for e in reminder_plan(campaign, now) if e.key_figure.id == key_figure.id), None
    )
    if entry is None:
        raise ReminderError("Kies een sleutelfiguur van deze campagne.")
    [recipient] = reminder_recipients(campaign, [entry])
    context = {**recipient.context, "recipient_email": recipient.email}
    return render_mail(KIND, subject_for(campaign, KIND), context)


# --- writes --------------------------------------------------------------------------------


def _lock(campaign: Campaign) -> None:
    """Start a write transaction that holds the campaign: the reminder's writes (queue,
    move, choices) of two processes run one after the other.  SQLite's
    ``BEGIN IMMEDIATE`` already holds the whole database; PostgreSQL locks the row."""
    begin_write()
    db.session.execute(
        select(Campaign.id).where(Campaign.id == campaign.id).with_for_update()
    ).scalar_one()
    db.session.refresh(campaign)


def require_open(campaign: Campaign, now: datetime | None = None) -> None:
    """Raise ``ReminderError`` unless the survey is open at ``now``."""
    state = campaign.state(now or clock.now())
    if state == CampaignState.DRAFT:
        opens = format_datetime(campaign.local(campaign.opens_at))
        raise ReminderError(
            f"De bevraging is nog niet geopend (ze opent op {opens}): "
            "een herinnering kan pas daarna verstuurd worden."
        )
    if state == CampaignState.CLOSED:
        raise ReminderError("De bevraging is afgesloten: er gaat geen herinnering meer uit.")


def queue_reminder(
    campaign: Campaign, *, now: datetime | None = None, actor: str
) -> ReminderResult:
    """Queue the reminder for every key figure the plan chooses, once; the sender sends it.

    Safe to call twice, or from two processes at once: the plan is made and queued
    under the campaign's lock, so the second call finds every reminder in the outbox
    and queues nothing.  Records a ``reminder_sent`` event in the same transaction
    when anything was queued.  Raises ``MailError`` (``ReminderError``) when the survey
    is not open, or when a mail cannot be rendered (then nothing is queued).
    """
    now = now or clock.now()
    require_open(campaign, now)
    # Links are made (and committed) before the lock, so that the queueing below is one
    # transaction: ``root_links`` commits when it has to make a link.
    root_links(
        db.session.scalars(select(KeyFigure).where(KeyFigure.campaign_id == campaign.id)).all()
    )
    _lock(campaign)
    try:
        require_open(campaign, now)
        plan = reminder_plan(campaign, now)
        result = ReminderResult(plan=plan, already=sum(e.why is Why.ALREADY for e in plan))
        chosen = result.chosen
        if not chosen:
            db.session.commit()
            return result
        recipients = reminder_recipients(campaign, chosen)
        record_event(campaign, "reminder_sent", actor=actor, now=now, count=len(chosen))
        queued = queue_messages(campaign, KIND, recipients, round_=REMINDER_ROUND, now=now)
    except BaseException:
        db.session.rollback()
        raise
    result.queued = queued.queued
    result.already += queued.already
    log.info("campaign %s: %s reminders queued by %s", campaign.slug, result.queued, actor)
    return result


def reminder_sent(campaign: Campaign) -> ReminderSent | None:
    """When the reminder went out and to how many; None while it has not."""
    first, count, sent = db.session.execute(
        select(
            func.min(Message.created_at),
            func.count(Message.id),
            func.count(Message.sent_at),
        ).where(
            Message.campaign_id == campaign.id,
            Message.kind == KIND,
            Message.round == REMINDER_ROUND,
        )
    ).one()
    if not count:
        return None
    return ReminderSent(queued_at=_aware(first), count=int(count), sent=int(sent))


def _aware(moment: datetime) -> datetime:
    """An aggregate (``min``) skips the column type on SQLite: the value comes back naive."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def change_problem(campaign: Campaign, now: datetime | None = None) -> str | None:
    """Why the reminder's date and choices can no longer change (Dutch), or None."""
    if campaign.state(now or clock.now()) == CampaignState.CLOSED:
        return "De bevraging is afgesloten: de herinnering kan niet meer wijzigen."
    if reminder_sent(campaign) is not None:
        return "De herinnering is al verstuurd: er valt niets meer aan te passen."
    return None


def _move_problem(campaign: Campaign, new: datetime, now: datetime) -> str | None:
    problem = change_problem(campaign, now)
    if problem:
        return problem
    if new <= now:
        return "Kies een moment in de toekomst."
    if new < campaign.opens_at:
        opens = format_datetime(campaign.local(campaign.opens_at))
        return f"Kies een moment na de opening van de bevraging ({opens})."
    if new >= campaign.effective_close:
        closes = format_datetime(campaign.local(campaign.effective_close))
        return f"Kies een moment vóór de sluiting van de bevraging ({closes})."
    return None


def move_reminder(
    campaign: Campaign, new_local_datetime: datetime, *, actor: str, now: datetime | None = None
) -> bool:
    """Move the reminder to ``new_local_datetime`` (naive: the campaign's local time; or
    aware, as ``localtime.parse_local`` gives it).

    Records ``reminder_moved`` with the old and new time; False when the time did not
    change.  Raises ``ReminderError`` when the time is not in the future, not within
    the open period, or the reminder already went out (or the survey closed).
    """
    now = now or clock.now()
    new = _to_utc(new_local_datetime, campaign)
    _lock(campaign)
    problem = _move_problem(campaign, new, now)
    if problem:
        db.session.rollback()
        raise ReminderError(problem)
    old = campaign.reminder_at
    if old == new:
        db.session.rollback()
        return False
    campaign.reminder_at = new
    record_event(campaign, "reminder_moved", actor=actor, now=now, old=old, new=new)
    db.session.commit()
    log.info("campaign %s: reminder moved to %s by %s", campaign.slug, new.isoformat(), actor)
    return True


def _to_utc(moment: datetime, campaign: Campaign) -> datetime:
    """A naive local time as UTC, with the close's rules for the hours summer time
    doubles or skips (``campaign.definitions.localtime``)."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    try:
        return local_to_utc(moment, campaign.timezone).utc
    except LocalTimeError as exc:
        raise ReminderError(f"{exc}.") from exc


def _choice_problem(
    campaign: Campaign, key_figure: KeyFigure | None, include: bool | None
) -> str | None:
    if key_figure is None or key_figure.campaign_id != campaign.id:
        return "Kies een sleutelfiguur van deze campagne."
    problem = change_problem(campaign)
    if problem:
        return problem
    if include and key_figure.opted_out:
        return f"{key_figure.name} heeft zich afgemeld en krijgt geen mails meer."
    return None


def set_choice(
    campaign: Campaign,
    key_figure_id: int,
    include: bool | None,
    *,
    actor: str,
    now: datetime | None = None,
) -> KeyFigure:
    """Include (True) or exclude (False) one key figure whatever the rule says, or return
    them to the rule (None); the key figure.  Records ``reminder_included``, ``reminder_excluded`` or
    ``reminder_rule``.  Raises ``ReminderError`` for a key figure of another campaign,
    an opted-out key figure to include, or once the reminder went out.
    """
    now = now or clock.now()
    _lock(campaign)
    key_figure = db.session.get(KeyFigure, key_figure_id, populate_existing=True)
    problem = _choice_problem(campaign, key_figure, include)
    if problem or key_figure is None:
        db.session.rollback()
        raise ReminderError(problem or "Kies een sleutelfiguur van deze campagne.")
    where = (
        ReminderChoice.campaign_id == campaign.id,
        ReminderChoice.key_figure_id == key_figure.id,
    )
    choice = db.session.scalars(select(ReminderChoice).where(*where)).first()
    if include is None:
        db.session.execute(delete(ReminderChoice).where(*where))
        kind = "reminder_rule"
    elif choice is None:
        db.session.add(
            ReminderChoice(
                campaign_id=campaign.id,
                key_figure_id=key_figure.id,
                include=include,
                chosen_by=actor,
                chosen_at=now,
            )
        )
    else:
        choice.include, choice.chosen_by, choice.chosen_at = include, actor, now
    if include is not None:
        kind = "reminder_included" if include else "reminder_excluded"
    record_event(
        campaign, kind, actor=actor, now=now, key_figure_id=key_figure.id, name=key_figure.name
    )
    db.session.commit()
    log.info("campaign %s: %s for key figure %s by %s", campaign.slug, kind, key_figure.id, actor)
    return key_figure
