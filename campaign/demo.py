"""``flask demo``: the example campaign with made-up key figures and answers.

Everything is created through the same service functions coordinators and
respondents use, so the demo shows what a real campaign looks like.  The
example's schedule is moved so that the survey is open today.  No real
person's data: the key figures are invented and use example.org addresses.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext

from campaign import ROOT
from campaign.auth.services import create_coordinator, find_coordinator
from campaign.definitions.loader import read_campaign_file
from campaign.definitions.schema import CampaignSpec, Schedule
from campaign.definitions.services import load_campaign
from campaign.models import Campaign

EXAMPLE_FILE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
KEY_FIGURES_FILE = ROOT / "examples" / "sleutelfiguren-demo.csv"
DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "demo-wachtwoord"


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


def load_demo(now: datetime | None = None, seed: int = 2027) -> tuple[Campaign, dict[str, int]]:
    """Load the demo campaign, key figures, coordinator and answers; safe to run twice.

    Returns the campaign and counts of what was added this time.
    """
    zone = ZoneInfo("Europe/Brussels")
    now = now or datetime.now(zone)
    campaign = load_campaign(demo_spec(now.astimezone(zone))).campaign
    added = {"coordinator": 0, "key_figures": 0, "responses": 0}
    if find_coordinator(DEMO_EMAIL) is None:
        create_coordinator(DEMO_EMAIL, DEMO_PASSWORD, "Demo Coördinator")
        added["coordinator"] = 1
    added["key_figures"] = _load_key_figures(campaign)
    added["responses"] = _add_responses(campaign, random.Random(seed))
    return campaign, added


def _load_key_figures(campaign: Campaign) -> int:
    import csv

    from campaign.contacts.services import find_key_figure, save_key_figure

    added = 0
    with KEY_FIGURES_FILE.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if find_key_figure(campaign, row["e-mail"]) is not None:
                continue
            save_key_figure(
                campaign,
                name=row["naam"],
                email=row["e-mail"],
                organisation=row["organisatie"],
                sector_code=row["sector"],
                network=row["netwerk"],
                reach=int(row["bereik"]),
            )
            added += 1
    return added


def _add_responses(campaign: Campaign, rng: random.Random) -> int:
    return 0


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the example campaign with made-up key figures, answers and a demo login."""
    campaign, added = load_demo()
    click.echo(f"Democampagne '{campaign.title}' ({campaign.slug}) staat klaar:")
    click.echo(f"  {added['key_figures']} sleutelfiguren en {added['responses']} antwoorden toegevoegd.")
    click.echo(f"  Demo-login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
