"""Coordinator pages: the campaign list and a campaign's overview."""

from flask import Blueprint, render_template
from flask_login import login_required

from campaign.dashboard.queries import overview
from campaign.definitions.services import campaign_or_404, list_campaigns

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def require_login() -> None:
    """Every /dashboard/ page needs a logged-in coordinator."""


@bp.get("/")
def index() -> str:
    return render_template("dashboard/index.html", campaigns=list_campaigns())


@bp.get("/<slug>/")
def campaign(slug: str) -> str:
    campaign = campaign_or_404(slug)
    figures = overview(campaign)
    return render_template(
        "dashboard/campaign.html",
        campaign=campaign,
        sectors=figures.sectors,
        started=figures.totals.started,
        completed=figures.totals.completed,
    )
