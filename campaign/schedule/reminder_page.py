"""The reminder page's figures: the date, the sectors, who gets the reminder and why, and a
preview of the mail with a key figure's real figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaign import attribution, clock
from campaign.attribution import SectorProgress
from campaign.mailing.render import MailError, RenderedMail
from campaign.models import Campaign
from campaign.schedule.reminder import (
    PlanEntry,
    ReminderError,
    ReminderSent,
    change_problem,
    is_behind,
    reminder_plan,
    reminder_preview,
    reminder_sent,
    require_open,
)


@dataclass(frozen=True)
class SectorStanding:
    progress: SectorProgress
    behind: bool


@dataclass
class ReminderPage:
    """Everything the reminder page shows."""

    campaign: Campaign
    #: The reminder's time in the campaign's zone; None when none is planned.
    reminder_at: datetime | None
    threshold: float
    sectors: list[SectorStanding]
    chosen: list[PlanEntry]
    skipped: list[PlanEntry]
    sent: ReminderSent | None
    #: Why the date and the choices cannot change (None: they can).
    change_problem: str | None
    #: Why "Nu versturen" cannot be used (None: it can).
    send_problem: str | None
    preview_entry: PlanEntry | None = None
    preview: RenderedMail | None = None
    preview_error: str | None = None


def _send_problem(campaign: Campaign, now: datetime, change: str | None) -> str | None:
    if change:
        return change
    try:
        require_open(campaign, now)
    except ReminderError as exc:
        return str(exc)
    return None


def reminder_page(
    campaign: Campaign, preview_key_figure_id: int | None = None, now: datetime | None = None
) -> ReminderPage:
    """The reminder page's figures: the plan as it stands now, and a preview of the mail for
    the chosen key figure (by default the first who gets it)."""
    now = now or clock.now()
    plan = reminder_plan(campaign, now)
    threshold = campaign.reminder_threshold
    change = change_problem(campaign, now)
    page = ReminderPage(
        campaign=campaign,
        reminder_at=campaign.local(campaign.reminder_at) if campaign.reminder_at else None,
        threshold=threshold,
        sectors=[
            SectorStanding(progress, is_behind(progress, threshold))
            for progress in attribution.sector_progress(campaign, now)
        ],
        chosen=[entry for entry in plan if entry.chosen],
        skipped=[entry for entry in plan if not entry.chosen],
        sent=reminder_sent(campaign),
        change_problem=change,
        send_problem=_send_problem(campaign, now, change),
    )
    wanted = [e for e in plan if e.key_figure.id == preview_key_figure_id]
    first = wanted or page.chosen or plan
    page.preview_entry = first[0] if first else None
    if page.preview_entry is not None:
        try:
            page.preview = reminder_preview(campaign, page.preview_entry.key_figure, now)
        except MailError as exc:
            page.preview_error = str(exc)
    return page
