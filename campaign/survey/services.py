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
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import Update, bindparam, update
from sqlalchemy.engine import Dialect

from campaign.database import PreparedWrite, begin_write, write_once
from campaign.extensions import db
from campaign.models import Campaign, CampaignState, Link, Response, utcnow
from campaign.survey import questionnaire as q
from campaign.survey.draw import issue_ticket
from campaign.survey.links import new_child_link
from campaign.survey.queries import (
    ResponseState,
    SurveyCampaign,
    key_figure_sector,
    response_state,
    survey_campaign,
)

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


#: The rules take a model object (services, tests, ``flask demo``) or the snapshot the
#: page view reads with Core (``campaign.survey.queries``): same attribute names.
AnyCampaign = Campaign | SurveyCampaign
AnyResponse = Response | ResponseState


def grace_period() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("SURVEY_GRACE_MINUTES", 60)))


def survey_gate(
    campaign: AnyCampaign, response: AnyResponse | None = None, now: datetime | None = None
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


def _require_accepting(campaign: AnyCampaign, response: AnyResponse | None, now: datetime) -> None:
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
    campaign = survey_campaign(link.campaign_id)
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


def first_page(campaign: SurveyCampaign, answers: dict[str, Any]) -> int:
    visible = q.visible_page_indexes(campaign.questionnaire, answers)
    return visible[0] if visible else 0


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
    response: AnyResponse,
    page_index: int,
    form: Any,
    action: str = "next",
    now: datetime | None = None,
    campaign: SurveyCampaign | None = None,
) -> PageOutcome:
    """Validate one page of answers and save it; complete after the last visible page.

    ``form`` is a MultiDict (``request.form``).  ``action`` is ``"next"`` or
    ``"back"``: going back saves what is valid without insisting on required
    answers.  Raises ``SurveyClosed`` when answers are no longer accepted,
    ``SurveyError`` for a page the respondent may not open, and
    ``questionnaire.ForeignFields`` for fields that are not on the page; in
    each of those cases, and whenever there are errors, nothing is stored.

    Everything is read and checked first; the write is one conditional
    UPDATE (``updated_at`` still as read, not completed), so the write lock
    is held only for that.  When another request changed the response in
    between (two tabs, a double click), the page is judged again on the new
    state: a response is never completed twice.  ``campaign`` saves a read when
    the caller already has it (the page view does).
    """
    now = now or utcnow()
    campaign = campaign or survey_campaign(response.campaign_id)
    for _attempt in range(MAX_ATTEMPTS):
        if response.completed_at is not None:
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
            return PageOutcome(errors=result.errors, next_page=page_index)
        plan = _plan_page(campaign, response, page_index, result.answers, action, now)
        outcome = _store(campaign.id, plan)
        if outcome is not None:
            log.info("response %s saved page %s", plan.response_id, page_index)
            return outcome
        response = response_state(campaign.id, plan.response_id)
        if response is None:
            break
    raise SurveyError("Je antwoorden konden niet bewaard worden. Probeer het opnieuw.")


#: Rounds of read-check-write when another request keeps changing the same response.
MAX_ATTEMPTS = 5


@dataclass
class _Plan:
    """The new state of a response, computed before the write transaction starts."""

    response_id: str
    seen_updated_at: datetime
    values: dict[str, Any]
    outcome: PageOutcome
    complete: bool = False
    link_id: int | None = None


def _plan_page(
    campaign: SurveyCampaign,
    response: AnyResponse,
    page_index: int,
    page_answers: dict[str, Any],
    action: str,
    now: datetime,
) -> _Plan:
    questionnaire = campaign.questionnaire
    page_ids = {question["id"] for question in q.pages(questionnaire)[page_index]["questions"]}
    answers = {k: v for k, v in (response.answers or {}).items() if k not in page_ids}
    answers = q.prune_hidden(questionnaire, {**answers, **page_answers})
    values = {
        "answers": answers,
        "sector_id": sector_id_for(campaign, response, answers),
        "updated_at": now,
        "questionnaire_version": campaign.questionnaire_version,
    }
    plan = _Plan(response.id, response.updated_at, values, PageOutcome(), link_id=response.link_id)
    if action == "back":
        previous = q.previous_page_index(questionnaire, page_index, answers)
        plan.outcome.next_page = page_index if previous is None else previous
        return plan
    following = q.next_page_index(questionnaire, page_index, answers)
    if following is not None:
        values["last_page"] = max(response.last_page, following)
        plan.outcome.next_page = following
        return plan
    missing = q.first_incomplete_page(questionnaire, answers, campaign.sectors)
    if missing is not None:
        plan.outcome.next_page = missing
        plan.outcome.notice = "Er ontbreken nog enkele verplichte antwoorden op deze pagina."
        return plan
    values.update(last_page=page_index, completed_at=now)
    plan.complete = True
    return plan


