"""Creating and updating a campaign from its file, and closing it by hand."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import abort
from sqlalchemy import func, or_, select

from campaign import clock
from campaign.database import begin_write
from campaign.definitions.file_schedule import ScheduleConflict, apply_file_schedule
from campaign.definitions.loader import DefinitionError, Problem, read_campaign_file
from campaign.definitions.localtime import LocalTimeError, local_to_utc, parse_local
from campaign.definitions.schema import CampaignSpec, question_index
from campaign.draw.services import apply_file_settings
from campaign.extensions import db
from campaign.formatting import format_date, format_datetime, plural
from campaign.history import current_actor, record_event
from campaign.models import (
    Campaign,
    CampaignEvent,
    CampaignState,
    Draw,
    JobRun,
    KeyFigure,
    Response,
    Sector,
)
from campaign.results import tally
from campaign.survey.questionnaire import OTHER, options_for

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    campaign: Campaign
    created: bool
    #: Human-readable (Dutch) list of what changed on an update.
    changes: list[str] = field(default_factory=list)


def load_campaign_file(path: str | Path, *, actor: str | None = None) -> LoadResult:
    """Validate the file at ``path`` and create or update its campaign.

    Raises ``DefinitionError`` (and changes nothing) when the file is invalid or
    when the update would orphan collected answers.
    """
    spec = read_campaign_file(path)
    return load_campaign(spec, str(path), actor=actor)


def load_campaign(
    spec: CampaignSpec, filename: str = "<campagne>", *, actor: str | None = None
) -> LoadResult:
    """Create or update the campaign described by ``spec`` in one transaction.

    With ``actor`` (the dashboard's coordinator, the command line), the load is recorded
    in the campaign's history (``campaign_created`` or ``file_loaded``, with the changes)
    in the same transaction.
    """
    begin_write()
    campaign = find_campaign(spec.slug)
    created = campaign is None
    if campaign is None:
        campaign = Campaign(slug=spec.slug, questionnaire_version=1)
        db.session.add(campaign)
    else:
        problems = orphan_problems(campaign, spec)
        if problems:
            db.session.rollback()
            raise DefinitionError(filename, problems)
    try:
        changes = _apply_spec(campaign, spec, created)
    except ScheduleConflict as exc:
        db.session.rollback()
        raise DefinitionError(filename, exc.problems) from exc
    if actor is not None:
        db.session.flush()  # a new campaign's id, for the event
        kind = "campaign_created" if created else "file_loaded"
        record_event(campaign, kind, actor=actor, file=Path(filename).name, changes=changes)
    db.session.commit()
    log.info("campaign %s %s (%s)", spec.slug, "created" if created else "updated", changes)
    tally.after_load(campaign)  # the results' kept counts and export rows follow the file
    return LoadResult(campaign, created, changes)


def find_campaign(slug: str) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def campaign_or_404(slug: str) -> Campaign:
    """The campaign with this slug; a 404 (the Dutch error page) for pages when there is none."""
    campaign = find_campaign(slug)
    if campaign is None:
        abort(404)
    return campaign


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc())))


def to_utc(local: datetime | None, zone: str) -> datetime | None:
    """A naive local date-time from the file, as an aware UTC datetime (see ``localtime``
    for the hour that happens twice)."""
    if local is None:
        return None
    return local_to_utc(local, zone).utc


def questionnaire_hash(questionnaire: dict[str, Any]) -> str:
    canonical = json.dumps(questionnaire, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _apply_spec(campaign: Campaign, spec: CampaignSpec, created: bool) -> list[str]:
    campaign.title = spec.title
    campaign.organisers = list(spec.organisers)
    campaign.timezone = spec.timezone
    changes = apply_file_schedule(campaign, spec, created)
    campaign.mail_settings = spec.mail.model_dump(mode="json", exclude_none=True)
    campaign.intro = spec.intro
    campaign.privacy = spec.privacy
    campaign.prizes = [prize.model_dump() for prize in spec.prizes]
    campaign.results_settings = (
        spec.results.model_dump(mode="json", exclude_none=True) if spec.results else {}
    )
    questionnaire = spec.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
    new_hash = questionnaire_hash(questionnaire)
    if not created and new_hash != campaign.questionnaire_hash:
        campaign.questionnaire_version += 1
        changes.append(f"vragenlijst bijgewerkt naar versie {campaign.questionnaire_version}")
    campaign.questionnaire = questionnaire
    campaign.questionnaire_hash = new_hash
    changes.extend(_sync_sectors(campaign, spec))
    changes.extend(apply_file_settings(campaign, spec.draw.model_dump(mode="json")))
    return changes


def _sync_sectors(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    """Update sectors by code, add new ones, drop removed ones (checked unused before)."""
    existing = {sector.code: sector for sector in campaign.sectors}
    changes = []
    kept = []
    for position, item in enumerate(spec.sectors):
        sector = existing.pop(item.code, None)
        if sector is None:
            sector = Sector(code=item.code)
            changes.append(f"sector {item.code} toegevoegd")
        sector.name = item.name
        sector.examples = list(item.examples)
        sector.target = item.target
        sector.position = position
        kept.append(sector)
    changes.extend(f"sector {code} verwijderd" for code in existing)
    campaign.sectors = kept
    return changes


#: Question types whose answers are option values (of their options or their scale).
OPTION_TYPES = frozenset({"single", "multiple", "likert", "grid"})


def _answers(count: int) -> str:
    return plural(count, "antwoord", "antwoorden")


@dataclass
class _AnswerUse:
    """What the stored answers of a campaign use."""

    #: Question id -> responses with an answer to it.
    questions: Counter[str] = field(default_factory=Counter)
    #: (question id, option value) -> responses that chose it.
    options: Counter[tuple[str, str]] = field(default_factory=Counter)


def orphan_problems(campaign: Campaign, spec: CampaignSpec) -> list[Problem]:
    """What the new file would orphan: answered questions or options, used sectors."""
    new_questionnaire = spec.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
    new_questions = question_index(new_questionnaire)
    old_questions = question_index(campaign.questionnaire)
    use = _answer_use(campaign, old_questions)
    problems = []
    for question_id, count in use.questions.items():
        question = new_questions.get(question_id)
        old = old_questions.get(question_id, {})
        if question is None:
            problems.append(
                _questionnaire_problem(
                    f"vraag {question_id!r} is verwijderd, maar heeft al {_answers(count)}; "
                    "zet de vraag terug of gebruik een nieuwe campagne"
                )
            )
        elif old and old.get("type") != question["type"]:
            problems.append(
                _questionnaire_problem(
                    f"vraag {question_id!r} verandert van type ({old.get('type')} -> "
                    f"{question['type']}), maar heeft al {_answers(count)}"
                )
            )
        elif question["type"] in OPTION_TYPES:
            problems.extend(_removed_option_problems(question, new_questionnaire, use))
    problems.extend(_removed_sector_problems(campaign, spec))
    return problems


def _questionnaire_problem(message: str) -> Problem:
    return Problem(None, "questionnaire", message)


def _removed_option_problems(
    question: dict[str, Any], questionnaire: dict[str, Any], use: _AnswerUse
) -> list[Problem]:
    """An answered option (or scale value) of ``question`` that the new file no longer has."""
    question_id = question["id"]
    kept = {option["value"] for option in options_for(question, questionnaire)}
    if question.get("other"):
        kept.add(OTHER)
    return [
        _questionnaire_problem(
            f"vraag {question_id!r}: antwoordoptie {_option_name(value)} is verwijderd, maar is "
            f"al gekozen in {_answers(count)}; zet de optie terug of gebruik een nieuwe campagne"
        )
        for (answered_id, value), count in sorted(use.options.items())
        if answered_id == question_id and value not in kept
    ]


def _option_name(value: str) -> str:
    return "'Andere, namelijk ...'" if value == OTHER else repr(value)


def _answer_use(campaign: Campaign, old_questions: dict[str, dict[str, Any]]) -> _AnswerUse:
    """Count, over the campaign's responses, the answered questions and chosen options."""
    use = _AnswerUse()
    for answers in db.session.scalars(
        select(Response.answers).where(Response.campaign_id == campaign.id)
    ):
        for question_id, value in (answers or {}).items():
            if value in (None, "", [], {}):
                continue
            use.questions[question_id] += 1
            kind = old_questions.get(question_id, {}).get("type")
            use.options.update((question_id, v) for v in _chosen_options(kind, value))
    return use


def _chosen_options(kind: str | None, value: Any) -> set[str]:
    """The option values in one stored answer; an "Andere, namelijk" text counts as ``OTHER``
    (stored as ``{"other": text}``, see docs/campaign-file.md)."""
    if kind not in OPTION_TYPES:
        return set()
    if kind == "grid":
        return (
            {v for v in value.values() if isinstance(v, str)} if isinstance(value, dict) else set()
        )
    values = value if isinstance(value, list) else [value]
    return {OTHER if isinstance(v, dict) else v for v in values if isinstance(v, str | dict)}


def _removed_sector_problems(campaign: Campaign, spec: CampaignSpec) -> list[Problem]:
    new_codes = {sector.code for sector in spec.sectors}
    problems = []
    for sector in campaign.sectors:
        if sector.code in new_codes:
            continue
        key_figures = db.session.scalar(
            select(func.count()).select_from(KeyFigure).where(KeyFigure.sector_id == sector.id)
        )
        responses = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.sector_id == sector.id)
        )
        used = [
            f"{plural(key_figures, 'sleutelfiguur', 'sleutelfiguren')}" if key_figures else "",
            _answers(responses) if responses else "",
        ]
        if key_figures or responses:
            problems.append(
                Problem(
                    None,
                    "sectors",
                    f"sector {sector.code!r} is verwijderd, maar er hangen nog "
                    f"{' en '.join(part for part in used if part)} aan",
                )
            )
    return problems


