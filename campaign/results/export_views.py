"""Downloads: the answers as CSV, XLSX and JSON with their codebook, and the results pack."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import login_required

from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.results import export

bp = Blueprint("exports", __name__, url_prefix="/dashboard")

register_tab("exports.page", "Export", "exports", 40)

#: ``?scheidingsteken=`` values of the CSV buttons.
DELIMITERS = {"puntkomma": ";", "komma": ","}


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


@bp.get("/<slug>/export/")
def page(slug: str) -> str:
    campaign = campaign_or_404(slug)
    summary = export.export_summary(campaign)
    return render_template("results/exports.html", campaign=campaign, summary=summary)


@bp.get("/<slug>/export/antwoorden.<file_format>")
def answers(slug: str, file_format: str) -> Response:
    """``?onvolledig=1``: the responses that were not completed; ``?scheidingsteken=komma``."""
    campaign = campaign_or_404(slug)
    try:
        file = export.download(
            campaign,
            file_format,
            partial=request.args.get("onvolledig") == "1",
            delimiter=_delimiter(),
        )
    except export.ExportError:
        abort(404)
    return _send(file)


@bp.get("/<slug>/export/codeboek.csv")
def codebook(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    return _send(export.codebook_download(campaign, delimiter=_delimiter()))


def _delimiter() -> str:
    name = request.args.get("scheidingsteken", "puntkomma")
    if name not in DELIMITERS:
        abort(404)
    return DELIMITERS[name]


def _send(file: export.Download) -> Response:
    """Stream ``file`` as an attachment (the rows are read while they are sent)."""
    response = Response(stream_with_context(file.chunks), content_type=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
