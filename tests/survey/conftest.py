"""Fixtures of the survey tests: the example campaign, open now, and a key figure's link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.models import Campaign, KeyFigure, Link
from tests.conftest import EXAMPLE_CAMPAIGN


def load_example(
    opens_at: datetime = datetime(2020, 1, 1, 9, 0),
    closes_at: datetime = datetime(2099, 12, 31, 23, 59),
    slug: str | None = None,
) -> Campaign:
    """The shipped example campaign with its schedule moved (the file itself is untouched)."""
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), str(EXAMPLE_CAMPAIGN))
    spec.schedule.opens_at = opens_at
    spec.schedule.reminder_at = None
    spec.schedule.closes_at = closes_at
    spec.schedule.results_due = None
    if slug:
        spec.slug = slug
    return load_campaign(spec).campaign


@pytest.fixture
def open_campaign(app: Flask) -> Campaign:
    return load_example()


@pytest.fixture
def key_figure(open_campaign: Campaign) -> KeyFigure:
    return save_key_figure(
        open_campaign,
        name="An Vermeersch",
        email="an.vermeersch@example.org",
        organisation="CAW Noord-West-Vlaanderen",
        sector_code="welzijn",
    )


@pytest.fixture
def key_link(key_figure: KeyFigure) -> Link:
    return root_link(key_figure)


#: A complete, valid set of answers for every page of the example questionnaire,
#: as form fields, page by page (pages in file order).
EXAMPLE_FORMS: list[dict[str, Any]] = [
    {
        "sector": "onderwijs",
        "organisatietype": "vzw",
        "rol": "trajectbegeleider",
        "regio": "brugge",
        "ervaring_jaren": "7",
        "frequentie_hulpvragen": "wekelijks",
    },
    {
        "doelgroepen": ["ouderen", "anderstaligen"],
        "drempels": ["vaardigheden", "toestel"],
        "soorten_hulpvragen.itsme_eid": "4",
        "huidige_aanpak": "samen_doen",
        "moeilijke_hulpvraag": "Een aanvraag voor een premie die enkel online kon.",
    },
    {
        "eigen_vaardigheden.toestel_instellen": "3",
        "stellingen_vaardigheden.voldoende_kennis": "4",
        "opleiding_gevolgd": "ja",
        "opleiding_welke": "Digitale sleutels bij Mediawijs",
    },
    {"bekendheid_aanbod.digibanken": "2", "informatiebronnen": ["collegas"]},
    {"wat_helpt": ["overzicht_aanbod", "opleiding_zelf"], "opleiding_onderwerpen": ["smartphone"]},
    {"organisatie_aanbod": "ja_occasioneel", "aanbod_vorm": ["individueel"]},
    {"digiwijzer_nut": "5", "digiwijzer_gebruik": "wekelijks"},
]


def form(data: dict[str, Any]) -> MultiDict:
    """Form data as the browser sends it (a list value: several fields of one name)."""
    items = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    return MultiDict(items)


def start_survey(client: Any, code: str) -> str:
    """Press "Start de vragenlijst": the reply is the first page itself (no redirect), whose
    form posts to that page's own address; returns that address."""
    reply = client.post(f"/s/{code}/start")
    assert reply.status_code == 200, reply.status_code
    action = reply.text.split('class="card survey-card survey-form"')[0].rsplit('action="', 1)[1]
    return action.split('"', 1)[0]


def next_address(reply: Any) -> str:
    """Where the browser is after posting a page: the redirect's target, or, for the page
    that completes the response (answered with the thank-you page itself), the address
    that page names for the address bar."""
    if reply.status_code == 302:
        return reply.headers["Location"]
    assert reply.status_code == 200, reply.status_code
    return reply.text.split('<meta name="survey-address" content="', 1)[1].split('"', 1)[0]