# --- closing and extending ------------------------------------------------------------


class CloseError(ValueError):
    """A close or a new close date that cannot be applied; the message is Dutch."""


@dataclass(frozen=True)
class CloseMove:
    """What ``move_close`` did."""

    old: datetime
    new: datetime
    #: The survey was closed (early or by time) and takes answers again.
    reopened: bool
    #: Things the coordinator should know (Dutch), e.g. the close is now after results_due.
    warnings: list[str] = field(default_factory=list)


def when(campaign: Campaign, moment: datetime) -> str:
    """``moment`` in the campaign's zone, as nl-BE text (``15 september 2027 om 23.59 u``)."""
    return format_datetime(campaign.local(moment))


def close_now(campaign: Campaign, *, actor: str, now: datetime | None = None) -> bool:
    """Close the survey now, in one write transaction with a ``closed`` event.

    Returns False (and writes nothing) when it was already closed; raises
    ``CloseError`` before the opening (there is nothing to close yet).
    """
    now = now or clock.now()
    begin_write()
    db.session.refresh(campaign, with_for_update=True)
    state = campaign.state(now)
    if state == CampaignState.CLOSED:
        db.session.rollback()
        return False
    if state == CampaignState.DRAFT:
        db.session.rollback()
        raise CloseError(
            f"De bevraging is nog niet open (ze opent op {when(campaign, campaign.opens_at)}); "
            "er valt nog niets af te sluiten."
        )
    record_event(campaign, "closed", actor=actor, now=now, old=campaign.closes_at, new=now)
    campaign.closed_at = now
    db.session.commit()
    log.info("campaign %s closed by %s at %s", campaign.slug, actor, now.isoformat())
    return True


