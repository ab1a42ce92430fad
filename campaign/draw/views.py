"""The draw's pages: the public ``/trekking/<slug>`` (with its JSON and check script) and
the dashboard's Trekking tab, whose buttons run, redo, pass on, note and erase."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.draw import pages
from campaign.draw.prizes import mark_delivered, pass_to_reserve
from campaign.draw.published import published, script_text
from campaign.draw.purge import purge_entries
from campaign.draw.services import (
    DrawRefused,
    freeze_if_due,
    run_draw,
)
from campaign.formatting import plural
from campaign.history import current_actor

bp = Blueprint("draw", __name__)
dashboard_bp = Blueprint("draw_dashboard", __name__, url_prefix="/dashboard")

register_tab("draw_dashboard.page", "Trekking", "draw", 35)


# --- public ---------------------------------------------------------------------------------


@bp.get("/trekking/<slug>")
def public(slug: str) -> str:
    campaign = campaign_or_404(slug)
    if not campaign.prizes:
        abort(404)
    page = pages.public_page(campaign, request.args.get("code", ""))
    return render_template("draw/public.html", page=page, campaign=campaign, script=script_text())


@bp.app_template_filter("fromiso")
def from_iso(value: str) -> datetime:
    """An ISO date-time stored in the draw's JSON, as a datetime for the date filters."""
    return datetime.fromisoformat(value)


@bp.get("/trekking/<slug>.json")
def public_json(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    data = published(campaign, freeze_if_due(campaign))
    body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="trekking-{slug}.json"'},
    )


@bp.get("/trekking/<slug>/controle.py")
def script(slug: str) -> Response:
    campaign_or_404(slug)
    return Response(
        script_text(),
        mimetype="text/x-python",
        headers={"Content-Disposition": 'attachment; filename="controle.py"'},
    )


# --- the dashboard ----------------------------------------------------------------------


@dashboard_bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


@dashboard_bp.get("/<slug>/trekking/")
def page(slug: str) -> str:
    campaign = campaign_or_404(slug)
    return render_template(
        "draw/dashboard.html", campaign=campaign, page=pages.dashboard_page(campaign)
    )


@dashboard_bp.get("/<slug>/trekking/bevestigen")
def confirm(slug: str) -> str:
    campaign = campaign_or_404(slug)
    redraw = request.args.get("opnieuw") == "ja"
    return render_template(
        "draw/confirm.html", campaign=campaign, page=pages.dashboard_page(campaign), redraw=redraw
    )


def _back(slug: str, anchor: str = "") -> Any:
    return redirect(url_for("draw_dashboard.page", slug=slug) + anchor)


@dashboard_bp.post("/<slug>/trekking/uitvoeren")
def run(slug: str) -> Any:
    campaign = campaign_or_404(slug)
    reason = request.form.get("reden", "")
    if request.form.get("opnieuw") == "ja" and not reason.strip():
        flash("Geef een reden voor de nieuwe trekking: ze komt op de publieke pagina.", "error")
        return redirect(url_for("draw_dashboard.confirm", slug=slug, opnieuw="ja"))
    try:
        result = run_draw(campaign, actor=current_actor(), redraw_reason=reason)
    except DrawRefused as exc:
        flash(str(exc), "error")
        return _back(slug)
    winners = len(result.draw.winners)
    flash(
        f"De trekking is gebeurd: {plural(winners, 'winnaar', 'winnaars')}, "
        f"{plural(result.mails, 'mail', 'mails')} in de wachtrij.",
        "success",
    )
    return _back(slug, "#winnaars")


@dashboard_bp.post("/<slug>/trekking/prijs/<int:number>/doorgeven")
def pass_on(slug: str, number: int) -> Any:
    campaign = campaign_or_404(slug)
    try:
        pass_to_reserve(
            campaign, number - 1, actor=current_actor(), reason=request.form.get("reden", "")
        )
    except DrawRefused as exc:
        flash(str(exc), "error")
    else:
        flash(f"Prijs {number} gaat naar de volgende reserve; die krijgt een mail.", "success")
    return _back(slug, "#winnaars")


@dashboard_bp.post("/<slug>/trekking/prijs/<int:number>/overhandigd")
def delivered(slug: str, number: int) -> Any:
    campaign = campaign_or_404(slug)
    try:
        mark_delivered(campaign, number - 1, actor=current_actor())
    except DrawRefused as exc:
        flash(str(exc), "error")
    else:
        flash(f"Prijs {number} staat genoteerd als overhandigd.", "success")
    return _back(slug, "#winnaars")


@dashboard_bp.post("/<slug>/trekking/wissen")
def purge(slug: str) -> Any:
    campaign = campaign_or_404(slug)
    if request.form.get("bevestig") != "ja":
        flash("Vink aan dat je de e-mailadressen definitief wil wissen.", "error")
        return _back(slug, "#wissen")
    try:
        result = purge_entries(
            campaign, actor=current_actor(), force=request.form.get("toch") == "ja"
        )
    except DrawRefused as exc:
        flash(str(exc), "error")
    else:
        flash(result.summary, "success")
    return _back(slug, "#wissen")
