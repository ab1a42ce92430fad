"""The results pages: answers per question, the printable report, the decision summary."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.models import Campaign
from campaign.results import charts, pack
from campaign.results.decision import OUTSIDE_TEXT, OUTSIDE_TITLE, decision_summary
from campaign.results.report import report
from campaign.results.services import SUPPRESSED, SUPPRESSED_SENTENCE, campaign_results, text_page

bp = Blueprint("results", __name__, url_prefix="/dashboard")

register_tab("results.page", "Resultaten", "results", 30)


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""


@bp.context_processor
def suppression_note() -> dict[str, str]:
    return {"suppressed_note": SUPPRESSED, "suppressed_sentence": SUPPRESSED_SENTENCE}


@bp.get("/<slug>/resultaten/")
def page(slug: str) -> str:
    campaign = campaign_or_404(slug)
    results = campaign_results(campaign, request.args)
    return render_template(
        "results/page.html",
        campaign=campaign,
        results=results,
        charts=charts.charts_for(results),
        pack=pack.pack_state(campaign),
    )


@bp.get("/<slug>/resultaten/tekst/<question_id>")
def texts(slug: str, question_id: str) -> str:
    campaign = campaign_or_404(slug)
    number = request.args.get("pagina", 1, type=int) or 1
    results, question, pages = text_page(campaign, question_id, request.args, max(1, number))
    return render_template(
        "results/texts.html",
        campaign=campaign,
        results=results,
        question=question,
        number=max(1, number),
        pages=pages,
    )


def _report_html(campaign: Campaign, *, standalone: bool) -> str:
    return render_template("results/report.html", report=report(campaign), standalone=standalone)


@bp.get("/<slug>/resultaten/rapport")
def report_page(slug: str) -> str:
    return _report_html(campaign_or_404(slug), standalone=False)


@bp.get("/<slug>/resultaten/digiwijzer")
def decision(slug: str) -> str:
    campaign = campaign_or_404(slug)
    return render_template(
        "results/decision.html",
        campaign=campaign,
        summary=decision_summary(campaign),
        outside_title=OUTSIDE_TITLE,
        outside_text=OUTSIDE_TEXT,
    )


@bp.get("/<slug>/resultaten/digiwijzer/aanbod.csv")
def catalogue_csv(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    name = f"{campaign.slug}-aanbod-digiwijzer.csv"
    return Response(
        stream_with_context(pack.catalogue_csv(campaign)),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/<slug>/resultaten/pakket.zip")
def results_pack(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    state = pack.pack_state(campaign)
    if not state.ready:
        flash(state.reason, "error")
        return redirect(url_for("results.page", slug=slug))
    chunks = pack.results_pack(campaign, lambda: _report_html(campaign, standalone=True))
    return Response(
        stream_with_context(chunks),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{pack.pack_name(campaign)}"'},
    )