def close_campaign(campaign: Campaign, now: datetime | None = None) -> bool:
    """``close_now`` by whoever acts (the logged-in coordinator, else the command line)."""
    return close_now(campaign, actor=current_actor(), now=now)


def move_close(
    campaign: Campaign, new_closes_at: datetime, *, actor: str, now: datetime | None = None
) -> CloseMove:
    """Extend or shorten the survey to ``new_closes_at`` (aware), in one write transaction
    with a ``close_moved`` event, or ``reopened`` when the survey was closed (early, or
    because its time had passed): then ``closed_at`` is cleared.

    Raises ``CloseError`` (and changes nothing) for a time in the past (use ``close_now``),
    not after the opening or a reminder still to be sent, not before the data purge, or
    a reopening after the draw was made.
    """
    now = now or clock.now()
    new_closes_at = new_closes_at.astimezone(UTC)
    begin_write()
    db.session.refresh(campaign, with_for_update=True)
    try:
        warnings = _check_new_close(campaign, new_closes_at, now)
    except CloseError:
        db.session.rollback()
        raise
    old = campaign.effective_close
    reopened = campaign.state(now) == CampaignState.CLOSED
    record_event(
        campaign,
        "reopened" if reopened else "close_moved",
        actor=actor,
        now=now,
        old=old,
        new=new_closes_at,
    )
    campaign.closes_at = new_closes_at
    campaign.closed_at = None
    db.session.commit()
    log.info(
        "campaign %s: close moved by %s from %s to %s%s",
        campaign.slug,
        actor,
        old.isoformat(),
        new_closes_at.isoformat(),
        " (reopened)" if reopened else "",
    )
    return CloseMove(old, new_closes_at, reopened, warnings)


