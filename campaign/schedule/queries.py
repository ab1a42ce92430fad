"""What the Planning page and the scheduler banner show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from campaign import clock
from campaign.extensions import db
from campaign.history import campaign_events, describe_value
from campaign.models import Campaign, CampaignEvent, JobRun
from campaign.schedule import services
from campaign.schedule.runner import last_heartbeat
from campaign.schedule.settings import setting

JOB_LABELS = {
    services.LAUNCH: "Start en uitnodigingen",
    services.REMINDER: "Gerichte herinnering",
    services.CLOSE: "Sluiting",
    services.PURGE: "Deelnames aan de trekking wissen",
}
RUN_LABELS = {
    services.RUNNING: "bezig",
    services.DONE: "uitgevoerd",
    services.SKIPPED: "overgeslagen",
    services.WAITING: "wacht",
    services.FAILED: "mislukt",
}
EVENT_LABELS = {
    "closed": "Afgesloten",
    "close_moved": "Sluitdatum gewijzigd",
    "reopened": "Heropend",
    "reminder_moved": "Herinnering verplaatst",
    "reminder_sent": "Herinnering in de wachtrij gezet",
    "reminder_included": "Toegevoegd aan de herinnering",
    "reminder_excluded": "Uitgesloten van de herinnering",
    "reminder_rule": "Herinnering terug volgens de regel",
    "invite_at_open": "Automatische uitnodigingen gewijzigd",
    "purged": "Deelnames aan de trekking gewist",
    "mail_retried": "Mislukte mails opnieuw geprobeerd",
    "mail_resent": "Mail opnieuw verstuurd",
    "campaign_created": "Campagne aangemaakt uit het campagnebestand",
    "file_loaded": "Campagnebestand geladen",
    "settings_changed": "Instellingen gewijzigd",
}


@dataclass
class Milestone:
    """One line of the timeline."""

    key: str
    label: str
    at: datetime | None
    #: ``planned``, ``manual`` (no job: a coordinator acts), a RUN_LABELS key, or ``none``.
    state: str
    note: str = ""
    ran_at: datetime | None = None
    is_next: bool = False


@dataclass
class Planning:
    milestones: list[Milestone]
    history: list[dict[str, Any]] = field(default_factory=list)
    scheduler_seen: datetime | None = None
    scheduler_alive: bool = False


def scheduler_seen_recently(now: datetime | None = None) -> tuple[bool, datetime | None]:
    """Whether a scheduler sent a heartbeat within the banner's limit, and when it last did."""
    seen = last_heartbeat()
    limit = timedelta(seconds=float(setting("SCHEDULER_BANNER_SECONDS")))
    return seen is not None and seen >= (now or clock.now()) - limit, seen


def _runs(campaign: Campaign) -> dict[tuple[str, datetime], JobRun]:
    query = select(JobRun).where(JobRun.campaign_id == campaign.id)
    return {(run.job, run.due_at): run for run in db.session.scalars(query)}


def _milestone(planned: services.PlannedJob, run: JobRun | None) -> Milestone:
    milestone = Milestone(planned.job, JOB_LABELS[planned.job], planned.due_at, "planned")
    if run is not None:
        milestone.state, milestone.note = run.status, run.outcome
        milestone.ran_at = run.finished_at or run.started_at
    return milestone


def planning(campaign: Campaign, now: datetime | None = None) -> Planning:
    """The campaign's timeline (with what ran and what is next), its history, and
    whether the scheduler is alive."""
    now = now or clock.now()
    runs = _runs(campaign)
    planned = {job.job: job for job in services.planned_jobs(campaign)}
    milestones = []
    for key in services.JOBS:
        if key in planned:
            milestones.append(_milestone(planned[key], runs.get((key, planned[key].due_at))))
        elif key == services.LAUNCH:
            milestones.append(Milestone(key, "Start", campaign.opens_at, "manual"))
        elif key == services.REMINDER:
            milestones.append(Milestone(key, JOB_LABELS[key], None, "none"))
    if campaign.results_due is not None:
        milestones.append(Milestone("results", "Resultaten klaar", campaign.results_due, "manual"))
    milestones.sort(key=lambda m: (m.at is None, m.at or now))
    upcoming = [m for m in milestones if m.at is not None and m.state == "planned"]
    if upcoming:
        upcoming[0].is_next = True
    alive, seen = scheduler_seen_recently(now)
    return Planning(milestones, _history(campaign, runs.values()), seen, alive)


def _history(campaign: Campaign, runs: Any) -> list[dict[str, Any]]:
    """Job runs and coordinators' changes, newest first."""
    items: list[dict[str, Any]] = [
        {
            "at": run.finished_at or run.started_at,
            "what": f"{JOB_LABELS.get(run.job, run.job)}: {RUN_LABELS.get(run.status, run.status)}",
            "who": "planner",
            "note": run.outcome,
        }
        for run in runs
    ]
    items.extend(_event_item(campaign, event) for event in campaign_events(campaign))
    return sorted(items, key=lambda item: item["at"], reverse=True)


def _event_item(campaign: Campaign, event: CampaignEvent) -> dict[str, Any]:
    details = event.details or {}
    note = ""
    if "old" in details or "new" in details:
        old, new = (
            describe_value(campaign, details.get("old")),
            describe_value(campaign, details.get("new")),
        )
        note = f"{old} → {new}"
    elif "name" in details:  # a key figure (its name, never a respondent)
        note = str(details["name"])
    elif "count" in details:
        note = str(details["count"])
    elif details.get("changes"):  # a load of the campaign file, the settings form
        note = "; ".join(str(change) for change in details["changes"])
    return {
        "at": event.happened_at,
        "what": EVENT_LABELS.get(event.kind, event.kind),
        "who": event.actor,
        "note": note,
    }
