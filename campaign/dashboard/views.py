"""Coordinator pages: the campaign list, a campaign's overview, and its close."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import login_required
from werkzeug.wrappers import Response

from campaign.auth import roles
from campaign.auth.access import partner_scoped
from campaign.dashboard.page import dashboard_page, live_figures
from campaign.dashboard.queries import closing
from campaign.dashboard.tables import (
    DESCENDING_FIRST,
    RESULTS,
    SORTS,
    TableFilter,
    key_figure_page_url,
)
from campaign.definitions.services import (
    CloseError,
    campaign_or_404,
    close_now,
    list_campaigns,
    move_close_local,
    when,
)
from campaign.history import current_actor
from campaign.models import Campaign

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def require_login() -> None:
    """Every /dashboard/ page needs a logged-in coordinator."""


@bp.get("/")
@partner_scoped
def index() -> str:
    return render_template("dashboard/index.html", campaigns=list_campaigns())


def _table_filter() -> TableFilter:
    """The key-figure table's filter and sort from the query string (bad values ignored)."""
    args = request.args
    sort = args.get("sorteer", "afgerond")
    sort = sort if sort in SORTS else "afgerond"
    order = args.get("volgorde", "")
    descending = order == "af" if order in ("op", "af") else sort in DESCENDING_FIRST
    return TableFilter(
        search=args.get("q", "").strip()[:200],
        sector=args.get("sector", "")[:40],
        network=args.get("netwerk", "")[:200],
        result=args.get("resultaat", "") if args.get("resultaat") in RESULTS else "",
        sort=sort,
        descending=descending,
        page=args.get("pagina", 1, type=int) or 1,
    )


def _overview_page(campaign: Campaign, **form: Any) -> str:
    chosen = _table_filter()
    return render_template(
        "dashboard/campaign.html",
        campaign=campaign,
        page=dashboard_page(campaign, chosen, partner=roles.partner_limit()),
        chosen=chosen,
        sorts=SORTS,
        results=RESULTS,
        key_figure_page_url=key_figure_page_url,
        form=form,
    )


@bp.get("/<slug>/")
@partner_scoped
def campaign(slug: str) -> str:
    return _overview_page(campaign_or_404(slug))


@bp.get("/<slug>/cijfers.json")
@partner_scoped
def figures_json(slug: str) -> Response:
    """The dashboard's figures, polled by the page every 30 s."""
    reply = jsonify(live_figures(campaign_or_404(slug)))
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.get("/<slug>/afsluiten")
def confirm_close(slug: str) -> str:
    """The confirm step of "Nu afsluiten": what closing now means, and the button."""
    campaign = campaign_or_404(slug)
    return render_template(
        "dashboard/close_confirm.html", campaign=campaign, closing=closing(campaign)
    )


@bp.post("/<slug>/afsluiten")
def close(slug: str) -> Response | tuple[str, int]:
    campaign = campaign_or_404(slug)
    try:
        closed = close_now(campaign, actor=current_actor())
    except CloseError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.campaign", slug=slug, _anchor="sluiting"))
    if closed:
        figures = closing(campaign)
        flash(
            f"De bevraging is afgesloten op {when(campaign, campaign.effective_close)}. Wie al "
            f"bezig was, kan nog afronden tot {when(campaign, figures.grace_ends)}.",
            "success",
        )
    else:
        flash("De bevraging was al afgesloten; er is niets gewijzigd.", "info")
    return redirect(url_for("dashboard.campaign", slug=slug, _anchor="sluiting"))


@bp.post("/<slug>/sluitdatum")
def move(slug: str) -> Response | tuple[str, int]:
    """ "Sluitdatum wijzigen": extend or shorten, or reopen a closed survey."""
    campaign = campaign_or_404(slug)
    date_text = request.form.get("datum", "")[:40]
    time_text = request.form.get("uur", "")[:20]
    try:
        moved = move_close_local(campaign, date_text, time_text, actor=current_actor())
    except CloseError as exc:
        page = _overview_page(campaign, date=date_text, time=time_text, error=str(exc))
        return page, 400
    if moved.reopened:
        flash(
            f"De bevraging is heropend en sluit nu op {when(campaign, moved.new)} "
            f"(ze was afgesloten sinds {when(campaign, moved.old)}).",
            "success",
        )
    else:
        flash(
            f"De sluitdatum is verplaatst van {when(campaign, moved.old)} "
            f"naar {when(campaign, moved.new)}.",
            "success",
        )
    for warning in moved.warnings:
        flash(warning, "warning")
    return redirect(url_for("dashboard.campaign", slug=slug, _anchor="sluiting"))


#: plotly.js as the installed plotly package ships it: served by us, never from a CDN,
#: so charts work on a closed network and always match the Python side's version.
PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"


@bp.get("/static/plotly.min.js")
@partner_scoped
def plotly_js() -> Response:
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", max_age=30 * 24 * 3600)
