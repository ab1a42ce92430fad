"""``flask demo``: the example campaign as it looks half-way, with made-up people.

Everything is created through the same service functions coordinators and
respondents use, so the demo shows what a real campaign looks like.  The
example's schedule is moved so that the survey opened three weeks ago: the
invitations went out at the opening (to the ``.eml`` outbox; with a
``MAIL_SERVER`` configured they are not sent, they would reach real servers),
two channels (a newsletter and a website) were set up, and respondents opened
links, forwarded them and answered, spread over those weeks.  No real
person's data: the key figures are invented and use example.org addresses.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from campaign import ROOT, clock
from campaign.auth.services import create_coordinator, find_coordinator
from campaign.definitions.loader import read_campaign_file
from campaign.definitions.schema import CampaignSpec, Schedule
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link
from campaign.survey.links import find_link

EXAMPLE_FILE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
KEY_FIGURES_FILE = ROOT / "examples" / "sleutelfiguren-demo.csv"
DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "demo-wachtwoord-2026"


def demo_spec(today: datetime, path: Path = EXAMPLE_FILE) -> CampaignSpec:
    """The example campaign, its schedule moved so that it opened three weeks ago."""
    spec = read_campaign_file(path)
    day = today.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    schedule = Schedule(
        opens_at=day - timedelta(days=21),
        reminder_at=day + timedelta(days=10),
        closes_at=(day + timedelta(days=28)).replace(hour=23, minute=59),
        results_due=day + timedelta(days=45),
    )
    return spec.model_copy(update={"schedule": schedule})


def load_demo(
    now: datetime | None = None, seed: int = 2027, respondents: int = 240
) -> tuple[Campaign, dict[str, int]]:
    """Load the demo campaign, key figures, coordinator and answers; safe to run twice.

    About three in four made-up respondents finish.  Returns the campaign and
    counts of what was added this time.
    """
    zone = ZoneInfo("Europe/Brussels")
    now = now or clock.now()
    campaign = load_campaign(demo_spec(now.astimezone(zone))).campaign
    added = {"coordinator": 0, "key_figures": 0, "invitations": 0, "responses": 0}
    if find_coordinator(DEMO_EMAIL) is None:
        create_coordinator(DEMO_EMAIL, DEMO_PASSWORD, "Demo Coördinator")
        added["coordinator"] = 1
    added["key_figures"] = _load_key_figures(campaign)
    added["invitations"] = _send_invitations(campaign)
    added["responses"] = _add_responses(campaign, random.Random(seed), respondents, now)
    return campaign, added


def _send_invitations(campaign: Campaign) -> int:
    """The invitations, queued and sent at the opening (into the ``.eml`` outbox only)."""
    from flask import current_app

    from campaign.mailing.sender import send_queued
    from campaign.mailing.services import queue_invitations

    if current_app.config.get("MAIL_SERVER"):
        return 0
    opened = campaign.opens_at
    queued = queue_invitations(campaign, now=opened).queued
    if queued:
        send_queued(campaign.id, now=lambda: opened, wait_for_retries=False)
    return queued


#: The demo's channels besides the key figures: (name, kind, partner organiser's index).
DEMO_CHANNELS = [
    ("Nieuwsbrief Sterk Sociaal Werk, juni", "newsletter", 2),
    ("Website POM West-Vlaanderen", "website", 0),
]


def _channel_links(campaign: Campaign) -> list[Link]:
    """The demo channels' own links (the channels made when missing)."""
    from campaign.attribution import channel_link
    from campaign.channels.services import ChannelValues, create_channel
    from campaign.models import Channel

    organisers = list(campaign.organisers or [])
    existing = {
        channel.name: channel
        for channel in db.session.scalars(select(Channel).where(Channel.campaign_id == campaign.id))
    }
    links = []
    for name, kind, partner in DEMO_CHANNELS:
        channel = existing.get(name) or create_channel(
            campaign,
            ChannelValues(name=name, kind=kind, partner=organisers[partner % len(organisers)]),
        )
        links.append(channel_link(channel))
    db.session.commit()
    return links


def _load_key_figures(campaign: Campaign) -> int:
    from campaign.contacts.services import import_key_figures

    report = import_key_figures(campaign, KEY_FIGURES_FILE.read_bytes())
    return report.new


#: Made-up answers for open questions.
SHORT_TEXTS = ["Digidak", "Bibliotheek", "Sociaal Huis", "CVO", "Digibank in de buurt"]
LONG_TEXTS = [
    "Een overzicht van wie wat aanbiedt in de regio zou veel zoekwerk besparen.",
    "Cliënten hebben vooral hulp nodig bij itsme en bij online formulieren.",
    "Meer tijd per cliënt en een vast aanspreekpunt bij de digibank.",
    "Korte opleidingen voor collega's over veelgestelde digitale vragen.",
]


