"""What loading a campaign file would change, shown before it is applied.

``plan_load`` runs the loader's own checks (the orphan rule, the schedule kept from
the dashboard) without writing, and lists the differences per part of the file:
questionnaire, sectors, dates, texts and mail.  The dates come from
``apply_file_schedule`` itself, run on the session and rolled back, so the preview
and the load can never disagree about which date the file moves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from campaign.database import begin_write
from campaign.definitions.export import campaign_document
from campaign.definitions.file_schedule import ScheduleConflict, apply_file_schedule
from campaign.definitions.loader import DefinitionError
from campaign.definitions.schema import CampaignSpec, question_index
from campaign.definitions.services import (
    LoadResult,
    find_campaign,
    load_campaign,
    orphan_problems,
    questionnaire_hash,
)
from campaign.extensions import db
from campaign.formatting import format_datetime, plural
from campaign.models import Campaign

#: Dutch names of the file's settings outside the questionnaire and the schedule.
TEXT_LABELS = {
    "title": "titel",
    "organisers": "organisatoren",
    "timezone": "tijdzone",
    "intro": "welkomsttekst",
    "privacy": "privacyverklaring",
    "prizes": "prijzen",
    "results": "resultateninstellingen (results)",
    "draw": "instellingen van de trekking (draw)",
}
MAIL_LABELS = {
    "sender_name": "naam van de afzender",
    "sender_email": "e-mailadres van de afzender",
    "reply_to": "antwoordadres",
}
SUBJECT_LABELS = {
    "invitation": "onderwerp van de uitnodiging",
    "reminder": "onderwerp van de herinnering",
    "winner": "onderwerp van de winnaarsmail",
}
PAGES = "pagina's"
#: What can differ in a question, in the order it is listed.
QUESTION_PARTS = {
    "label": "vraagtekst",
    "type": "soort vraag",
    "help": "uitleg",
    "required": "verplicht of niet",
    "options": "antwoordopties",
    "scale": "schaal",
    "items": "rijen",
    "other": "'Andere, namelijk'",
    "show_if": "voorwaarde (show_if)",
}


@dataclass
class Section:
    """One part of the diff: a Dutch title and one line per change."""

    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class LoadPlan:
    """What loading ``spec`` would do; ``sections`` is empty when nothing changes."""

    spec: CampaignSpec
    created: bool
    sections: list[Section]
    #: The campaign as it is now (None when the file creates it).
    campaign: Campaign | None = None

    @property
    def unchanged(self) -> bool:
        return not self.created and not any(section.lines for section in self.sections)


def plan_load(spec: CampaignSpec, filename: str) -> LoadPlan:
    """The changes loading ``spec`` would make, without making them.

    Raises ``DefinitionError`` when the load would be refused: an answered question,
    option or used sector removed, or dates that do not fit those kept from the
    dashboard.
    """
    campaign = find_campaign(spec.slug)
    if campaign is None:
        return LoadPlan(spec, True, [Section("Nieuwe campagne", _new_campaign_lines(spec))])
    problems = orphan_problems(campaign, spec)
    if problems:
        raise DefinitionError(filename, problems)
    sections = [
        Section("Vragenlijst", questionnaire_lines(campaign, spec)),
        Section("Sectoren en doelen", sector_lines(campaign, spec)),
        Section("Teksten en mail", text_lines(campaign, spec)),
    ]
    try:
        dates = _schedule_lines(campaign, spec)
    except ScheduleConflict as exc:
        raise DefinitionError(filename, exc.problems) from exc
    sections.insert(2, Section("Data", dates))
    return LoadPlan(spec, False, [s for s in sections if s.lines], campaign)


def _schedule_lines(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    """The load's own schedule step on the session, then rolled back (nothing flushed:
    ``apply_file_schedule`` only sets attributes and adds events)."""
    try:
        with db.session.no_autoflush:
            lines = apply_file_schedule(campaign, spec, created=False)
    finally:
        db.session.rollback()
    return [line[:1].upper() + line[1:] + "." for line in lines]


def _new_campaign_lines(spec: CampaignSpec) -> list[str]:
    questions = sum(len(page.questions) for page in spec.questionnaire.pages)
    pages = len(spec.questionnaire.pages)
    schedule = spec.schedule
    lines = [
        f"'{spec.title}' (slug {spec.slug}) wordt aangemaakt.",
        f"{plural(questions, 'vraag', 'vragen')} op {plural(pages, 'pagina', PAGES)}.",
        f"{plural(len(spec.sectors), 'sector', 'sectoren')}: "
        + ", ".join(f"{s.name} (doel {s.target})" for s in spec.sectors)
        + ".",
        f"Opent op {format_datetime(schedule.opens_at)}, sluit op "
        f"{format_datetime(schedule.closes_at)}.",
    ]
    if schedule.reminder_at is not None:
        lines.append(f"Herinnering op {format_datetime(schedule.reminder_at)}.")
    return lines


# --- the questionnaire ----------------------------------------------------------------


def questionnaire_lines(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    """Questions added, removed and changed (and pages), in the new file's order."""
    new = spec.questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)
    if questionnaire_hash(new) == campaign.questionnaire_hash:
        return []
    lines = _page_lines(campaign.questionnaire, new)
    old_questions = question_index(campaign.questionnaire)
    new_questions = question_index(new)
    for question_id, question in new_questions.items():
        old = old_questions.get(question_id)
        if old is None:
            lines.append(f"Nieuwe vraag {question_id}: {_short(question['label'])}")
            continue
        parts = [
            label
            for key, label in QUESTION_PARTS.items()
            if _resolved(old, key, campaign.questionnaire) != _resolved(question, key, new)
        ]
        if not parts and old != question:
            parts.append("andere instellingen")
        if parts:
            lines.append(f"Vraag {question_id} gewijzigd: {', '.join(parts)}.")
    lines.extend(
        f"Vraag {question_id} verwijderd: {_short(question['label'])}"
        for question_id, question in old_questions.items()
        if question_id not in new_questions
    )
    version = campaign.questionnaire_version + 1
    lines.append(
        f"De vragenlijst krijgt versie {version}; antwoorden die al binnen zijn, blijven "
        "bewaard met hun versie."
    )
    return lines


