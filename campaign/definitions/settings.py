"""The everyday settings on a form: dates, targets, subjects, sender, texts.

The form's values are put into the campaign's file structure (``campaign_document``)
and validated by the campaign file's own schema, so every rule has one owner: the
order of the dates, the subjects' placeholders, a valid sender address, a target of
at least 0.  On top of those, the dashboard's rules for a running campaign: the close
follows ``_check_new_close`` (as "Sluitdatum wijzigen"), a reminder that went out
cannot move, an open survey cannot open again later.

Dates changed here are dashboard changes: ``file_schedule`` keeps what the file
said, so reloading an unchanged file keeps them (see ``file_schedule``).  Texts and
targets have no such record: a file that says otherwise overwrites them, and the
upload's diff shows that before it is applied.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from campaign import clock
from campaign.database import begin_write
from campaign.definitions.export import campaign_document
from campaign.definitions.file_schedule import EVENT_KINDS
from campaign.definitions.loader import _problem
from campaign.definitions.localtime import local_to_utc
from campaign.definitions.schema import SCHEDULE_DATES, CampaignSpec
from campaign.definitions.services import CloseError, _check_new_close, reminder_pending
from campaign.extensions import db
from campaign.formatting import format_datetime
from campaign.history import record_event
from campaign.models import Campaign, CampaignState

log = logging.getLogger(__name__)

#: Form field -> (section of the campaign file, key), for the texts and the sender.
TEXT_FIELDS = {
    "title": (None, "title"),
    "intro": (None, "intro"),
    "privacy": (None, "privacy"),
    "sender_name": ("mail", "sender_name"),
    "sender_email": ("mail", "sender_email"),
    "reply_to": ("mail", "reply_to"),
}
SUBJECT_KINDS = ("invitation", "reminder", "winner")
#: Dutch names of the fields, for the list of changes and the schema's messages.
LABELS = {
    "title": "titel",
    "intro": "welkomsttekst",
    "privacy": "privacyverklaring",
    "sender_name": "naam van de afzender",
    "sender_email": "e-mailadres van de afzender",
    "reply_to": "antwoordadres",
    "subject_invitation": "onderwerp van de uitnodiging",
    "subject_reminder": "onderwerp van de herinnering",
    "subject_winner": "onderwerp van de winnaarsmail",
    "opens_at": "opening",
    "reminder_at": "herinnering",
    "closes_at": "sluiting",
    "results_due": "datum resultaten",
    "purge_at": "wissen van de wedstrijdgegevens",
}
DATE_INPUT = "%Y-%m-%dT%H:%M"


class SettingsError(ValueError):
    """The form cannot be saved; ``errors`` maps form fields to Dutch messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def target_field(code: str) -> str:
    return f"target_{code}"


def current_values(campaign: Campaign) -> dict[str, str]:
    """The form's fields as the campaign holds them now (dates as ``2027-06-28T09:00``)."""
    mail = campaign.mail_settings or {}
    values = {
        "title": campaign.title,
        "intro": campaign.intro,
        "privacy": campaign.privacy,
        "sender_name": mail.get("sender_name", ""),
        "sender_email": mail.get("sender_email", ""),
        "reply_to": mail.get("reply_to") or "",
    }
    for kind in SUBJECT_KINDS:
        values[f"subject_{kind}"] = mail.get("subjects", {}).get(kind, "")
    for name in SCHEDULE_DATES:
        moment = getattr(campaign, name)
        values[name] = campaign.local(moment).strftime(DATE_INPUT) if moment else ""
    for sector in campaign.sectors:
        values[target_field(sector.code)] = str(sector.target)
    return values


def merge_edits(
    current: dict[str, str], shown: dict[str, str] | None, posted: dict[str, str]
) -> dict[str, str]:
    """The values to save: a field the coordinator changed (``posted`` differs from what the
    form ``shown``) takes the posted value, every other field the campaign's value now, so
    saving the form never undoes what a colleague changed meanwhile in another field."""
    if shown is None:
        return {**current, **posted}

    def same(a: str | None, b: str | None) -> bool:
        return (a or "").replace("\r\n", "\n") == (b or "").replace("\r\n", "\n")

    return {
        name: posted[name] if name in posted and not same(posted[name], shown.get(name)) else value
        for name, value in current.items()
    }


