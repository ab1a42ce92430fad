"""The campaign as a campaign file: what "Campagnebestand downloaden" gives.

``campaign_document`` rebuilds the file's structure from the database (the
dates as they hold now, dashboard changes included); ``campaign_yaml`` writes it.
Loading that file again changes nothing: the same questionnaire (same hash, same
version), the same sectors, dates, texts and mail settings (tests/definitions/
test_upload.py checks the round trip).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from campaign import clock
from campaign.definitions.schema import SCHEDULE_DATES, Questionnaire, ResultsSettings
from campaign.formatting import format_datetime
from campaign.models import Campaign


def _local_text(campaign: Campaign, moment: datetime | None) -> str | None:
    """A stored UTC moment as the file writes it: local time, ``2027-06-28 09:00``."""
    if moment is None:
        return None
    local = campaign.local(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


def campaign_document(campaign: Campaign) -> dict[str, Any]:
    """The campaign's definition as the campaign file's mapping (JSON-ready)."""
    schedule: dict[str, Any] = {}
    for name in SCHEDULE_DATES:
        text = _local_text(campaign, getattr(campaign, name))
        if text is not None:
            schedule[name] = text
    schedule["invite_at_open"] = bool(campaign.invite_at_open)
    schedule["reminder_threshold"] = campaign.reminder_threshold
    # The stored questionnaire is the schema's dump with every default spelled out;
    # validated again and dumped without defaults it reads like a hand-written file.
    questionnaire = Questionnaire.model_validate(campaign.questionnaire).model_dump(
        mode="json", by_alias=True, exclude_defaults=True
    )
    document: dict[str, Any] = {
        "slug": campaign.slug,
        "title": campaign.title,
        "organisers": list(campaign.organisers),
        "timezone": campaign.timezone,
        "schedule": schedule,
        "mail": dict(campaign.mail_settings),
        "intro": campaign.intro,
        "privacy": campaign.privacy,
        "sectors": [
            {
                "code": sector.code,
                "name": sector.name,
                "examples": list(sector.examples),
                "target": sector.target,
            }
            for sector in campaign.sectors
        ],
        "prizes": [dict(prize) for prize in campaign.prizes],
        "questionnaire": questionnaire,
    }
    draw = getattr(campaign, "draw_settings", None)  # the prize draw's rules, as loaded
    if draw:
        document["draw"] = dict(draw)
    if campaign.results_settings:
        results = ResultsSettings.model_validate(campaign.results_settings)
        document["results"] = results.model_dump(mode="json", exclude_defaults=True)
    return document


class _FileDumper(yaml.SafeDumper):
    """Multi-line texts as ``|`` blocks, so intro and privacy stay readable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FileDumper.add_representer(str, _text)


def campaign_yaml(campaign: Campaign, now: datetime | None = None) -> str:
    """The campaign file of ``campaign`` as YAML text, with a comment saying when."""
    moment = format_datetime(campaign.local(now or clock.now()))
    head = (
        f"# Campagnebestand van '{campaign.title}', gedownload op {moment}.\n"
        "# Formaat: docs/campaign-file.md. Laad het opnieuw op het dashboard of met\n"
        "# `flask campaign load BESTAND`.\n\n"
    )
    body = yaml.dump(
        campaign_document(campaign),
        Dumper=_FileDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return head + body


def download_name(campaign: Campaign) -> str:
    return f"{campaign.slug}.yaml"
