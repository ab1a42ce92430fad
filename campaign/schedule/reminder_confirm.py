"""The confirm step of the reminder's "Nu versturen": to whom, and what happens."""

from __future__ import annotations

from datetime import datetime

from flask import url_for

from campaign import clock
from campaign.dashboard.confirm import Confirmation
from campaign.formatting import format_datetime, plural
from campaign.models import Campaign
from campaign.schedule.reminder import PlanEntry, change_problem, reminder_plan
from campaign.schedule.reminder_page import _send_problem

#: Names listed before "en N anderen".
SHOWN_NAMES = 20


def chosen_entries(campaign: Campaign, now: datetime | None = None) -> list[PlanEntry]:
    """Who gets the reminder if it is sent now (the reminder page's "Krijgen de herinnering")."""
    return [entry for entry in reminder_plan(campaign, now) if entry.chosen]


def reminder_confirmation(campaign: Campaign, notice: str = "") -> Confirmation:
    now = clock.now()
    plan = reminder_plan(campaign, now)
    chosen = [entry for entry in plan if entry.chosen]
    count = len(chosen)
    people = plural(count, "sleutelfiguur", "sleutelfiguren")
    lines = [
        f"{people} {'krijgt' if count == 1 else 'krijgen'} nu de herinnering, elk met het "
        "aantal antwoorden via de eigen link en hoe ver hun sector van het streefcijfer zit.",
        "Dat kan maar één keer: daarna staat de herinnering als verstuurd"
        + (
            f" en verstuurt de planner ze niet meer op {format_datetime(campaign.local(campaign.reminder_at))}."
            if campaign.reminder_at
            else "."
        ),
        "De mails gaan op de achtergrond de deur uit; op de pagina Mails volg je hoe dat loopt.",
    ]
    skipped = len(plan) - count
    if skipped:
        verb = "krijgt" if skipped == 1 else "krijgen"
        lines.append(
            f"{plural(skipped, 'sleutelfiguur', 'sleutelfiguren')} {verb} ze niet (sector op "
            "schema, uitgesloten, afgemeld of al verstuurd: zie de lijst op de pagina Herinnering)."
        )
    refusal = _send_problem(campaign, now, change_problem(campaign, now)) or (
        "" if count else "Er is op dit moment niemand die de herinnering zou krijgen."
    )
    return Confirmation(
        title=f"De herinnering nu versturen naar {people}?",
        consequences=lines,
        action=url_for("reminders.send_now", slug=campaign.slug),
        button=f"Ja, {plural(count, 'herinnering', 'herinneringen')} versturen",
        cancel=url_for("reminders.page", slug=campaign.slug),
        active="reminders",
        hidden={"aantal": count},
        notice=notice,
        names=[entry.key_figure.name or entry.key_figure.email for entry in chosen[:SHOWN_NAMES]],
        more=max(count - SHOWN_NAMES, 0),
        refusal=refusal,
    )
