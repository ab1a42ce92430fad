"""After the close: a respondent still in progress is warned of the grace period and its exact
end (in the campaign's time zone), a late submit gets a clear page, and the gate follows the
database on every request (an early close, an extension)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from campaign.database import begin_write
from campaign.definitions.services import close_campaign
from campaign.extensions import db
from campaign.models import Campaign, Link, Response
from tests.survey.browser import no_horizontal_scroll
from tests.survey.conftest import EXAMPLE_FORMS, load_example, start_survey

#: 15 September 2027, 23:59 in Brussels (summer time, UTC+2) is 21:59 UTC; with the default
#: 60 minutes of grace answers are accepted until 00:59 on 16 September, Brussels time.
CLOSE_UTC = datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
GRACE_TEXT = (
    "De bevraging is afgesloten. Je kan je antwoorden nog tot 00:59 (16 september 2027) "
    "verzenden; daarna worden ze niet meer aanvaard."
)


class Clock:
    """A clock the test moves; the app reads it through ``app.config["CLOCK"]``."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(app: Flask) -> Clock:
    pinned = Clock(datetime(2027, 8, 1, 12, 0, tzinfo=UTC))
    app.config["CLOCK"] = pinned
    return pinned


@pytest.fixture
def closing_link(app: Flask, clock: Clock) -> Link:
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure

    campaign = load_example(
        opens_at=datetime(2027, 6, 28, 9, 0), closes_at=datetime(2027, 9, 15, 23, 59)
    )
    assert campaign.closes_at == CLOSE_UTC
    key_figure = save_key_figure(campaign, name="An", email="an@example.org")
    return root_link(key_figure)


def text_of(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ;", ";").replace(" .", ".")


def start_and_save_first_page(client: FlaskClient, link: Link) -> Callable[[], Response]:
    start_survey(client, link.code)
    saved = client.post(f"/s/{link.code}/vraag/1", data=EXAMPLE_FORMS[0])
    assert saved.headers["Location"].endswith("/vraag/2")

    def stored() -> Response:
        db.session.expire_all()
        (response,) = db.session.scalars(db.select(Response)).all()
        return response

    return stored


def test_pages_in_the_grace_period_warn_with_the_exact_end_in_brussels_time(
    client, clock, closing_link
):
    start_and_save_first_page(client, closing_link)
    page = client.get(f"/s/{closing_link.code}/vraag/2")
    assert "De bevraging is afgesloten" not in page.text

    clock.moment = CLOSE_UTC + timedelta(minutes=10)
    page = client.get(f"/s/{closing_link.code}/vraag/2")
    assert page.status_code == 200
    assert GRACE_TEXT in text_of(page.text)
    assert 'datetime="2027-09-16T00:59:00+02:00"' in page.text
    # The welcome page (where the respondent comes back) says it too.
    assert GRACE_TEXT in text_of(client.get(f"/s/{closing_link.code}").text)
    # A page with errors, shown again, keeps the warning.
    invalid = client.post(f"/s/{closing_link.code}/vraag/2", data={})
    assert invalid.status_code == 422
    assert GRACE_TEXT in text_of(invalid.text)
    # And answers are still accepted.
    saved = client.post(f"/s/{closing_link.code}/vraag/2", data=EXAMPLE_FORMS[1])
    assert saved.headers["Location"].endswith("/vraag/3")


def test_a_submit_after_the_grace_period_gets_a_clear_page_and_keeps_what_was_saved(
    client, clock, closing_link
):
    stored = start_and_save_first_page(client, closing_link)
    clock.moment = CLOSE_UTC + timedelta(minutes=60)
    late = client.post(f"/s/{closing_link.code}/vraag/2", data=EXAMPLE_FORMS[1])

    assert late.status_code == 403
    shown = text_of(late.text)
    assert "De vragenlijst is afgesloten" in shown
    assert "blijft bewaard als onvolledig ingevulde vragenlijst" in shown
    assert "de antwoorden die je nu verstuurde, konden we niet meer aanvaarden" in shown
    response = stored()
    assert response.completed_at is None
    assert response.answers["sector"] == "onderwijs"
    assert "doelgroepen" not in response.answers
    # Coming back later: the same clear page, no warning of a grace period that has ended.
    again = text_of(client.get(f"/s/{closing_link.code}/vraag/2").text)
    assert "blijft bewaard als onvolledig" in again and "Je kan je antwoorden nog" not in again


def test_an_early_close_starts_the_grace_period_at_once(app, client, clock, closing_link):
    start_and_save_first_page(client, closing_link)
    campaign = db.session.get(Campaign, closing_link.campaign_id)
    early = datetime(2027, 8, 20, 10, 0, tzinfo=UTC)  # 12:00 in Brussels
    clock.moment = early
    assert close_campaign(campaign)

    clock.moment = early + timedelta(minutes=5)
    page = text_of(client.get(f"/s/{closing_link.code}/vraag/2").text)
    assert "Je kan je antwoorden nog tot 13:00 (20 augustus 2027) verzenden" in page

    clock.moment = early + timedelta(minutes=61)
    late = client.post(f"/s/{closing_link.code}/vraag/2", data=EXAMPLE_FORMS[1])
    assert late.status_code == 403


def test_an_extension_ends_the_warning_and_accepts_answers_again(app, client, clock, closing_link):
    start_and_save_first_page(client, closing_link)
    campaign = db.session.get(Campaign, closing_link.campaign_id)
    clock.moment = datetime(2027, 8, 20, 10, 0, tzinfo=UTC)
    close_campaign(campaign)
    clock.moment += timedelta(minutes=5)
    assert "Je kan je antwoorden nog" in client.get(f"/s/{closing_link.code}/vraag/2").text

    # The coordinator extends: a later close, the early close undone (written here with a
    # plain UPDATE, as any path that changes the campaign row might).
    begin_write()
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(closes_at=CLOSE_UTC + timedelta(days=7), closed_at=None)
    )
    db.session.commit()
    db.session.remove()

    clock.moment += timedelta(hours=2)  # past the grace period of the early close
    page = client.get(f"/s/{closing_link.code}/vraag/2")
    assert page.status_code == 200 and "De bevraging is afgesloten" not in page.text
    saved = client.post(f"/s/{closing_link.code}/vraag/2", data=EXAMPLE_FORMS[1])
    assert saved.headers["Location"].endswith("/vraag/3")


@pytest.mark.browser
def test_a_phone_shows_the_grace_warning_above_the_questions(
    phone_page, live_server, clock, closing_link, tmp_path
):
    page = phone_page
    page.goto(f"{live_server}/s/{closing_link.code}")
    page.get_by_role("button", name="Start de vragenlijst").click()
    page.wait_for_url("**/vraag/1")
    assert page.locator(".notice-grace").count() == 0

    clock.moment = CLOSE_UTC + timedelta(minutes=30)
    page.reload()
    notice = page.locator(".notice-grace")
    assert " ".join(notice.inner_text().split()) == GRACE_TEXT
    # Prominent: inside the first screen of a 360 px phone, above the first question.
    box = notice.bounding_box()
    assert box is not None and box["y"] + box["height"] < 740 and box["width"] >= 300
    assert box["y"] < page.locator(".question").first.bounding_box()["y"]
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "grace-360.png"))