def _store(campaign_id: int, plan: _Plan) -> PageOutcome | None:
    """The write: one conditional UPDATE (plus ticket and forward link on completion).

    Returns None, having written nothing, when the response changed since it was read.
    """
    values = {f"new_{name}": value for name, value in plan.values.items()}
    values.update(seen=plan.seen_updated_at, response_id=plan.response_id)
    if not plan.complete:
        # The common case (a page saved): the UPDATE alone, as a short write transaction.
        return plan.outcome if write_once(_prepared_update(plan.values), values) == 1 else None
    begin_write()
    written = db.session.connection().execute(_update_statement(frozenset(plan.values)), values)
    if written.rowcount != 1:
        db.session.rollback()
        return None
    plan.outcome.completion = _completion_extras(campaign_id, plan.link_id)
    log.info("response %s completed", plan.response_id)
    db.session.commit()
    return plan.outcome


def _prepared_update(values: dict[str, Any]) -> PreparedWrite:
    return _prepared_statement(frozenset(values), db.engine.dialect)


@lru_cache(maxsize=16)
def _prepared_statement(columns: frozenset[str], dialect: Dialect) -> PreparedWrite:
    """The UPDATE for ``columns`` compiled once per dialect (per app: tests make many)."""
    return PreparedWrite(_update_statement(columns), dialect)


@lru_cache(maxsize=16)
def _update_statement(columns: frozenset[str]) -> Update:
    """The conditional UPDATE setting ``columns``, built once per set of columns.

    Only unchanged (``updated_at`` as read) and uncompleted responses are
    written.  Run as a ``PreparedWrite`` (``write_once``) for a saved page, with
    Core on the session's connection on completion: the ORM's bulk-update
    machinery cost more than the write itself.
    """
    table = Response.__table__
    return (
        update(table)
        .where(
            table.c.id == bindparam("response_id"),
            table.c.updated_at == bindparam("seen"),
            table.c.completed_at.is_(None),
        )
        .values({name: bindparam(f"new_{name}") for name in sorted(columns)})
    )


def _check_page_allowed(campaign: SurveyCampaign, response: AnyResponse, page_index: int) -> None:
    if not may_open_page(campaign, response, page_index):
        raise SurveyError("Deze pagina van de vragenlijst is (nog) niet beschikbaar.")


def may_open_page(campaign: SurveyCampaign, response: AnyResponse, page_index: int) -> bool:
    """Only visible pages up to the furthest one reached: no skipping required pages."""
    return page_index <= response.last_page and q.page_visible(
        campaign.questionnaire, page_index, response.answers or {}
    )


def sector_id_for(
    campaign: SurveyCampaign, response: AnyResponse, answers: dict[str, Any]
) -> int | None:
    """The respondent's own sector answer, else the sector of the link's key figure."""
    by_code = campaign.definition.sector_ids
    for qid in campaign.definition.sector_questions:
        if answers.get(qid) in by_code:
            return by_code[answers[qid]]
    return key_figure_sector(response.link_id)


# --- completion ---------------------------------------------------------------------------


def complete(response: AnyResponse, now: datetime | None = None) -> Completion | None:
    """Mark ``response`` complete; None when it already was (nothing changes then).

    Raises ``SurveyError`` when required answers are missing and
    ``SurveyClosed`` when the campaign no longer accepts answers.
    """
    now = now or utcnow()
    campaign = survey_campaign(response.campaign_id)
    if response.completed_at is not None:
        return None
    _require_accepting(campaign, response, now)
    if q.first_incomplete_page(campaign.questionnaire, response.answers or {}) is not None:
        raise SurveyError("Er ontbreken nog verplichte antwoorden.")
    plan = _Plan(
        response.id,
        response.updated_at,
        {"completed_at": now, "updated_at": now},
        PageOutcome(),
        complete=True,
        link_id=response.link_id,
    )
    outcome = _store(campaign.id, plan)
    return outcome.completion if outcome is not None else None


def _completion_extras(campaign_id: int, link_id: int | None) -> Completion:
    """Inside the write transaction: a draw ticket and a link to forward."""
    ticket = issue_ticket(campaign_id)
    parent = db.session.get(Link, link_id) if link_id else None
    forward = new_child_link(parent) if parent is not None else None
    db.session.flush()
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