def _document(campaign: Campaign, values: dict[str, str]) -> dict[str, Any]:
    """The campaign file's structure with the form's values put in."""
    document = campaign_document(campaign)
    for name, (section, key) in TEXT_FIELDS.items():
        value = values.get(name, "")
        target = document[section] if section else document
        if name == "reply_to" and not value.strip():
            target.pop(key, None)
        else:
            target[key] = value.replace("\r\n", "\n")
    subjects = {k: values.get(f"subject_{k}", "").strip() for k in SUBJECT_KINDS}
    document["mail"]["subjects"] = {k: v for k, v in subjects.items() if v}
    for name in SCHEDULE_DATES:
        text = values.get(name, "").strip()
        document["schedule"][name] = text or None
    for sector in document["sectors"]:
        raw = values.get(target_field(sector["code"]), "").strip()
        sector["target"] = int(raw) if raw.isdigit() else raw or None
    return document


def validate_settings(campaign: Campaign, values: dict[str, str]) -> CampaignSpec:
    """The campaign as the form would leave it, checked by the campaign file's schema.

    Raises ``SettingsError`` with one Dutch message per form field.
    """
    try:
        return CampaignSpec.model_validate(_document(campaign, values))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        codes = [sector.code for sector in campaign.sectors]
        for error in exc.errors():
            name, message = _field_error(error, codes)
            errors.setdefault(name, message)
        raise SettingsError(errors) from exc


def _field_error(error: Any, codes: list[str]) -> tuple[str, str]:
    """(form field, Dutch message) for one of the schema's errors."""
    loc = [part for part in error["loc"] if isinstance(part, str | int)]
    message = _problem(error, None).message
    if error["type"] in ("missing", "datetime_type") and loc and loc[-1] in SCHEDULE_DATES:
        message = "vul een datum en uur in"
    if loc[:1] == ["sectors"] and len(loc) > 1 and isinstance(loc[1], int):
        return target_field(codes[loc[1]]), _sentence(message)
    if loc[:2] == ["mail", "subjects"]:
        for kind in SUBJECT_KINDS:
            prefix = f"onderwerp van {kind}: "
            if message.startswith(prefix):
                return f"subject_{kind}", _sentence(message.removeprefix(prefix))
    if loc[:1] == ["mail"] and len(loc) > 1:
        return str(loc[1]), _sentence(message)
    if loc[:1] == ["schedule"] and len(loc) > 1:
        return str(loc[1]), _sentence(_dutch_names(message))
    words = message.replace("schedule.", "").split()
    first = words[0].rstrip(":") if words else ""
    if first in SCHEDULE_DATES:
        return first, _sentence(_dutch_names(message.replace("schedule.", "")))
    return str(loc[0]) if loc else "title", _sentence(message)


def _dutch_names(message: str) -> str:
    """The schema's messages name the file's keys; the form names its fields."""
    for name in SCHEDULE_DATES:
        message = message.replace(f"{name}:", f"de {LABELS[name]}:").replace(
            name, f"de {LABELS[name]}"
        )
    return message


def _sentence(message: str) -> str:
    message = message.strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


# --- saving -----------------------------------------------------------------------------


