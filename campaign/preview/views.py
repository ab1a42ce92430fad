"""The dashboard's preview page: the questionnaire as a respondent sees it, on a phone
and on a computer, through the preview link; the test responses and their clearing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from campaign.auth.access import partner_scoped
from campaign.dashboard.confirm import Confirmation, render_confirmation
from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.formatting import plural
from campaign.preview import services
from campaign.urls import public_url

bp = Blueprint("preview", __name__, url_prefix="/dashboard/<slug>/voorbeeld")

register_tab("preview.page", "Voorbeeld", "preview", 12)


@bp.get("/")
@partner_scoped
def page(slug: str) -> str:
    campaign = campaign_or_404(slug)
    code = services.preview_code(campaign)
    started, completed = services.test_response_counts(campaign)
    view = "telefoon" if request.args.get("weergave") == "telefoon" else "computer"
    return render_template(
        "preview/page.html",
        campaign=campaign,
        active="preview",
        preview_url=public_url("survey.welcome", code=code),
        frame_url=url_for("survey.welcome", code=code),
        view=view,
        started=started,
        completed=completed,
    )


@bp.route("/testantwoorden-wissen", methods=["GET", "POST"])
@partner_scoped
def clear(slug: str) -> Any:
    """Clear the test responses, after a confirmation that says how many."""
    campaign = campaign_or_404(slug)
    started, _completed = services.test_response_counts(campaign)
    if request.method == "POST":
        deleted = services.clear_test_responses(campaign)
        flash(f"{plural(deleted, 'testantwoord', 'testantwoorden')} gewist.", "success")
        return redirect(url_for("preview.page", slug=campaign.slug))
    back = url_for("preview.page", slug=campaign.slug)
    confirmation = Confirmation(
        title=f"{plural(started, 'testantwoord', 'testantwoorden')} wissen?",
        consequences=[
            "De antwoorden die via de voorbeeldlink werden ingevuld, worden definitief gewist.",
            "Echte antwoorden, de cijfers en de resultaten veranderen niet: testantwoorden "
            "telden nergens mee.",
        ],
        action=url_for("preview.clear", slug=campaign.slug),
        button="Ja, wissen",
        cancel=back,
        active="preview",
        danger=True,
        refusal="" if started else "Er zijn geen testantwoorden om te wissen.",
    )
    return render_confirmation(campaign, confirmation)
