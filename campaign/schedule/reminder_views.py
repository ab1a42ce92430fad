"""The reminder page: who will get the targeted reminder and why, with a preview; move its
date, include or exclude a key figure, or send it now."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from campaign.dashboard.confirm import render_confirmation
from campaign.dashboard.navigation import register_tab
from campaign.definitions.localtime import LocalTimeError, parse_local
from campaign.definitions.services import campaign_or_404
from campaign.formatting import format_datetime
from campaign.history import current_actor
from campaign.mailing.render import MailError
from campaign.schedule import reminder
from campaign.schedule.reminder_confirm import chosen_entries, reminder_confirmation
from campaign.schedule.reminder_page import reminder_page

bp = Blueprint("reminders", __name__, url_prefix="/dashboard")

register_tab("reminders.page", "Herinnering", "reminders", 25)

#: The choice buttons' values: include, exclude, back to the rule.
CHOICES = {"opnemen": True, "uitsluiten": False, "regel": None}


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


def _back(slug: str, anchor: str | None = None) -> BaseResponse:
    return redirect(url_for("reminders.page", slug=slug, _anchor=anchor))


@bp.get("/<slug>/herinnering/")
def page(slug: str) -> str:
    campaign = campaign_or_404(slug)
    overview = reminder_page(campaign, request.args.get("sleutelfiguur", type=int))
    return render_template("schedule/reminder.html", campaign=campaign, page=overview)


@bp.post("/<slug>/herinnering/datum")
def move(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    try:
        moment = parse_local(
            request.form.get("datum", ""), request.form.get("tijd", ""), campaign.timezone
        )
        moved = reminder.move_reminder(campaign, moment.utc, actor=current_actor())
    except (MailError, LocalTimeError) as exc:
        flash(str(exc), "error")
        return _back(slug, "datum")
    if moved and campaign.reminder_at is not None:
        when = format_datetime(campaign.local(campaign.reminder_at))
        flash(f"De herinnering is verplaatst naar {when}.", "success")
    else:
        flash("De herinnering stond al op dat moment.", "info")
    return _back(slug, "datum")


@bp.post("/<slug>/herinnering/sleutelfiguren/<int:key_figure_id>")
def choose(slug: str, key_figure_id: int) -> BaseResponse:
    campaign = campaign_or_404(slug)
    keuze = request.form.get("keuze", "")
    if keuze not in CHOICES:
        flash("Onbekende keuze.", "error")
        return _back(slug, "sleutelfiguren")
    try:
        key_figure = reminder.set_choice(
            campaign, key_figure_id, CHOICES[keuze], actor=current_actor()
        )
    except MailError as exc:
        flash(str(exc), "error")
        return _back(slug, "sleutelfiguren")
    messages = {
        "opnemen": "{} krijgt de herinnering, wat de regel ook zegt.",
        "uitsluiten": "{} krijgt de herinnering niet.",
        "regel": "Voor {} geldt weer de regel.",
    }
    flash(messages[keuze].format(key_figure.name), "success")
    return _back(slug, "sleutelfiguren")


@bp.get("/<slug>/herinnering/versturen")
def confirm_send_now(slug: str) -> str:
    """The confirm step of "Nu versturen": to how many, and what happens."""
    campaign = campaign_or_404(slug)
    return render_confirmation(campaign, reminder_confirmation(campaign))


@bp.post("/<slug>/herinnering/versturen")
def send_now(slug: str) -> BaseResponse | tuple[str, int]:
    campaign = campaign_or_404(slug)
    shown = request.form.get("aantal", type=int)
    if shown is not None and shown != len(chosen_entries(campaign)):
        notice = (
            "Wie de herinnering krijgt, veranderde sinds je deze pagina opende (een keuze van "
            "een collega, een nieuw antwoord). Kijk het opnieuw na."
        )
        return render_confirmation(campaign, reminder_confirmation(campaign, notice)), 409
    try:
        result = reminder.queue_reminder(campaign, actor=current_actor())
    except MailError as exc:
        flash(str(exc), "error")
        return _back(slug)
    flash(f"{result.summary} Het versturen gebeurt op de achtergrond.", "success")
    return _back(slug)
