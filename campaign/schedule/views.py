"""The Planning page: a campaign's timeline, what ran and what comes next; and the banner
every dashboard page shows when no scheduler process has been seen for a while."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.history import current_actor
from campaign.mailing.queries import outbox_progress
from campaign.schedule import queries, services

bp = Blueprint("schedule", __name__, url_prefix="/dashboard")

register_tab("schedule.planning", "Planning", "planning", 15)


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


@bp.app_context_processor
def scheduler_banner() -> dict[str, Any]:
    """``scheduler_banner()`` for the layout: None, or when the scheduler was last seen."""

    def banner() -> dict[str, Any] | None:
        dashboard = request.path.startswith("/dashboard")
        if not dashboard or not getattr(current_user, "is_authenticated", False):
            return None
        alive, seen = queries.scheduler_seen_recently()
        return None if alive else {"seen": seen}

    return {"scheduler_banner": banner}


@bp.get("/<slug>/planning/")
def planning(slug: str) -> str:
    campaign = campaign_or_404(slug)
    return render_template(
        "schedule/planning.html",
        campaign=campaign,
        planning=queries.planning(campaign),
        outbox=outbox_progress(campaign),
    )


@bp.post("/<slug>/planning/uitnodigingen")
def invite_at_open(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    enabled = request.form.get("automatisch") == "aan"
    if services.set_invite_at_open(campaign, enabled, actor=current_actor()):
        if enabled:
            flash("De uitnodigingen gaan vanzelf uit bij de start van de bevraging.", "success")
        else:
            flash("De uitnodigingen gaan niet vanzelf uit: verstuur ze op de pagina Mails.", "info")
    return redirect(url_for("schedule.planning", slug=slug))