def _page_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Pages added, renamed and removed."""
    old_pages = {page["id"]: page for page in old.get("pages", [])}
    new_ids = {page["id"] for page in new["pages"]}
    lines = []
    for page in new["pages"]:
        if page["id"] not in old_pages:
            lines.append(f"Nieuwe pagina '{page['title']}'.")
        elif old_pages[page["id"]]["title"] != page["title"]:
            lines.append(f"Pagina '{old_pages[page['id']]['title']}' heet nu '{page['title']}'.")
    lines.extend(
        f"Pagina '{page['title']}' verwijderd."
        for page_id, page in old_pages.items()
        if page_id not in new_ids
    )
    return lines


def _resolved(question: dict[str, Any], key: str, questionnaire: dict[str, Any]) -> Any:
    """A question's value for ``key``; a named scale as its options, so a changed scale
    shows as a change of every question that uses it."""
    value = question.get(key)
    if key == "scale" and isinstance(value, str):
        return questionnaire.get("scales", {}).get(value)
    return value


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- sectors ----------------------------------------------------------------------------


def sector_lines(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    existing = {sector.code: sector for sector in campaign.sectors}
    lines = []
    for item in spec.sectors:
        sector = existing.pop(item.code, None)
        if sector is None:
            lines.append(f"Nieuwe sector {item.name} ({item.code}), doel {item.target}.")
            continue
        if sector.name != item.name:
            lines.append(f"Sector {item.code} heet nu {item.name} (was {sector.name}).")
        if sector.target != item.target:
            lines.append(f"Doel van {item.name}: {sector.target} → {item.target}.")
        if list(sector.examples) != list(item.examples):
            lines.append(f"Voorbeelden van {item.name} gewijzigd.")
    lines.extend(f"Sector {s.name} ({code}) verwijderd." for code, s in existing.items())
    old_order = [s.code for s in campaign.sectors if s.code in {i.code for i in spec.sectors}]
    new_order = [i.code for i in spec.sectors if i.code in {s.code for s in campaign.sectors}]
    if old_order != new_order:
        lines.append("De volgorde van de sectoren verandert.")
    return lines


# --- texts and mail ---------------------------------------------------------------------


def text_lines(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    current = campaign_document(campaign)
    new = spec.model_dump(mode="json", exclude_none=True)
    new["results"] = (
        spec.results.model_dump(mode="json", exclude_defaults=True) if spec.results else None
    )
    current.setdefault("results", None)
    lines = [
        f"{label.capitalize()} gewijzigd{_was(current[key], new[key])}."
        for key, label in TEXT_LABELS.items()
        if current.get(key) != new.get(key)
    ]
    old_mail, new_mail = current["mail"], new["mail"]
    for key, label in MAIL_LABELS.items():
        if old_mail.get(key) != new_mail.get(key):
            lines.append(
                f"{label.capitalize()} gewijzigd{_was(old_mail.get(key), new_mail.get(key))}."
            )
    old_subjects, new_subjects = old_mail.get("subjects", {}), new_mail.get("subjects", {})
    for kind, label in SUBJECT_LABELS.items():
        if old_subjects.get(kind) != new_subjects.get(kind):
            lines.append(
                f"{label.capitalize()} gewijzigd"
                f"{_was(old_subjects.get(kind), new_subjects.get(kind))}."
            )
    return lines


def _was(old: Any, new: Any) -> str:
    """`` van 'x' naar 'y'`` for short one-line values; nothing for long texts."""
    if all(
        isinstance(v, str | None) and len(v or "") <= 80 and "\n" not in (v or "")
        for v in (old, new)
    ):
        return f" van '{old or ''}' naar '{new or ''}'" if old else f" naar '{new}'"
    return ""


# --- the confirmation -------------------------------------------------------------------

#: The fingerprint of a campaign that does not exist yet.
NEW = "nieuw"


def fingerprint(campaign: Campaign | None) -> str:
    """A digest of the campaign's definition as the diff saw it: the confirmation applies
    the file only while the campaign is still exactly so."""
    if campaign is None:
        return NEW
    text = repr(sorted(campaign_document(campaign).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class StalePlan(Exception):
    """The campaign changed since the diff was shown; ``plan`` is the diff as it is now."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        super().__init__("the campaign changed since the diff")


def apply_plan(spec: CampaignSpec, filename: str, shown: str, *, actor: str) -> LoadResult:
    """Load ``spec`` if the campaign is still as the diff with fingerprint ``shown`` saw it.

    The check and the load are one write transaction (the campaign's row locked on
    PostgreSQL, the write lock taken first on SQLite), so two confirmations of one diff
    (a double click, two colleagues) load it once; the other gets ``StalePlan`` with
    the diff as it is then (usually: nothing changes).  Raises ``DefinitionError`` as
    ``load_campaign`` does.
    """
    begin_write()
    current = db.session.scalar(
        select(Campaign).where(Campaign.slug == spec.slug).with_for_update()
    )
    if fingerprint(current) != shown:
        db.session.rollback()
        raise StalePlan(plan_load(spec, filename))
    try:
        return load_campaign(spec, filename, actor=actor)
    except IntegrityError as exc:  # the same new campaign created meanwhile (PostgreSQL)
        db.session.rollback()
        raise StalePlan(plan_load(spec, filename)) from exc
