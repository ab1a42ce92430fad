"""Preview and test mode (issue 11, item 2): a coordinator walks the questionnaire through
the preview link at any time; test responses count nowhere and can be cleared."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import CampaignEvent, DrawTicket, Link, Response
from campaign.preview import services
from campaign.survey import services as survey
from tests.survey.conftest import EXAMPLE_FORMS, form, load_example, next_address, start_survey


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def preview_link() -> Link:
    return db.session.scalar(select(Link).where(Link.preview.is_(True)))


@pytest.fixture
def draft_campaign(app):
    """The example campaign, opening only next year."""
    return load_example(opens_at=datetime(2098, 6, 1, 9, 0))


def complete_through(client, code: str) -> str:
    url = start_survey(client, code)
    for data in EXAMPLE_FORMS:
        reply = client.post(url, data=form(data))
        url = next_address(reply)
    return reply.text


def test_a_coordinator_answers_before_the_opening_and_nothing_counts(
    client, auth, draft_campaign, key_link
):
    auth.login()
    page = client.get(f"/dashboard/{draft_campaign.slug}/voorbeeld/")
    assert page.status_code == 200
    code = preview_link().code
    assert f"/s/{code}" in page.text and "Nog geen testantwoorden" in page.text

    welcome = client.get(f"/s/{code}")
    assert welcome.status_code == 200 and "Testmodus" in welcome.text
    assert "nog niet geopend" not in welcome.text
    thanks = complete_through(client, code)
    assert "Dit was een test" in thanks and "Doe mee aan de wedstrijd" not in thanks
    assert "Stuur de vragenlijst door" not in thanks

    db.session.remove()
    response = db.session.scalar(select(Response))
    assert response.is_test and response.completed_at is not None
    assert preview_link().open_count == 0  # the preview's openings are not counted either
    assert count(DrawTicket) == 0  # no ticket: a test enters no draw
    assert count(Link, Link.parent_id.is_not(None)) == 0  # nothing to forward

    # The campaign opens, a real respondent answers: only that one counts, everywhere.
    draft_campaign = load_example(opens_at=datetime(2020, 1, 1, 9, 0))
    other = client.application.test_client()
    complete_through(other, key_link.code)
    stats = client.get(f"/dashboard/{draft_campaign.slug}/cijfers.json").get_json()
    assert stats["funnel"]["started"] == 1 and stats["funnel"]["completed"] == 1
    export = client.get(f"/dashboard/{draft_campaign.slug}/export/antwoorden.csv")
    assert export.status_code == 200
    rows = [line for line in export.get_data(as_text=True).splitlines() if line.strip()]
    assert len(rows) == 2  # the header and the real response
    assert count(DrawTicket) == 1
    assert services.test_response_counts(draft_campaign) == (1, 1)


def test_the_preview_link_is_refused_to_anyone_not_logged_in(client, auth, draft_campaign):
    auth.login()
    client.get(f"/dashboard/{draft_campaign.slug}/voorbeeld/")
    code = preview_link().code
    stranger = client.application.test_client()
    for reply in (stranger.get(f"/s/{code}"), stranger.post(f"/s/{code}/start")):
        assert reply.status_code == 403
        assert "enkel voor de coördinatoren" in reply.text
    assert count(Response) == 0


def test_a_test_response_is_accepted_after_the_close_too(client, auth, open_campaign):
    auth.login()
    client.get(f"/dashboard/{open_campaign.slug}/voorbeeld/")
    code = preview_link().code
    load_example(closes_at=datetime(2021, 1, 1, 9, 0))
    assert "Testmodus" in client.get(f"/s/{code}").text
    assert "Dit was een test" in complete_through(client, code)
    assert survey.survey_gate(open_campaign) == survey.Gate.CLOSED  # for everyone else


def test_clearing_removes_the_test_responses_only_after_a_confirmation(
    client, auth, open_campaign, key_link
):
    auth.login()
    client.get(f"/dashboard/{open_campaign.slug}/voorbeeld/")
    complete_through(client, preview_link().code)
    survey.start_response(key_link)  # a real respondent, still answering
    confirm = client.get(f"/dashboard/{open_campaign.slug}/voorbeeld/testantwoorden-wissen")
    assert "1 testantwoord wissen?" in confirm.text
    assert count(Response) == 2  # nothing happened yet
    done = client.post(
        f"/dashboard/{open_campaign.slug}/voorbeeld/testantwoorden-wissen", follow_redirects=True
    )
    assert "1 testantwoord gewist." in done.text
    db.session.remove()
    assert [r.is_test for r in db.session.scalars(select(Response))] == [False]
    event = db.session.scalar(
        select(CampaignEvent).where(CampaignEvent.kind == "test_responses_cleared")
    )
    assert event.details == {"count": 1} and event.actor == "coordinator@example.org"
