"""The hosted survey's rules and writes: lifecycle, responses saved page by page, completion.

Public functions other capabilities (and ``flask demo``) use:

- ``survey_gate(campaign, response=None, now=None)``: may this respondent answer now?
- ``start_response(link, now=None)``: a new, empty response credited to ``link``.
- ``save_page(response, page_index, form, action="next", now=None)``: validate and save
  one page; completes the response after its last visible page.
- ``complete(response, now=None)``: mark a response complete (once), hand out a draw ticket
  and a link to forward; ``link_to_share_again`` offers a completed response's own link
  on a later visit in another browser.
- ``record_open(link)``: count one opening of a link; ``open_visit(code, response_ids)``
  counts one and finds the visit in the same transaction.

The draw opt-in lives in ``campaign.survey.draw``, the resume link in
``campaign.survey.resume``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import InternalError, OperationalError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from campaign import attribution, clock, ratelimits
from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, CampaignState, Link, Response, new_response_id
from campaign.survey import questionnaire as q
from campaign.survey.definition import Definition, definition_of
from campaign.survey.draw import issue_ticket
from campaign.survey.links import Visit, clean_code, find_visit

# Log lines name campaigns and links, never a response: with their times, a response
# id in the log would let a reader join answers to the draw entry made right after.
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


def grace_ends_at(campaign: Campaign) -> datetime:
    """The last moment a response started before the close may still be submitted.

    Read from the campaign as loaded for this request, so an early close
    (``closed_at``) or a later ``closes_at`` moves it at once.
    """
    return campaign.effective_close + grace_period()


def survey_gate(
    campaign: Campaign,
    response: Response | None = None,
    now: datetime | None = None,
    *,
    preview: bool = False,
) -> Gate:
    """Whether answers are accepted now, for a new respondent or for ``response``.

    A response that was already started before the (scheduled or manual)
    close may still be saved and submitted until ``SURVEY_GRACE_MINUTES``
    after that close; after that nothing is accepted.  The preview link
    (``preview``) and its test responses are open whatever the dates.
    """
    if preview or (response is not None and response.is_test):
        return Gate.OPEN
    now = now or clock.now()
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
        and now < grace_ends_at(campaign)
    ):
        return Gate.GRACE
    return Gate.CLOSED


def _require_accepting(
    campaign: Campaign, response: Response | None, now: datetime, *, preview: bool = False
) -> None:
    gate = survey_gate(campaign, response, now, preview=preview)
    if gate == Gate.NOT_OPEN:
        raise SurveyClosed("Deze vragenlijst is nog niet geopend.")
    if gate == Gate.CLOSED:
        raise SurveyClosed(
            "Deze vragenlijst is afgesloten. Er worden geen antwoorden meer aanvaard."
        )


# --- links and responses ------------------------------------------------------------------


def record_open(link: Link) -> None:
    """Count one opening of ``link``."""
    begin_write()
    _count_open(link.code)
    db.session.expire(link, ["open_count"])  # the UPDATE went to the table, not the object
    db.session.commit()


def open_visit(code: str, response_ids: Iterable[Any] = ()) -> Visit | None:
    """``find_visit(code, response_ids, texts=True)`` with one opening of the link counted,
    in one write transaction (the welcome page of a browser session's first visit).

    One UPDATE that adds one, so concurrent openings are never lost; nothing
    about the visitor is stored.  An unknown code counts nothing and gives None.
    The count is best-effort: a database that refuses writes (read-only, disk full)
    leaves the opening uncounted, and the page is still shown.
    """
    try:
        begin_write()
        _count_open(code)
    except (OperationalError, InternalError) as error:
        db.session.rollback()
        log.warning("an opening of a link was not counted: %s", type(error.orig).__name__)
    visit = find_visit(code, response_ids, texts=True)
    db.session.commit()
    return visit


_LINKS = cast(Table, Link.__table__)
#: The open counter, built once and run as a Core UPDATE of the table through the session:
#: the ORM's UPDATE of the entity (its evaluation of the loaded objects included) cost six
#: times as much, and built per request ten times, for a row no object of the session
#: holds yet (the welcome page reads the link after it).
_COUNT_OPEN = (
    update(_LINKS)
    .where(_LINKS.c.code == bindparam("link_code"), _LINKS.c.preview.is_(False))
    .values(open_count=_LINKS.c.open_count + 1)
)


def _count_open(code: str) -> None:
    cleaned = clean_code(code)
    if cleaned is not None and ratelimits.allow_open(cleaned):
        db.session.execute(_COUNT_OPEN, {"link_code": cleaned})
        log.debug("a link of a campaign opened")


def find_response(campaign: Campaign, response_id: Any) -> Response | None:
    """The response with this id in this campaign, or None (also for a malformed id)."""
    if not response_id or not isinstance(response_id, str) or len(response_id) > 32:
        return None
    response = db.session.get(Response, response_id)
    return response if response is not None and response.campaign_id == campaign.id else None


def start_response(
    link: Link, now: datetime | None = None, definition: Definition | None = None
) -> Response:
    """Create an empty response credited to ``link`` (and its key figure's sector); through
    the preview link, a test response.  It is committed, and persistent in the session.

    Raises ``SurveyClosed`` when the campaign does not accept new responses.
    """
    now = now or clock.now()
    campaign = link.campaign
    _require_accepting(campaign, None, now, preview=link.preview)
    definition = definition or definition_of(campaign)
    values = {
        "id": new_response_id(),
        "campaign_id": campaign.id,
        "link_id": link.id,
        "sector_id": attribution.response_sector_id(
            definition.sector_ids, definition.sector_questions, {}, link
        ),
        "started_at": now,
        "updated_at": now,
        "completed_at": None,
        "answers": {},
        "last_page": first_page(definition),
        "questionnaire_version": campaign.questionnaire_version,
        "is_test": link.preview,
        "tallied": False,
    }
    begin_write()
    db.session.execute(_INSERT_RESPONSE, values)
    db.session.commit()
    log.info("response started in campaign %s", campaign.id)
    return _persistent(Response(**values))


#: The new response's row: a Core INSERT through the session, built once.  The ORM's unit of
#: work for one new object cost twice the statement (it runs as every respondent starts).
_INSERT_RESPONSE = insert(cast(Table, Response.__table__))


def _persistent(response: Response) -> Response:
    """``response``, built with every column of the row just inserted, as a persistent
    object of the session (SQLAlchemy's ``make_transient_to_detached``: loaded state,
    no second INSERT, relationships load as for any loaded object)."""
    make_transient_to_detached(response)
    db.session.add(response)
    return response


def first_page(definition: Definition) -> int:
    visible = q.visible_page_indexes(definition.questionnaire, {})
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
    #: One-time draw ticket to hand to the respondent (only its hash is stored); None for
    #: a test response.
    ticket: str | None
    #: Code of the respondent's own link to forward (a child of the link they used).
    forward_code: str | None


#: Rounds of read-check-write when another request keeps changing the same response.
MAX_ATTEMPTS = 5


def save_page(
    response: Response,
    page_index: int,
    form: Any,
    action: str = "next",
    now: datetime | None = None,
    definition: Definition | None = None,
) -> PageOutcome:
    """Validate one page of answers and save it; complete after the last visible page.

    ``form`` is a MultiDict (``request.form``).  ``action`` is ``"next"`` or
    ``"back"``: going back saves what is valid without insisting on required
    answers.  Raises ``SurveyClosed`` when answers are no longer accepted,
    ``SurveyError`` for a page the respondent may not open, and
    ``questionnaire.ForeignFields`` for fields that are not on the page; in
    each of those cases, and whenever there are errors, nothing is stored.

    Everything is read and checked first; the write is one conditional
    UPDATE (``updated_at`` still as read), so the write lock
    is held only for that.  When another request changed the response in
    between (two tabs, a double click), the page is judged again on the new
    state: a response is never completed twice, and no saved page is lost.
    """
    now = now or clock.now()
    campaign = response.campaign
    definition = definition or definition_of(campaign)
    for _attempt in range(MAX_ATTEMPTS):
        if response.completed_at is not None:
            return PageOutcome(already_completed=True)
        _require_accepting(campaign, response, now)
        if not may_open_page(definition, response, page_index):
            raise SurveyError("Deze pagina van de vragenlijst is (nog) niet beschikbaar.")
        result = q.validate_page(
            definition.questionnaire,
            page_index,
            form,
            response.answers or {},
            definition.sectors_for_page(page_index),
            enforce_required=action != "back",
        )
        if action == "back":
            result.errors = {k: v for k, v in result.errors.items() if v != q.REQUIRED}
        if not result.ok:
            # Nothing is stored: the request's write transaction (``find_visit(write=True)``)
            # ends here, so the page with its errors is drawn without holding the write lock.
            db.session.commit()
            return PageOutcome(errors=result.errors, next_page=page_index)
        plan = _plan_page(definition, response, page_index, result.answers, action, now)
        if _store(plan):
            log.debug("page %s saved in campaign %s", page_index, campaign.slug)
            return plan.outcome
        db.session.refresh(response)  # another request wrote it first: judge again
    raise SurveyError("Je antwoorden konden niet bewaard worden. Probeer het opnieuw.")


@dataclass
class _Plan:
    """The new state of a response, computed before the write transaction starts."""

    response: Response
    response_id: str
    campaign_id: int
    link_id: int | None
    seen_updated_at: datetime
    values: dict[str, Any]
    outcome: PageOutcome = field(default_factory=PageOutcome)
    complete: bool = False


def _plan_page(
    definition: Definition,
    response: Response,
    page_index: int,
    page_answers: dict[str, Any],
    action: str,
    now: datetime,
) -> _Plan:
    questionnaire = definition.questionnaire
    page_ids = {question["id"] for question in q.pages(questionnaire)[page_index]["questions"]}
    answers = {k: v for k, v in (response.answers or {}).items() if k not in page_ids}
    answers = q.prune_hidden(questionnaire, {**answers, **page_answers})
    values: dict[str, Any] = {
        "answers": answers,
        "updated_at": now,
        "questionnaire_version": response.campaign.questionnaire_version,
    }
    if _sector_answer_changed(definition, response.answers or {}, answers):
        values["sector_id"] = attribution.response_sector_id(
            definition.sector_ids, definition.sector_questions, answers, response.link
        )
    plan = _plan_for(response, values)
    if action == "back":
        previous = q.previous_page_index(questionnaire, page_index, answers)
        plan.outcome.next_page = page_index if previous is None else previous
        return plan
    following = q.next_page_index(questionnaire, page_index, answers)
    if following is not None:
        values["last_page"] = max(response.last_page, following)
        plan.outcome.next_page = following
        return plan
    missing = q.first_incomplete_page(questionnaire, answers)
    if missing is not None:
        plan.outcome.next_page = missing
        plan.outcome.notice = "Er ontbreken nog enkele verplichte antwoorden op deze pagina."
        return plan
    values.update(last_page=page_index, completed_at=now)
    plan.complete = True
    return plan


def _sector_answer_changed(
    definition: Definition, before: dict[str, Any], after: dict[str, Any]
) -> bool:
    """Whether the answers that decide a response's sector changed (only then is its
    sector worked out again: it was set when the response started or last changed)."""
    return any(before.get(qid) != after.get(qid) for qid in definition.sector_questions)


def _plan_for(response: Response, values: dict[str, Any]) -> _Plan:
    # The state as read now: the UPDATE compares with this updated_at, and _store brings
    # the loaded response up to date once the UPDATE has run.
    return _Plan(
        response, response.id, response.campaign_id, response.link_id, response.updated_at, values
    )


@lru_cache(maxsize=32)
def _conditional_update(columns: frozenset[str]) -> Any:
    """The page write for this set of columns, built once (a handful of sets exist): building
    an UPDATE and its cache key cost more per request than the database's work.

    Every write, completion included, moves ``updated_at``: an unchanged ``updated_at``
    means nobody saved or completed the response since it was read.
    """
    # A Core UPDATE of the table through the session: the ORM's UPDATE of the entity cost
    # six times as much.  The caller brings the loaded response up to date (_store).
    table = cast(Table, Response.__table__)
    return (
        update(table)
        .where(
            table.c.id == bindparam("response_id"),
            table.c.updated_at == bindparam("seen_updated_at"),
        )
        .values(
            {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in sorted(columns)}
        )
        .returning(table.c.id)
    )


def _store(plan: _Plan) -> bool:
    """The write: one conditional UPDATE (plus ticket and forward link on completion),
    committed.  False, having written nothing, when the response changed since it was read.
    """
    begin_write()
    params = {f"new_{name}": value for name, value in plan.values.items()}
    written = db.session.scalar(
        _conditional_update(frozenset(plan.values)),
        {"response_id": plan.response_id, "seen_updated_at": plan.seen_updated_at, **params},
    )
    if written is None:
        db.session.rollback()
        return False
    for name, value in plan.values.items():  # the loaded response as now stored
        set_committed_value(plan.response, name, value)
    if plan.complete:
        plan.outcome.completion = _completion_extras(plan)
    db.session.commit()
    if plan.complete:
        log.info("response completed in campaign %s", plan.campaign_id)
    return True


def may_open_page(definition: Definition, response: Response, page_index: int) -> bool:
    """Only visible pages up to the furthest one reached: no skipping required pages."""
    return 0 <= page_index <= response.last_page and q.page_visible(
        definition.questionnaire, page_index, response.answers or {}
    )


# --- completion ---------------------------------------------------------------------------


def complete(response: Response, now: datetime | None = None) -> Completion | None:
    """Mark ``response`` complete; None when it already was (nothing changes then).

    Raises ``SurveyError`` when required answers are missing and
    ``SurveyClosed`` when the campaign no longer accepts answers.
    """
    now = now or clock.now()
    if response.completed_at is not None:
        return None
    campaign = response.campaign
    _require_accepting(campaign, response, now)
    definition = definition_of(campaign)
    answers = response.answers or {}
    if q.first_incomplete_page(definition.questionnaire, answers) is not None:
        raise SurveyError("Er ontbreken nog verplichte antwoorden.")
    plan = _plan_for(response, {"completed_at": now, "updated_at": now})
    plan.complete = True
    return plan.outcome.completion if _store(plan) else None


def _completion_extras(plan: _Plan) -> Completion:
    """Inside the write transaction: a draw ticket and a link to forward (neither for a
    test response: it enters no draw and brings nobody in)."""
    if plan.response.is_test:
        return Completion(ticket=None, forward_code=None)
    ticket = issue_ticket(plan.campaign_id)
    link_id = plan.link_id
    parent = db.session.get(Link, link_id) if link_id else None
    forward = attribution.forward_link(parent) if parent is not None else None
    return Completion(ticket=ticket, forward_code=forward)


def link_to_share_again(response: Response, visited: Link) -> str | None:
    """The code a completed response's respondent is offered to forward when the browser
    no longer remembers the forward link made at completion (another device, through
    the resume link): the link the response came through, which credits the same key
    figure or channel.  Nothing is written: a visit without cookies, however often
    repeated, creates no row.  None for a test response (it brings nobody in)."""
    if response.is_test or response.link_id is None:
        return None
    if response.link_id == visited.id:
        return visited.code
    own = db.session.get(Link, response.link_id)
    return own.code if own is not None else None
