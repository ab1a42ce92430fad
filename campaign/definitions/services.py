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

from campaign.database import begin_write
from campaign.definitions.loader import DefinitionError, Problem, read_campaign_file
from campaign.definitions.schema import CampaignSpec, question_index
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Response, Sector, utcnow

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
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def questionnaire_hash(questionnaire: dict[str, Any]) -> str:
    canonical = json.dumps(questionnaire, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _apply_spec(campaign: Campaign, spec: CampaignSpec, created: bool) -> list[str]:
    changes: list[str] = []
    campaign.title = spec.title
    campaign.organisers = list(spec.organisers)
    campaign.timezone = spec.timezone
    campaign.opens_at = to_utc(spec.schedule.opens_at, spec.timezone)
    campaign.reminder_at = to_utc(spec.schedule.reminder_at, spec.timezone)
    campaign.closes_at = to_utc(spec.schedule.closes_at, spec.timezone)
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


def orphan_problems(campaign: Campaign, spec: CampaignSpec) -> list[Problem]:
    """What the new file would orphan: answered questions or options, used sectors."""
    new_questions = question_index(
        spec.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    problems = []
    for question_id, count in _answer_counts(campaign).items():
        question = new_questions.get(question_id)
        old = question_index(campaign.questionnaire).get(question_id, {})
        if question is None:
            problems.append(
                Problem(
                    None,
                    "questionnaire",
                    f"vraag {question_id!r} is verwijderd, maar heeft al "
                    f"{count} antwoord(en); zet de vraag terug of gebruik een nieuwe campagne",
                )
            )
        elif old and old.get("type") != question["type"]:
            problems.append(
                Problem(
                    None,
                    "questionnaire",
                    f"vraag {question_id!r} verandert van type "
                    f"({old.get('type')} -> {question['type']}), maar heeft al {count} "
                    "antwoord(en)",
                )
            )
    problems.extend(_removed_sector_problems(campaign, spec))
    return problems


def _answer_counts(campaign: Campaign) -> Counter[str]:
    counts: Counter[str] = Counter()
    for answers in db.session.scalars(
        select(Response.answers).where(Response.campaign_id == campaign.id)
    ):
        counts.update(key for key, value in (answers or {}).items() if value not in (None, "", []))
    return counts


def _removed_sector_problems(campaign: Campaign, spec: CampaignSpec) -> list[Problem]:
    new_codes = {sector.code for sector in spec.sectors}
    problems = []
    for sector in campaign.sectors:
        if sector.code in new_codes:
            continue
        used = db.session.scalar(
            select(func.count()).select_from(KeyFigure).where(KeyFigure.sector_id == sector.id)
        ) + db.session.scalar(
            select(func.count()).select_from(Response).where(Response.sector_id == sector.id)
        )
        if used:
            problems.append(
                Problem(
                    None,
                    "sectors",
                    f"sector {sector.code!r} is verwijderd, maar er hangen "
                    f"nog {used} sleutelfiguren of antwoorden aan",
                )
            )
    return problems


def close_campaign(campaign: Campaign, now: datetime | None = None) -> bool:
    """Close the survey by hand now.  Returns False when it was already closed."""
    now = now or utcnow()
    begin_write()
    if campaign.closed_at is not None and campaign.closed_at <= now:
        db.session.rollback()
        return False
    campaign.closed_at = now
    db.session.commit()
    log.info("campaign %s closed by hand at %s", campaign.slug, now.isoformat())
    return True