def save_settings(
    campaign: Campaign, values: dict[str, str], *, actor: str, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """Validate and save the form in one write transaction with a ``settings_changed``
    event (and ``close_moved``/``reopened``/``reminder_moved`` for those dates).

    Returns (the Dutch list of changes, warnings); an empty list when nothing changed.
    Raises ``SettingsError`` (and changes nothing) when a rule refuses a value.
    """
    now = now or clock.now()
    spec = validate_settings(campaign, values)
    begin_write()
    db.session.refresh(campaign, with_for_update=True)
    try:
        changes, warnings = _apply(campaign, spec, actor, now)
    except SettingsError:
        db.session.rollback()
        raise
    if not changes:
        db.session.rollback()
        return [], []
    record_event(campaign, "settings_changed", actor=actor, now=now, changes=changes)
    db.session.commit()
    log.info("campaign %s: settings changed by %s (%s)", campaign.slug, actor, changes)
    return changes, warnings


def _apply(
    campaign: Campaign, spec: CampaignSpec, actor: str, now: datetime
) -> tuple[list[str], list[str]]:
    changes = _apply_texts(campaign, spec)
    changes += _apply_targets(campaign, spec)
    dates, warnings = _apply_dates(campaign, spec, actor, now)
    return changes + dates, warnings


def _apply_texts(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    changes = []
    for name in ("title", "intro", "privacy"):
        if getattr(campaign, name) != getattr(spec, name):
            changes.append(f"{LABELS[name].capitalize()} gewijzigd.")
            setattr(campaign, name, getattr(spec, name))
    mail = spec.mail.model_dump(mode="json", exclude_none=True)
    old = campaign.mail_settings or {}
    for key in ("sender_name", "sender_email", "reply_to"):
        if old.get(key) != mail.get(key):
            changes.append(
                f"{LABELS[key].capitalize()}: {old.get(key) or 'geen'} → {mail.get(key) or 'geen'}."
            )
    for kind in SUBJECT_KINDS:
        if old.get("subjects", {}).get(kind) != mail["subjects"].get(kind):
            changes.append(f"{LABELS['subject_' + kind].capitalize()} gewijzigd.")
    if mail != old:
        campaign.mail_settings = mail
    return changes


def _apply_targets(campaign: Campaign, spec: CampaignSpec) -> list[str]:
    targets = {item.code: item.target for item in spec.sectors}
    changes = []
    for sector in campaign.sectors:
        if sector.target != targets[sector.code]:
            changes.append(f"Doel van {sector.name}: {sector.target} → {targets[sector.code]}.")
            sector.target = targets[sector.code]
    return changes


def _apply_dates(
    campaign: Campaign, spec: CampaignSpec, actor: str, now: datetime
) -> tuple[list[str], list[str]]:
    """The schedule's dates, with the running campaign's rules (reminder, then close)."""
    new = {
        name: None
        if (local := getattr(spec.schedule, name)) is None
        else local_to_utc(local, spec.timezone).utc
        for name in SCHEDULE_DATES
    }
    old = {name: getattr(campaign, name) for name in SCHEDULE_DATES}
    changed = [name for name in SCHEDULE_DATES if old[name] != new[name]]
    problems = _date_problems(campaign, new, changed, now)
    if problems:
        raise SettingsError(problems)
    warnings: list[str] = []
    reopened = "closes_at" in changed and campaign.state(now) == CampaignState.CLOSED
    if "closes_at" in changed:
        campaign.reminder_at = new["reminder_at"]  # the close's check sees the new reminder
        try:
            warnings = _check_new_close(campaign, new["closes_at"], now)  # type: ignore[arg-type]
        except CloseError as exc:
            raise SettingsError({"closes_at": str(exc)}) from exc
    changes = []
    for name in changed:
        changes.append(
            f"{LABELS[name].capitalize()}: {_when(campaign, old[name])} → "
            f"{_when(campaign, new[name])}."
        )
        if name in EVENT_KINDS:
            kind = "reopened" if name == "closes_at" and reopened else EVENT_KINDS[name]
            record_event(campaign, kind, actor=actor, now=now, old=old[name], new=new[name])
        setattr(campaign, name, new[name])
    if "closes_at" in changed:
        campaign.closed_at = None
    return changes, warnings


def _date_problems(
    campaign: Campaign, new: dict[str, datetime | None], changed: list[str], now: datetime
) -> dict[str, str]:
    problems = {}
    if "opens_at" in changed and campaign.state(now) != CampaignState.DRAFT:
        opens = new["opens_at"]
        if opens is not None and opens > now:
            problems["opens_at"] = (
                "De bevraging is al geopend: de opening kan niet meer naar later verschuiven."
            )
    if "reminder_at" in changed and campaign.reminder_at and not reminder_pending(campaign):
        problems["reminder_at"] = "De herinnering is al verstuurd: ze kan niet meer verschuiven."
    return problems


def _when(campaign: Campaign, moment: datetime | None) -> str:
    return format_datetime(campaign.local(moment.astimezone(UTC))) if moment else "geen"
