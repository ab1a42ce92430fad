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
from zoneinfo import ZoneInfo

from flask import abort
from sqlalchemy import func, select

from campaign import clock
from campaign.database import begin_write
from campaign.definitions.loader import DefinitionError, Problem, read_campaign_file
from campaign.definitions.schema import CampaignSpec, question_index
from campaign.extensions import db
from campaign.formatting import plural
from campaign.models import Campaign, KeyFigure, Response, Sector
from campaign.survey.questionnaire import OTHER, options_for

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    campaign: Campaign
    created: bool
    #: Human-readable (Dutch) list of what changed on an update.
    changes: list[str] = field(default_factory=list)


def load_campaign_file(path: str | Path) -> LoadResult:
    """Validate the file at ``path`` and create or update its campaign.

    Raises ``DefinitionError`` (and changes nothing) when the file is invalid or
    when the update would orphan collected answers.
    """
    spec = read_campaign_file(path)
    return load_campaign(spec, str(path))


def load_campaign(spec: CampaignSpec, filename: str = "<campagne>") -> LoadResult:
    """Create or update the campaign described by ``spec`` in one transaction."""
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
    changes = _apply_spec(campaign, spec, created)
    db.session.commit()
    log.info("campaign %s %s (%s)", spec.slug, "created" if created else "updated", changes)
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
    """A naive local date-time from the file, as an aware UTC datetime."""
    if local is None:
        return None
    return _required_utc(local, zone)


def _required_utc(local: datetime, zone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def questionnaire_hash(questionnaire: dict[str, Any]) -> str:
    canonical = json.dumps(questionnaire, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _apply_spec(campaign: Campaign, spec: CampaignSpec, created: bool) -> list[str]:
    changes: list[str] = []
    campaign.title = spec.title
    campaign.organisers = list(spec.organisers)
    campaign.timezone = spec.timezone
    campaign.opens_at = _required_utc(spec.schedule.opens_at, spec.timezone)
    campaign.reminder_at = to_utc(spec.schedule.reminder_at, spec.timezone)
    campaign.closes_at = _required_utc(spec.schedule.closes_at, spec.timezone)
    campaign.results_due = to_utc(spec.schedule.results_due, spec.timezone)
    campaign.mail_settings = spec.mail.model_dump(mode="json", exclude_none=True)
    campaign.intro = spec.intro
    campaign.privacy = spec.privacy
    campaign.prizes = [prize.model_dump() for prize in spec.prizes]
    questionnaire = spec.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
    new_hash = questionnaire_hash(questionnaire)
    if not created and new_hash != campaign.questionnaire_hash:
        campaign.questionnaire_version += 1
        changes.append(f"vragenlijst bijgewerkt naar versie {campaign.questionnaire_version}")
    campaign.questionnaire = questionnaire
    campaign.questionnaire_hash = new_hash
    changes.extend(_sync_sectors(campaign, spec))
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


def close_campaign(campaign: Campaign, now: datetime | None = None) -> bool:
    """Close the survey by hand now.  Returns False when it was already closed."""
    now = now or clock.now()
    begin_write()
    if campaign.closed_at is not None and campaign.closed_at <= now:
        db.session.rollback()
        return False
    campaign.closed_at = now
    db.session.commit()
    log.info("campaign %s closed by hand at %s", campaign.slug, now.isoformat())
    return True
