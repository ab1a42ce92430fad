"""The campaign from the dashboard: create or update it from its file (with a diff and a
confirmation), download the current file, and the everyday settings on a form.

Uploads go through the same loader and services as ``flask campaign load``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from campaign.dashboard.navigation import register_tab
from campaign.definitions import uploads
from campaign.definitions.changes import LoadPlan, StalePlan, apply_plan, fingerprint, plan_load
from campaign.definitions.export import campaign_yaml, download_name
from campaign.definitions.loader import DefinitionError, Problem, parse_campaign_text
from campaign.definitions.services import campaign_or_404, find_campaign
from campaign.definitions.settings import (
    SettingsError,
    current_values,
    merge_edits,
    save_settings,
)
from campaign.history import current_actor
from campaign.models import Campaign

bp = Blueprint("definitions", __name__, url_prefix="/dashboard")

register_tab("definitions.settings", "Instellingen", "definitions", 50)


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


def _read_upload() -> tuple[str, str]:
    """(file name, text) of the uploaded file; raises ``DefinitionError`` (Dutch)."""
    file = request.files.get("bestand")
    if file is None or not file.filename:
        raise DefinitionError("", [Problem(None, "", "kies eerst een campagnebestand (.yaml)")])
    filename = uploads.display_name(file.filename)
    data = file.read(uploads.MAX_BYTES + 1)
    if len(data) > uploads.MAX_BYTES:
        raise DefinitionError(filename, [Problem(None, "", "het bestand is groter dan 1 MB")])
    try:
        return filename, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem(None, "", "het bestand is geen UTF-8-tekst")
        raise DefinitionError(filename, [problem]) from exc


def _plan(campaign: Campaign | None) -> tuple[LoadPlan, uploads.Upload]:
    """Check the uploaded file and what it would change; keep it for the confirmation."""
    filename, text = _read_upload()
    spec = parse_campaign_text(text, filename)
    if campaign is not None and spec.slug != campaign.slug:
        problem = Problem(
            _slug_line(text),
            "slug",
            f"dit bestand hoort bij campagne {spec.slug!r}, niet bij {campaign.slug!r}; "
            "een nieuwe campagne maak je aan via 'Nieuwe campagne' op de lijst van campagnes",
        )
        raise DefinitionError(filename, [problem])
    plan = plan_load(spec, filename)
    return plan, uploads.keep_upload(filename, text)


def _slug_line(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("slug:"):
            return number
    return None


def _upload_page(campaign: Campaign | None, error: DefinitionError | None = None) -> str:
    return render_template(
        "definitions/upload.html",
        campaign=campaign,
        error=error,
        active="definitions",
    )


def _preview(plan: LoadPlan, upload: uploads.Upload, stale: bool = False) -> str:
    return render_template(
        "definitions/preview.html",
        campaign=plan.campaign,
        plan=plan,
        upload=upload,
        fingerprint=fingerprint(plan.campaign),
        stale=stale,
        active="definitions",
    )


@bp.route("/nieuw", methods=["GET", "POST"])
def new_campaign() -> str | tuple[str, int]:
    """Create a campaign from its file (an existing slug shows the update's diff instead)."""
    if request.method == "GET":
        return _upload_page(None)
    try:
        plan, upload = _plan(None)
    except DefinitionError as exc:
        return _upload_page(None, exc), 400
    return _preview(plan, upload)


@bp.route("/<slug>/campagnebestand", methods=["GET", "POST"])
def campaign_file(slug: str) -> str | tuple[str, int]:
    campaign = campaign_or_404(slug)
    if request.method == "GET":
        return _upload_page(campaign)
    try:
        plan, upload = _plan(campaign)
    except DefinitionError as exc:
        return _upload_page(campaign_or_404(slug), exc), 400
    return _preview(plan, upload)


@bp.post("/campagnebestand/toepassen")
def apply_upload() -> BaseResponse | str | tuple[str, int]:
    """The confirmation: load the kept file, if the campaign is still as the diff showed."""
    upload = uploads.read_upload(request.form.get("upload", ""))
    if upload is None:
        flash("Dit opgeladen bestand is niet meer beschikbaar; laad het opnieuw op.", "error")
        return redirect(url_for("dashboard.index"))
    try:
        spec = parse_campaign_text(upload.text, upload.filename)
        shown = request.form.get("fingerprint", "")
        result = apply_plan(spec, upload.filename, shown, actor=current_actor())
    except StalePlan as stale:
        return _preview(stale.plan, upload, stale=True), 409
    except DefinitionError as exc:
        return _upload_page(find_campaign_or_none(upload), exc), 400
    uploads.forget_upload(upload.key)
    campaign = result.campaign
    if result.created:
        flash(f"De campagne '{campaign.title}' is aangemaakt.", "success")
    elif result.changes:
        flash(f"Het campagnebestand is geladen: {'; '.join(result.changes)}.", "success")
    else:
        flash("Het campagnebestand is geladen; er veranderde niets.", "info")
    return redirect(url_for("dashboard.campaign", slug=campaign.slug))


def find_campaign_or_none(upload: uploads.Upload) -> Campaign | None:
    try:
        return find_campaign(parse_campaign_text(upload.text, upload.filename).slug)
    except DefinitionError:
        return None


@bp.get("/<slug>/campagnebestand.yaml")
def download(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    return Response(
        campaign_yaml(campaign),
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{download_name(campaign)}"'},
    )


@bp.route("/<slug>/instellingen", methods=["GET", "POST"])
def settings(slug: str) -> BaseResponse | str | tuple[str, int]:
    campaign = campaign_or_404(slug)
    current = current_values(campaign)
    if request.method == "GET":
        return _settings_page(campaign, current, {}, current)
    posted = {key: request.form[key][:20000] for key in current if key in request.form}
    shown = _shown(request.form.get("shown"))
    values = merge_edits(current, shown, posted)
    try:
        changes, warnings = save_settings(campaign, values, actor=current_actor())
    except SettingsError as exc:
        return _settings_page(campaign, values, exc.errors, shown or current), 400
    if changes:
        flash(f"Opgeslagen: {' '.join(changes)}", "success")
    else:
        flash("Er is niets gewijzigd.", "info")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("definitions.settings", slug=slug))


def _shown(text: str | None) -> dict[str, str] | None:
    """The values the form showed when it was opened (its hidden ``shown`` field)."""
    try:
        shown = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(shown, dict):
        return None
    return {str(key): str(value) for key, value in shown.items()}


def _settings_page(
    campaign: Campaign, values: dict[str, str], errors: dict[str, str], shown: dict[str, str]
) -> str:
    return render_template(
        "definitions/settings.html",
        campaign=campaign,
        values=values,
        errors=errors,
        shown=shown,
        active="definitions",
    )