def _add_responses(campaign: Campaign, rng: random.Random, respondents: int, now: datetime) -> int:
    """Made-up respondents who open key figures' links (and forwards) and answer."""
    from campaign.attribution import response_totals, root_link

    if response_totals(campaign).started:
        return 0
    key_figures = list(
        db.session.scalars(select(KeyFigure).where(KeyFigure.campaign_id == campaign.id))
    )
    if not key_figures:
        return 0
    links = [root_link(kf) for kf in key_figures]
    db.session.commit()
    weights = [kf.reach or 10 for kf in key_figures]
    # The channels bring about one respondent in eight.
    channels = _channel_links(campaign)
    links += channels
    weights += [sum(weights) // (7 * len(channels))] * len(channels)
    span = (now - campaign.opens_at).total_seconds()
    moments = sorted(
        campaign.opens_at + timedelta(seconds=rng.uniform(0, span * 0.97))
        for _ in range(respondents)
    )
    finishers = set(rng.sample(range(respondents), round(respondents * 0.77)))
    forwards: list[Link] = []
    for number, moment in enumerate(moments):
        if forwards and rng.random() < 0.25:
            link = rng.choice(forwards)
        else:
            link = rng.choices(links, weights)[0]
        forward_code = _respond(campaign, link, moment, rng, finish=number in finishers)
        forward = find_link(forward_code) if forward_code else None
        if forward is not None:
            forwards.append(forward)
    return respondents


def _respond(
    campaign: Campaign, link: Link, moment: datetime, rng: random.Random, finish: bool
) -> str | None:
    """One made-up respondent; returns the code of their forward link when they finish."""
    from campaign.survey.services import record_open, save_page, start_response

    record_open(link)
    if rng.random() < 0.2:  # opened once before, and left without starting
        record_open(link)
    response = start_response(link, now=moment)
    page_index: int | None = response.last_page
    pages_to_fill = 99 if finish else rng.randint(1, 3)
    while page_index is not None and pages_to_fill:
        moment += timedelta(minutes=rng.uniform(1.5, 4))
        form = _page_form(campaign, page_index, response.answers or {}, link, rng)
        outcome = save_page(response, page_index, form, now=moment)
        if outcome.errors:
            raise RuntimeError(f"demo answers refused on page {page_index}: {outcome.errors}")
        if outcome.completion is not None:
            return outcome.completion.forward_code
        page_index = outcome.next_page
        pages_to_fill -= 1
    return None


def _page_form(
    campaign: Campaign, page_index: int, answers: dict, link: Link, rng: random.Random
) -> MultiDict:
    """Plausible form data for one page, as a browser would post it."""
    from campaign.survey import questionnaire as q

    page = q.pages(campaign.questionnaire)[page_index]
    form: MultiDict[str, str] = MultiDict()
    known = dict(answers)
    for question in page["questions"]:
        if not q.condition_met(question.get("show_if"), known):
            continue
        if not question.get("required") and rng.random() < 0.15:
            continue
        options = q.options_for(question, campaign.questionnaire, campaign.sectors)
        values = _made_up_answer(question, options, link, rng)
        for name, value in values:
            form.add(name, value)
        known[question["id"]] = _as_answer(question, values)
    return form


def _made_up_answer(
    question: dict, options: list[dict], link: Link, rng: random.Random
) -> list[tuple[str, str]]:
    qid, kind = question["id"], question["type"]
    values = [o["value"] for o in options]
    if kind == "sector":
        own = link.key_figure.sector.code if link.key_figure and link.key_figure.sector else None
        return [(qid, own if own and rng.random() < 0.85 else rng.choice(values))]
    if kind in ("single", "likert"):
        return [(qid, rng.choice(values))]
    if kind == "multiple":
        most = min(question.get("max_choices") or 3, 3, len(values))
        return [(qid, value) for value in rng.sample(values, rng.randint(1, most))]
    if kind == "grid":
        return [(f"{qid}.{item['id']}", rng.choice(values)) for item in question["items"]]
    if kind == "number":
        low = int(question.get("min") or 0)
        high = int(question.get("max") or max(low + 25, 25))
        return [(qid, str(rng.randint(low, min(high, low + 30))))]
    if kind == "text":
        return [(qid, rng.choice(SHORT_TEXTS))]
    return [(qid, rng.choice(LONG_TEXTS))] if rng.random() < 0.4 else []


def _as_answer(question: dict, values: list[tuple[str, str]]) -> object:
    """The answer as show-if conditions of later questions on the same page see it."""
    if question["type"] == "multiple":
        return [value for _name, value in values]
    return values[0][1] if values else None


@click.command("demo")
@click.option(
    "--respondents",
    default=240,
    show_default=True,
    type=click.IntRange(0, 5000),
    help="How many made-up respondents to add (only when the campaign has none yet).",
)
@with_appcontext
def demo_command(respondents: int) -> None:
    """Load the example campaign with made-up key figures, answers and a demo login."""
    campaign, added = load_demo(respondents=respondents)
    click.echo(f"Democampagne '{campaign.title}' ({campaign.slug}) staat klaar:")
    click.echo(
        f"  {added['key_figures']} sleutelfiguren, {added['invitations']} verstuurde "
        f"uitnodigingen en {added['responses']} antwoorden toegevoegd."
    )
    click.echo(f"  Demo-login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