def _check_new_close(campaign: Campaign, new: datetime, now: datetime) -> list[str]:
    """The refusals of ``move_close`` (raised) and its warnings (returned)."""
    if new <= now:
        raise CloseError(
            "De nieuwe sluitdatum ligt in het verleden. Wil je nu afsluiten? "
            "Gebruik dan 'Nu afsluiten'."
        )
    if new <= campaign.opens_at:
        raise CloseError(
            f"De sluitdatum moet na de opening liggen ({when(campaign, campaign.opens_at)})."
        )
    if campaign.state(now) != CampaignState.CLOSED and new == campaign.effective_close:
        raise CloseError(f"De bevraging sluit al op {when(campaign, new)}; er is niets gewijzigd.")
    if campaign.reminder_at and new <= campaign.reminder_at and reminder_pending(campaign):
        raise CloseError(
            f"De herinnering staat gepland op {when(campaign, campaign.reminder_at)}: de "
            "sluitdatum moet daarna liggen. Verplaats of schrap eerst de herinnering."
        )
    if campaign.purge_at and new >= campaign.purge_at:
        raise CloseError(
            "De sluitdatum moet vóór het wissen van de wedstrijdgegevens liggen "
            f"({when(campaign, campaign.purge_at)}); pas purge_at aan in het campagnebestand."
        )
    if campaign.state(now) == CampaignState.CLOSED and draw_performed(campaign):
        raise CloseError(
            "De trekking van de prijzen is al gebeurd: de bevraging kan niet meer heropend worden."
        )
    if campaign.results_due and new > campaign.results_due:
        return [
            f"Let op: de bevraging sluit nu na de datum waarop de resultaten klaar moeten zijn "
            f"({format_date(campaign.local(campaign.results_due))}). Pas results_due aan in "
            "het campagnebestand als die datum ook opschuift."
        ]
    return []


def reminder_pending(campaign: Campaign) -> bool:
    """A reminder is planned and has not gone out: no finished reminder job and no
    ``reminder_sent`` event (the reminder's "send now" records one)."""
    if campaign.reminder_at is None:
        return False
    ran = select(JobRun.id).where(
        JobRun.campaign_id == campaign.id, JobRun.job == "reminder", JobRun.status == "done"
    )
    sent = select(CampaignEvent.id).where(
        CampaignEvent.campaign_id == campaign.id, CampaignEvent.kind == "reminder_sent"
    )
    return db.session.scalar(select(or_(ran.exists(), sent.exists()))) is not True


def draw_performed(campaign: Campaign) -> bool:
    query = select(Draw.id).where(Draw.campaign_id == campaign.id, Draw.performed_at.is_not(None))
    return db.session.scalar(query) is not None


def move_close_local(
    campaign: Campaign,
    date_text: str,
    time_text: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> CloseMove:
    """``move_close`` to a date and time typed in the campaign's zone (the dashboard form).

    Raises ``CloseError`` for empty or unreadable input and for the hour that does not
    exist when summer time starts; the hour that happens twice when it ends is taken
    the second time (see ``campaign.definitions.localtime``), with a warning saying so.
    """
    try:
        converted = parse_local(date_text, time_text, campaign.timezone)
    except LocalTimeError as exc:
        raise CloseError(str(exc)) from exc
    move = move_close(campaign, converted.utc, actor=actor, now=now)
    if not converted.ambiguous:
        return move
    local = campaign.local(converted.utc)
    note = (
        f"{local:%H.%M} u kwam die nacht twee keer voor (einde van de zomertijd): de bevraging "
        f"sluit de tweede keer, in wintertijd ({converted.utc:%H.%M} u UTC)."
    )
    return CloseMove(move.old, move.new, move.reopened, [*move.warnings, note])
