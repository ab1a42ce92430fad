"""The schedule part of loading a campaign file: reloading never undoes a dashboard change.

``Campaign.file_schedule`` keeps what the file said at the last load (dates as ISO
strings in UTC, plus ``invite_at_open`` and ``reminder_threshold``).  On a reload a
setting is taken from the file only when the file's value differs from that record,
that is, when someone changed it in the file; otherwise the database's value stays,
whether or not a coordinator moved it on the dashboard since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from campaign.definitions.loader import Problem
from campaign.definitions.localtime import local_to_utc
from campaign.definitions.schema import SCHEDULE_DATES, CampaignSpec
from campaign.formatting import format_datetime
from campaign.history import record_event
from campaign.models import Campaign

#: The actor of changes a reload of the campaign file makes.
FILE_ACTOR = "campagnebestand"

#: Dutch names of the schedule's settings, for the load's list of changes.
LABELS = {
    "opens_at": "opening",
    "reminder_at": "herinnering",
    "closes_at": "sluitdatum",
    "results_due": "datum resultaten",
    "purge_at": "wissen van de wedstrijdgegevens",
    "invite_at_open": "uitnodigingen bij de opening",
    "reminder_threshold": "drempel voor de herinnering",
}

#: The event recorded when the file moves one of these dates.
EVENT_KINDS = {"closes_at": "close_moved", "reminder_at": "reminder_moved"}


class ScheduleConflict(Exception):
    """The file's schedule does not fit the dates kept from the dashboard."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.message for problem in problems))


def file_values(spec: CampaignSpec) -> dict[str, Any]:
    """The schedule settings as ``file_schedule`` stores them (JSON-ready)."""
    values: dict[str, Any] = {}
    for name in SCHEDULE_DATES:
        local = getattr(spec.schedule, name)
        values[name] = None if local is None else local_to_utc(local, spec.timezone).utc.isoformat()
    values["invite_at_open"] = spec.schedule.invite_at_open
    values["reminder_threshold"] = spec.schedule.reminder_threshold
    return values


def _stored(name: str, value: Any) -> Any:
    """A ``file_values`` value as the model's attribute holds it."""
    if name in SCHEDULE_DATES:
        return None if value is None else datetime.fromisoformat(value)
    return value


def apply_file_schedule(campaign: Campaign, spec: CampaignSpec, created: bool) -> list[str]:
    """Set the campaign's schedule from the file, keeping dashboard changes the file did
    not override; returns the Dutch list of changes.

    Raises ``ScheduleConflict`` when the result would be out of order.
    """
    given = file_values(spec)
    previous = {} if created else dict(campaign.file_schedule or {})
    changes: list[str] = []
    for name, value in given.items():
        new = _stored(name, value)
        current = getattr(campaign, name)
        if name in previous and previous[name] == value:
            if current != new:
                changes.append(
                    f"{LABELS[name]} blijft {_describe(campaign, name, current)} (op het "
                    f"dashboard gewijzigd; het bestand zegt {_describe(campaign, name, new)})"
                )
            continue
        if created or current == new:
            setattr(campaign, name, new)
            continue
        changes.append(_moved(campaign, name, current, new))
        if name in EVENT_KINDS:
            record_event(campaign, EVENT_KINDS[name], actor=FILE_ACTOR, old=current, new=new)
        setattr(campaign, name, new)
        if name == "closes_at" and campaign.closed_at is not None:
            since = _describe(campaign, name, campaign.closed_at)
            changes.append(
                f"de bevraging blijft afgesloten (sinds {since}); "
                "heropenen kan op het dashboard met 'Sluitdatum wijzigen'"
            )
    campaign.file_schedule = given
    if not created:
        _check_order(campaign)
    return changes


def _moved(campaign: Campaign, name: str, old: Any, new: Any) -> str:
    if name in SCHEDULE_DATES:
        return (
            f"{LABELS[name]} verplaatst van {_describe(campaign, name, old)} "
            f"naar {_describe(campaign, name, new)}"
        )
    return (
        f"{LABELS[name]} gewijzigd van {_describe(campaign, name, old)} "
        f"naar {_describe(campaign, name, new)}"
    )


def _describe(campaign: Campaign, name: str, value: Any) -> str:
    if value is None:
        return "geen"
    if isinstance(value, datetime):
        return format_datetime(campaign.local(value))
    if isinstance(value, bool):
        return "aan" if value else "uit"
    return str(value).replace(".", ",")


def _check_order(campaign: Campaign) -> None:
    """The kept and the new dates together: opening < reminder < close < purge.

    ``results_due`` before the close is allowed here: a close extended on the dashboard
    may pass it (the dashboard warns), and an unchanged file must still load.
    """
    problems = []
    kept = "zoals die nu geldt"
    close = format_datetime(campaign.local(campaign.closes_at))
    if campaign.closes_at <= campaign.opens_at:
        problems.append(f"closes_at ({close}, {kept}) moet na opens_at komen")
    reminder = campaign.reminder_at
    if reminder is not None and not campaign.opens_at < reminder < campaign.closes_at:
        problems.append(
            f"reminder_at ({format_datetime(campaign.local(reminder))}) moet tussen de opening "
            f"en de sluitdatum liggen; de sluitdatum {kept} is {close}"
        )
    if campaign.purge_at is not None and campaign.purge_at <= campaign.closes_at:
        problems.append(
            f"purge_at ({format_datetime(campaign.local(campaign.purge_at))}) moet na de "
            f"sluitdatum komen; de sluitdatum {kept} is {close}"
        )
    if problems:
        raise ScheduleConflict([Problem(None, "schedule", message) for message in problems])
