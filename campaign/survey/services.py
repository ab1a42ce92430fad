"""The hosted survey's rules and writes: lifecycle, responses saved page by page, completion.

Public functions other capabilities (and ``flask demo``) use:

- ``survey_gate(campaign, response=None, now=None)``: may this respondent answer now?
- ``start_response(link, now=None)``: a new, empty response credited to ``link``.
- ``save_page(response, page_index, form, action="next", now=None)``: validate and save
  one page; completes the response after its last visible page.
- ``complete(response, now=None)``: mark a response complete (once), hand out a draw ticket
  and a link to forward.
- ``record_open(link)``: count one opening of a link.

The draw opt-in lives in ``campaign.survey.draw``, the resume link in
``campaign.survey.resume``.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import update

from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, CampaignState, Link, Response, utcnow
from campaign.survey import questionnaire as q
from campaign.survey.draw import issue_ticket
from campaign.survey.links import new_child_link

log = logging.getLogger(__name__)


class SurveyError(Exception):
    """The survey cannot do what was asked; the message is Dutch and meant for the respondent."""


class SurveyClosed(SurveyError):
    """No answers are accepted (not open yet, or closed and past the grace period)."""


class Gate(enum.StrEnum):
    #: The campaign has not opened yet.
    NOT_OPEN = "not_open"
    OPEN = "open"
    #: Closed, but this response was started before the close and may still be finished.
    GRACE = "grace"
    CLOSED = "closed"


def grace_period() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("SURVEY_GRACE_MINUTES", 60)))


def survey_gate(
    campaign: Campaign, response: Response | None = None, now: datetime | None = None
) -> Gate:
    """Whether answers are accepted now, for a new respondent or for ``response``.

    A response that was already started before the (scheduled or manual)
    close may still be saved and submitted until ``SURVEY_GRACE_MINUTES``
    after that close; after that nothing is accepted.
    """
    now = now or utcnow()
    state = campaign.state(now)
    if state == CampaignState.OPEN:
        return Gate.OPEN
    if state == CampaignState.DRAFT:
        return Gate.NOT_OPEN
    close = campaign.effective_close
    if (
        response is not None
        and response.completed_at is None
        and response.started_at < close
        and now < close + grace_period()
    ):
        return Gate.GRACE
    return Gate.CLOSED


def _require_accepting(campaign: Campaign, response: Response | None, now: datetime) -> None:
    gate = survey_gate(campaign, response, now)
    if gate == Gate.NOT_OPEN:
        raise SurveyClosed("Deze vragenlijst is nog niet geopend.")
    if gate == Gate.CLOSED:
        raise SurveyClosed(
            "Deze vragenlijst is afgesloten. Er worden geen antwoorden meer aanvaard."
        )


# --- links and responses ------------------------------------------------------------------


def record_open(link: Link) -> None:
    """Count one opening of ``link`` (the view calls it once per browser session).

    One UPDATE that adds one, so concurrent openings are never lost; nothing
    about the visitor is stored.
    """
    begin_write()
    db.session.execute(
        update(Link).where(Link.id == link.id).values(open_count=Link.open_count + 1)
    )
    db.session.commit()
    log.info("link %s opened", link.id)


def find_response(campaign: Campaign, response_id: str | None) -> Response | None:
    """The response with this id in this campaign, or None."""
    if not response_id or not isinstance(response_id, str) or len(response_id) > 32:
        return None
    response = db.session.get(Response, response_id)
    return response if response is not None and response.campaign_id == campaign.id else None


def start_response(link: Link, now: datetime | None = None) -> Response:
    """Create an empty response credited to ``link`` (and its key figure's sector).

    Raises ``SurveyClosed`` when the campaign does not accept new responses.
    """
    now = now or utcnow()
    campaign = db.session.get(Campaign, link.campaign_id)
    _require_accepting(campaign, None, now)
    begin_write()
    response = Response(
        campaign_id=campaign.id,
        link_id=link.id,
        sector_id=link.key_figure.sector_id if link.key_figure else None,
        started_at=now,
        updated_at=now,
        answers={},
        last_page=first_page(campaign, {}),
        questionnaire_version=campaign.questionnaire_version,
    )
    db.session.add(response)
    db.session.commit()
    log.info("response %s started through link %s", response.id, link.id)
    return response


def first_page(campaign: Campaign, answers: dict[str, Any]) -> int:
    visible = q.visible_page_indexes(campaign.questionnaire, answers)
    return visible[0] if visible else 0


def _lock(response: Response) -> Response:
    """Re-read ``response`` inside the write transaction (row-locked on PostgreSQL)."""
    return db.session.get(Response, response.id, populate_existing=True, with_for_update=True)


# --- saving pages -------------------------------------------------------------------------


@dataclass
class PageOutcome:
    """What happened to a submitted page."""

    #: Dutch messages per form field; nothing was stored when there are any.
    errors: dict[str, str] = field(default_factory=dict)
    #: The page to show next; None once the response is complete.
    next_page: int | None = None
    #: Set when this submission completed the response.
    completion: Completion | None = None
    #: The response had been completed before (a double submit): nothing changed.
    already_completed: bool = False
    #: A message to show on the next page (e.g. a page still missing answers).
    notice: str | None = None


@dataclass
class Completion:
    #: One-time draw ticket to hand to the respondent (only its hash is stored).
    ticket: str
    #: Code of the respondent's own link to forward (a child of the link they used).
    forward_code: str | None


def save_page(
    response: Response,
    page_index: int,
    form: Any,
    action: str = "next",
    now: datetime | None = None,
) -> PageOutcome:
    """Validate one page of answers and save it; complete after the last visible page.

    ``form`` is a MultiDict (``request.form``).  ``action`` is ``"next"`` or
    ``"back"``: going back saves what is valid without insisting on required
    answers.  Raises ``SurveyClosed`` when answers are no longer accepted,
    ``SurveyError`` for a page the respondent may not open, and
    ``questionnaire.ForeignFields`` for fields that are not on the page; in
    each of those cases, and whenever there are errors, nothing is stored.
    """
    now = now or utcnow()
    campaign = db.session.get(Campaign, response.campaign_id)
    begin_write()
    response = _lock(response)
    if response.completed_at is not None:
        db.session.rollback()
        return PageOutcome(already_completed=True)
    _require_accepting(campaign, response, now)
    _check_page_allowed(campaign, response, page_index)
    result = q.validate_page(
        campaign.questionnaire,
        page_index,
        form,
        response.answers or {},
        campaign.sectors,
        enforce_required=action != "back",
    )
    if action == "back":
        result.errors = {k: v for k, v in result.errors.items() if v != q.REQUIRED}
    if not result.ok:
        db.session.rollback()
        return PageOutcome(errors=result.errors, next_page=page_index)
    outcome = _apply_page(campaign, response, page_index, result.answers, action, now)
    db.session.commit()
    log.info("response %s saved page %s", response.id, page_index)
    return outcome


def _check_page_allowed(campaign: Campaign, response: Response, page_index: int) -> None:
    if not may_open_page(campaign, response, page_index):
        raise SurveyError("Deze pagina van de vragenlijst is (nog) niet beschikbaar.")


def may_open_page(campaign: Campaign, response: Response, page_index: int) -> bool:
    """Only visible pages up to the furthest one reached: no skipping required pages."""
    return page_index <= response.last_page and q.page_visible(
        campaign.questionnaire, page_index, response.answers or {}
    )


def _apply_page(
    campaign: Campaign,
    response: Response,
    page_index: int,
    page_answers: dict[str, Any],
    action: str,
    now: datetime,
) -> PageOutcome:
    questionnaire = campaign.questionnaire
    page_ids = {question["id"] for question in q.pages(questionnaire)[page_index]["questions"]}
    answers = {k: v for k, v in (response.answers or {}).items() if k not in page_ids}
    answers = q.prune_hidden(questionnaire, {**answers, **page_answers})
    response.answers = answers
    response.sector_id = sector_id_for(campaign, response, answers)
    response.updated_at = now
    response.questionnaire_version = campaign.questionnaire_version
    if action == "back":
        previous = q.previous_page_index(questionnaire, page_index, answers)
        return PageOutcome(next_page=page_index if previous is None else previous)
    following = q.next_page_index(questionnaire, page_index, answers)
    if following is not None:
        response.last_page = max(response.last_page, following)
        return PageOutcome(next_page=following)
    missing = q.first_incomplete_page(questionnaire, answers, campaign.sectors)
    if missing is not None:
        return PageOutcome(
            next_page=missing,
            notice="Er ontbreken nog enkele verplichte antwoorden op deze pagina.",
        )
    response.last_page = page_index
    return PageOutcome(completion=_complete(campaign, response, now))


def sector_id_for(campaign: Campaign, response: Response, answers: dict[str, Any]) -> int | None:
    """The respondent's own sector answer, else the sector of the link's key figure."""
    sector_questions = [
        question["id"]
        for page in q.pages(campaign.questionnaire)
        for question in page["questions"]
        if question["type"] == "sector"
    ]
    by_code = {sector.code: sector.id for sector in campaign.sectors}
    for qid in sector_questions:
        if answers.get(qid) in by_code:
            return by_code[answers[qid]]
    link = db.session.get(Link, response.link_id) if response.link_id else None
    return link.key_figure.sector_id if link is not None and link.key_figure else None


# --- completion ---------------------------------------------------------------------------


def complete(response: Response, now: datetime | None = None) -> Completion | None:
    """Mark ``response`` complete; None when it already was (nothing changes then).

    Raises ``SurveyError`` when required answers are missing and
    ``SurveyClosed`` when the campaign no longer accepts answers.
    """
    now = now or utcnow()
    campaign = db.session.get(Campaign, response.campaign_id)
    begin_write()
    response = _lock(response)
    if response.completed_at is not None:
        db.session.rollback()
        return None
    _require_accepting(campaign, response, now)
    if q.first_incomplete_page(campaign.questionnaire, response.answers or {}) is not None:
        db.session.rollback()
        raise SurveyError("Er ontbreken nog verplichte antwoorden.")
    completion = _complete(campaign, response, now)
    db.session.commit()
    return completion


def _complete(campaign: Campaign, response: Response, now: datetime) -> Completion:
    """Inside the caller's write transaction: completion, draw ticket and forward link."""
    response.completed_at = now
    response.updated_at = now
    ticket = issue_ticket(campaign)
    forward = forward_link(response)
    log.info("response %s completed", response.id)
    return Completion(ticket=ticket, forward_code=forward.code if forward else None)


def forward_link(response: Response) -> Link | None:
    """A new child link of the response's link, for the respondent to forward (not committed)."""
    parent = db.session.get(Link, response.link_id) if response.link_id else None
    if parent is None:
        return None
    link = new_child_link(parent)
    db.session.flush()
    return link


def create_forward_link(response: Response) -> str | None:
    """Give a completed response (seen again on another visit) a fresh link to forward."""
    begin_write()
    link = forward_link(response)
    db.session.commit()
    if link is not None:
        log.info("forward link %s created", link.id)
    return link.code if link else None
