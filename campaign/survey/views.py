"""The respondent's pages under ``/s/<code>``: welcome, questions, resume, thank-you, draw.

The browser session (a signed cookie) remembers, per campaign, the response
in progress, the draw ticket and the link to forward; nothing else about
the respondent is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from campaign.errors import render_error
from campaign.models import Campaign, Link, Response
from campaign.survey import display
from campaign.survey.definition import Definition, definition_of
from campaign.survey.draw import AlreadyEntered, DrawError, enter_draw
from campaign.survey.links import Visit, clean_code, find_visit
from campaign.survey.questionnaire import ForeignFields
from campaign.survey.resume import ResumeError, mail_resume_link, response_from_token, resume_url
from campaign.survey.services import (
    Gate,
    SurveyClosed,
    SurveyError,
    grace_ends_at,
    link_to_share_again,
    may_open_page,
    open_visit,
    save_page,
    start_response,
    survey_gate,
)
from campaign.urls import public_url

bp = Blueprint("survey", __name__)

#: How many opened links a browser session remembers (to count each opening once).
MAX_REMEMBERED_OPENS = 50
PREVIEW_ONLY = (
    "Dit is de voorbeeldlink van de vragenlijst, enkel voor de coördinatoren. Meld je aan op "
    "het dashboard om de vragenlijst te bekijken."
)
UNKNOWN_LINK = (
    "Deze link naar de vragenlijst bestaat niet. Controleer of je de volledige link "
    "overnam uit de uitnodiging."
)


# --- session helpers ----------------------------------------------------------------------


def _remembered(key: str, campaign: Campaign) -> Any:
    return (session.get(key) or {}).get(str(campaign.id))


def _remember(key: str, campaign: Campaign, value: Any) -> None:
    stored = dict(session.get(key) or {})
    if value is None:
        stored.pop(str(campaign.id), None)
    else:
        stored[str(campaign.id)] = value
    session[key] = stored


def _visit_or_404(code: str, **load: bool) -> Visit:
    """The link, its campaign and the response this browser session remembers there."""
    return _allowed(find_visit(code, (session.get("response") or {}).values(), **load))


def _allowed(found: Visit | None) -> Visit:
    """``found``, unless the link is unknown (404) or the preview link and this browser
    has no coordinator logged in (403): nobody else answers through it."""
    if found is None:
        abort(404, UNKNOWN_LINK)
    if found.link.preview and not current_user.is_authenticated:
        abort(403, PREVIEW_ONLY)
    return found


def _closed_page(
    campaign: Campaign,
    gate: Gate,
    link: Link,
    status: int = 200,
    response: Response | None = None,
) -> tuple[str, int]:
    """The "not open yet" or "closed" page; ``response`` is the respondent's own response
    when one in progress is turned away (the page then says what became of it)."""
    template = "survey/not_open.html" if gate == Gate.NOT_OPEN else "survey/closed.html"
    in_progress = response is not None and response.completed_at is None
    return render_template(template, campaign=campaign, link=link, in_progress=in_progress), status


def _grace_until(campaign: Campaign, gate: Gate) -> datetime | None:
    """The local end of the grace period while a response in progress is in it, else None."""
    return campaign.local(grace_ends_at(campaign)) if gate == Gate.GRACE else None


def _page_url(code: str, index: int) -> str:
    """The address of questionnaire page ``index`` (counted from 0) of the link ``code``."""
    return url_for("survey.page", code=code, number=index + 1)


@bp.errorhandler(404)
def not_found(error: Any) -> tuple[str, int]:
    return render_error(404, getattr(error, "description", None) or UNKNOWN_LINK)


@bp.errorhandler(403)
def forbidden(error: Any) -> tuple[str, int]:
    return render_error(403, getattr(error, "description", None))


# --- welcome and start ----------------------------------------------------------------------


@bp.get("/s/<code>")
def welcome(code: str) -> Any:
    # Each link's opening is counted once per browser session (the session remembers
    # the codes it opened).
    opened = list(session.get("opened") or [])
    if clean_code(code) in opened:
        link, campaign, _text, response = _visit_or_404(code, texts=True)
    else:
        link, campaign, _text, response = _allowed(
            open_visit(code, (session.get("response") or {}).values())
        )
        session["opened"] = [*opened, link.code][-MAX_REMEMBERED_OPENS:]
    gate = survey_gate(campaign, response, preview=link.preview)
    if gate in (Gate.NOT_OPEN, Gate.CLOSED) and not (response and response.completed_at):
        return _closed_page(campaign, gate, link, response=response)
    return render_template(
        "survey/welcome.html",
        campaign=campaign,
        link=link,
        response=response,
        intro=display.paragraphs(campaign.intro),
        privacy=display.paragraphs(campaign.privacy),
        grace_until=_grace_until(campaign, gate),
    )


@bp.post("/s/<code>/start")
def start(code: str) -> Any:
    link, campaign, text, response = _visit_or_404(code, key_figure=True, write=True)
    if response is not None:
        return redirect(_page_url(link.code, response.last_page))
    definition = definition_of(campaign, text)
    try:
        response = start_response(link, definition=definition)
    except SurveyClosed:
        return _closed_page(campaign, survey_gate(campaign), link, 403)
    _remember("response", campaign, response.id)
    # A new response: its first page at once, not a redirect to it (one request less per
    # respondent).  Nothing was answered yet, so a repeated POST only lands here again
    # (with the response in the session: the redirect above); the page's form posts to the
    # page's own address, which survey.js also puts in the address bar.
    return _render_page(campaign, link, response, definition, response.last_page, Gate.OPEN)


# --- the questionnaire pages --------------------------------------------------------------


@bp.route("/s/<code>/vraag/<int:number>", methods=["GET", "POST"])
def page(code: str, number: int) -> Any:
    link, campaign, text, response = _visit_or_404(code, write=request.method == "POST")
    if response is None:
        flash(
            "Start de vragenlijst hier. Heb je al een deel ingevuld? Gebruik dan je link om verder te gaan.",
            "info",
        )
        return redirect(url_for("survey.welcome", code=link.code))
    if response.completed_at is not None:
        return redirect(url_for("survey.thanks", code=link.code))
    gate = survey_gate(campaign, response, preview=link.preview)
    if gate in (Gate.NOT_OPEN, Gate.CLOSED):
        status = 403 if request.method == "POST" else 200
        return _closed_page(campaign, gate, link, status, response)
    definition = definition_of(campaign, text)
    index = number - 1
    if not may_open_page(definition, response, index):
        return redirect(_page_url(link.code, response.last_page))
    if request.method == "POST":
        return _submit_page(campaign, link, response, definition, index, gate)
    return _render_page(campaign, link, response, definition, index, gate)


def _render_page(
    campaign: Campaign,
    link: Link,
    response: Response,
    definition: Definition,
    index: int,
    gate: Gate,
    form: Any = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    if form is None and not errors and not response.answers:
        view = display.blank_page(definition, index)  # a new respondent's page: drawn once
    else:
        view = display.build_page(definition, index, response.answers or {}, form, errors)
    return render_template(
        "survey/page.html",
        campaign=campaign,
        link=link,
        address=_page_url(link.code, index),
        view=view,
        problem=problem,
        resume_link=resume_url(link.code, response),
        grace_until=_grace_until(campaign, gate),
    ), status


def _submit_page(
    campaign: Campaign,
    link: Link,
    response: Response,
    definition: Definition,
    index: int,
    gate: Gate,
) -> Any:
    action = "back" if request.form.get("action") == "back" else "next"
    code = link.code
    try:
        outcome = save_page(response, index, request.form, action=action, definition=definition)
    except ForeignFields:
        problem = "Dit formulier bevatte velden die niet op deze pagina horen. Er is niets bewaard."
        return _render_page(
            campaign, link, response, definition, index, gate, problem=problem, status=400
        )
    except SurveyClosed:
        return _closed_page(campaign, Gate.CLOSED, link, 403, response)
    except SurveyError:
        return redirect(_page_url(code, response.last_page))
    if outcome.errors:
        return _render_page(
            campaign,
            link,
            response,
            definition,
            index,
            gate,
            request.form,
            outcome.errors,
            status=422,
        )
    if outcome.already_completed:
        return redirect(url_for("survey.thanks", code=code))
    if outcome.completion is not None:
        _remember("ticket", campaign, outcome.completion.ticket)
        _remember("forward", campaign, outcome.completion.forward_code)
        # The thank-you page at once, not a redirect to it (one request less per
        # respondent, as the start shows page 1): it names its own address, which
        # survey.js puts in the address bar, so a reload asks for /bedankt; without
        # JavaScript a re-posted page finds the response completed and redirects there.
        return _render_thanks(campaign, link, response)
    if outcome.notice:
        flash(outcome.notice, "warning")
    return redirect(_page_url(code, outcome.next_page or 0))


# --- resume ---------------------------------------------------------------------------------


@bp.get("/s/<code>/verder/<token>")
def resume(code: str, token: str) -> Any:
    link, campaign, _text, _response = _visit_or_404(code)
    try:
        response = response_from_token(campaign, token)
    except ResumeError as exc:
        return render_error(400, str(exc))
    _remember("response", campaign, response.id)
    if response.completed_at is not None:
        return redirect(url_for("survey.thanks", code=link.code))
    flash("Welkom terug! Je gaat verder waar je gebleven was.", "success")
    return redirect(_page_url(link.code, response.last_page))


@bp.post("/s/<code>/link-mailen")
def mail_link(code: str) -> Any:
    link, campaign, _text, response = _visit_or_404(code)
    if response is None or response.completed_at is not None:
        return redirect(url_for("survey.welcome", code=link.code))
    try:
        mail_resume_link(campaign, request.form.get("email", ""), resume_url(link.code, response))
    except ResumeError as exc:
        flash(str(exc), "error")
    else:
        flash(
            "We mailen je de link om verder te gaan; hij komt zo meteen aan. Je e-mailadres "
            "wissen we zodra die mail vertrokken is.",
            "success",
        )
    return redirect(_page_url(link.code, response.last_page) + "#later-verder")


# --- thank-you page and the draw ------------------------------------------------------------


@bp.get("/s/<code>/bedankt")
def thanks(code: str) -> Any:
    link, campaign, _text, response = _visit_or_404(code)
    if response is None or response.completed_at is None:
        return redirect(url_for("survey.welcome", code=link.code))
    return _render_thanks(campaign, link, response)


def _render_thanks(
    campaign: Campaign,
    link: Link,
    response: Response,
    draw_error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    forward_code = _remembered("forward", campaign) or link_to_share_again(response, link)
    return render_template(
        "survey/thanks.html",
        campaign=campaign,
        link=link,
        address=url_for("survey.thanks", code=link.code),
        forward_url=public_url("survey.welcome", code=forward_code) if forward_code else None,
        ticket=_remembered("ticket", campaign),
        receipt=_remembered("receipt", campaign),
        draw_error=draw_error,
        form=request.form if draw_error else {},
    ), status


@bp.post("/s/<code>/wedstrijd")
def draw_entry(code: str) -> Any:
    link, campaign, _text, response = _visit_or_404(code)
    if response is None or response.completed_at is None:
        return redirect(url_for("survey.welcome", code=link.code))
    form = request.form
    try:
        entry = enter_draw(
            campaign, form.get("ticket", ""), form.get("email", ""), form.get("consent") == "ja"
        )
    except AlreadyEntered as exc:
        return _render_thanks(campaign, link, response, str(exc), 409)
    except DrawError as exc:
        return _render_thanks(campaign, link, response, str(exc), 422)
    receipt = entry.receipt
    _remember("ticket", campaign, None)
    _remember("receipt", campaign, receipt)
    return redirect(url_for("survey.thanks", code=link.code) + "#wedstrijd")
