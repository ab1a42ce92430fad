"""Fixtures of the draw tests: the example campaign (two prizes) with a schedule of its own,
a clock the test moves, and entries made through the survey's own services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, DrawEntry
from campaign.survey.draw import enter_draw, issue_ticket
from tests.survey.conftest import load_example

#: The example campaign's schedule in these tests (Brussels time in the file).
OPENS = datetime(2027, 6, 28, 7, 0, tzinfo=UTC)
CLOSES = datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
#: After the close and its 60 minutes of grace: entries are frozen.
AFTER_CLOSE = CLOSES + timedelta(hours=2)
COORDINATOR = "coordinator@example.org"


class Clock:
    """A clock the test moves; the app reads it through ``app.config["CLOCK"]``."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(app: Flask) -> Clock:
    pinned = Clock(OPENS + timedelta(days=3))
    app.config["CLOCK"] = pinned
    return pinned


@pytest.fixture
def campaign(app: Flask, clock: Clock) -> Campaign:
    return load_example(
        opens_at=datetime(2027, 6, 28, 9, 0), closes_at=datetime(2027, 9, 15, 23, 59)
    )


def enter(campaign: Campaign, email: str) -> DrawEntry:
    """An entry as a respondent makes it: the ticket a completion hands out, then the form."""
    begin_write()
    ticket = issue_ticket(campaign.id)
    db.session.commit()
    return enter_draw(campaign, ticket, email, True)


def entrants(count: int) -> list[str]:
    return [f"deelnemer{number}@example.org" for number in range(count)]


@pytest.fixture
def entered(campaign: Campaign) -> dict[str, str]:
    """Eight entries: receipt -> e-mail address."""
    return {enter(campaign, email).receipt: email for email in entrants(8)}
