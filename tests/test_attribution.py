"""Who gets credit: a response's sector, the key figure at the root of a chain of
forwards, the counts every page shows, and the projection to the close.

Data is made through the services users call: ``load_campaign`` for the
campaign, ``save_key_figure`` for key figures, ``start_response`` and
``save_page`` for respondents.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import Flask

from campaign import attribution
from campaign.attribution import Counts
from campaign.contacts.services import save_key_figure
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import close_campaign, load_campaign
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure, Link, Response
from campaign.survey.links import find_link
from campaign.survey.services import record_open, save_page, start_response
from tests.survey.conftest import form

#: Two pages: a statement first, the (optional) sector question on the second page, so a
#: response exists for a while before its sector answer, and may finish without one.
SMALL_CAMPAIGN = """\
slug: kleine-bevraging
title: Een kleine bevraging
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-07-01 00:00
  closes_at: 2027-07-31 00:00
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - code: onderwijs
    name: Onderwijs
    target: 10
  - code: welzijn
    name: Welzijn
    target: 4
questionnaire:
  scales:
    eens:
      - {value: "1", label: Oneens}
      - {value: "2", label: Eens}
  pages:
    - id: stellingen
      title: Stellingen
      questions:
        - id: stelling
          type: likert
          scale: eens
          label: Digitale vragen nemen toe.
          required: true
    - id: profiel
      title: Over jou
      questions:
        - id: sector
          type: sector
          label: In welke sector werk je?
"""
#: Brussels is UTC+2 in summer: the small campaign is open from 30 June 22:00 UTC.
OPENS = datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
CLOSES = datetime(2027, 7, 30, 22, 0, tzinfo=UTC)
#: A third of the open period has passed.
TEN_DAYS_IN = datetime(2027, 7, 10, 22, 0, tzinfo=UTC)


def load_small(slug: str = "kleine-bevraging", text: str = SMALL_CAMPAIGN) -> Campaign:
    spec = parse_campaign_text(text.replace("kleine-bevraging", slug), "klein.yaml")
    return load_campaign(spec).campaign


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small()


def key_figure(campaign: Campaign, email: str, sector: str | None = "welzijn") -> KeyFigure:
    return save_key_figure(campaign, name=email.split("@")[0], email=email, sector_code=sector)


def own_link(key_figure: KeyFigure) -> Link:
    link = attribution.root_link(key_figure)
    db.session.commit()
    return link


#: Response id -> the code of the link its respondent got to forward on completion.
FORWARDS: dict[str, str] = {}


def respond(link: Link, sector: str | None = None, finish: bool = True) -> Response:
    """A respondent through ``link``: the statement, then (when finishing) the sector page."""
    response = start_response(link)
    outcome = save_page(response, 0, form({"stelling": "2"}))
    assert not outcome.errors, outcome.errors
    if finish:
        outcome = save_page(response, 1, form({"sector": sector} if sector else {}))
        assert outcome.completion is not None, outcome
        FORWARDS[response.id] = outcome.completion.forward_code
    return db.session.get(Response, response.id)


def forward_of(response: Response) -> Link:
    """The link a completed respondent forwards (the one the thank-you page shows)."""
    return find_link(FORWARDS[response.id])


def sector_code(response: Response) -> str | None:
    db.session.refresh(response)
    return response.sector.code if response.sector else None


# --- the sector a response counts for ---------------------------------------------------


def test_sector_is_the_key_figures_until_the_sector_page_is_saved(campaign):
    link = own_link(key_figure(campaign, "an@example.org", "welzijn"))
    response = start_response(link)
    assert sector_code(response) == "welzijn"
    save_page(response, 0, form({"stelling": "1"}))
    assert sector_code(response) == "welzijn"


def test_respondents_own_sector_answer_wins_over_the_key_figures(campaign):
    link = own_link(key_figure(campaign, "an@example.org", "welzijn"))
    assert sector_code(respond(link, sector="onderwijs")) == "onderwijs"


def test_sector_falls_back_to_the_key_figure_when_the_answer_is_left_empty(campaign):
    link = own_link(key_figure(campaign, "an@example.org", "welzijn"))
    response = respond(link, sector=None)
    assert response.completed_at is not None
    assert sector_code(response) == "welzijn"


def test_sector_falls_back_to_the_key_figure_without_a_sector_question(app):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    without = SMALL_CAMPAIGN.split("    - id: profiel")[0]
    campaign = load_small("zonder-sectorvraag", without)
    link = own_link(key_figure(campaign, "an@example.org", "onderwijs"))
    response = start_response(link)
    outcome = save_page(response, 0, form({"stelling": "2"}))
    assert outcome.completion is not None
    assert sector_code(response) == "onderwijs"


def test_no_sector_at_all_when_neither_the_answer_nor_the_key_figure_has_one(campaign):
    link = own_link(key_figure(campaign, "an@example.org", sector=None))
    assert sector_code(respond(link)) is None


def test_a_chain_of_forwards_credits_the_root_key_figure_and_its_sector(campaign):
    root = key_figure(campaign, "an@example.org", "welzijn")
    first = respond(own_link(root), sector="onderwijs")
    second = respond(forward_of(first), sector="onderwijs")
    third_link = forward_of(second)
    assert third_link.parent.parent.parent_id is None
    assert third_link.key_figure_id == root.id
    third = start_response(third_link)
    assert sector_code(third) == "welzijn"  # no answer yet: the root's sector
    assert attribution.counts_by_key_figure(campaign) == {root.id: Counts(3, 2)}
    assert attribution.answers_through_key_figure(root) == (3, 2)


# --- counts -------------------------------------------------------------------------------


def make_two_campaigns_of_responses(campaign: Campaign) -> dict[str, KeyFigure]:
    """In ``campaign``: An (welzijn) 2 completed + 1 started, one completed forward of
    theirs answering onderwijs; Bo (onderwijs) 1 started.  Beside it a second campaign
    with a key figure of the same e-mail and answers of its own."""
    an = key_figure(campaign, "an@example.org", "welzijn")
    bo = key_figure(campaign, "bo@example.org", "onderwijs")
    first = respond(own_link(an))
    respond(own_link(an), sector="welzijn")
    respond(own_link(an), finish=False)
    respond(forward_of(first), sector="onderwijs")
    respond(own_link(bo), finish=False)
    other = load_small("andere-bevraging")
    namesake = key_figure(other, "an@example.org", "welzijn")
    for _ in range(4):
        respond(own_link(namesake), sector="onderwijs")
    return {"an": an, "bo": bo, "namesake": namesake}


def test_counts_per_key_figure_with_forwards_incomplete_and_another_campaign(campaign):
    people = make_two_campaigns_of_responses(campaign)
    an, bo, namesake = people["an"], people["bo"], people["namesake"]
    assert attribution.counts_by_key_figure(campaign) == {an.id: Counts(4, 3), bo.id: Counts(1, 0)}
    assert attribution.answers_through_key_figure(an) == (4, 3)
    assert attribution.answers_through_key_figure(bo) == (1, 0)
    assert attribution.answers_through_key_figure(namesake) == (4, 4)
    assert attribution.response_totals(campaign) == Counts(5, 3)


def test_counts_per_sector_with_forwards_incomplete_and_another_campaign(campaign):
    make_two_campaigns_of_responses(campaign)
    ids = {sector.code: sector.id for sector in campaign.sectors}
    # An's first (no answer: welzijn), second (welzijn), third (started: welzijn);
    # the forward answered onderwijs; Bo's started one is onderwijs through Bo.
    assert attribution.counts_by_sector(campaign) == {
        ids["welzijn"]: Counts(3, 2),
        ids["onderwijs"]: Counts(2, 1),
    }
    progress = {p.code: p for p in attribution.sector_progress(campaign)}
    assert (progress["welzijn"].started, progress["welzijn"].completed) == (3, 2)
    assert (progress["onderwijs"].started, progress["onderwijs"].completed) == (2, 1)


def test_opens_per_key_figure_add_up_the_forwards(campaign):
    an = key_figure(campaign, "an@example.org")
    bo = key_figure(campaign, "bo@example.org")
    first = respond(own_link(an))
    for link in (own_link(an), own_link(an), forward_of(first), own_link(bo)):
        record_open(link)
    assert attribution.opens_by_key_figure(campaign) == {an.id: 3, bo.id: 1}
    assert attribution.total_opens(campaign) == 4


def test_stats_json_has_every_promised_field_and_the_attributed_counts(campaign, runner):
    people = make_two_campaigns_of_responses(campaign)
    record_open(own_link(people["an"]))
    result = runner.invoke(args=["campaign", "stats", campaign.slug, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["slug"], data["state"]) == ("kleine-bevraging", "open")
    assert (data["invited"], data["started"], data["completed"]) == (0, 5, 3)
    assert data["funnel"] == {
        "invited": 0,
        "delivered": 0,
        "opened": 1,
        "started": 5,
        "completed": 3,
    }
    sectors = {s["code"]: s for s in data["sectors"]}
    assert set(sectors["welzijn"]) >= {"code", "name", "target", "completed", "projected"}
    # a third of the period gone: 2 completed project to 6 (target 4), 1 to 3 (target 10)
    assert (sectors["welzijn"]["projected"], sectors["welzijn"]["on_track"]) == (6.0, True)
    assert (sectors["onderwijs"]["projected"], sectors["onderwijs"]["on_track"]) == (3.0, False)
    figures = {k["email"]: (k["opened"], k["started"], k["completed"]) for k in data["key_figures"]}
    assert figures == {"an@example.org": (1, 4, 3), "bo@example.org": (0, 1, 0)}


def test_overview_page_shows_the_attributed_counts(campaign, client, auth):
    make_two_campaigns_of_responses(campaign)
    auth.login()
    page = client.get(f"/dashboard/{campaign.slug}/").get_data(as_text=True)
    welzijn = page.split("Welzijn</td>")[1].split("</tr>")[0]
    assert '<td data-label="Afgerond" class="num">2</td>' in welzijn
    assert "op koers" in welzijn


# --- projection to the close -------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "share"),
    [
        (datetime(2027, 6, 1, tzinfo=UTC), 0.0),
        (OPENS, 0.0),
        (TEN_DAYS_IN, 1 / 3),
        (CLOSES, 1.0),
        (datetime(2028, 1, 1, tzinfo=UTC), 1.0),
    ],
)
def test_elapsed_share_of_the_open_period_is_clipped(campaign, now, share):
    assert attribution.elapsed_share(campaign, now) == pytest.approx(share)


def test_projection_before_during_and_after_the_open_period(campaign):
    assert attribution.projected(5, campaign, datetime(2027, 6, 1, tzinfo=UTC)) == 0
    assert attribution.projected(5, campaign, TEN_DAYS_IN) == pytest.approx(15)
    assert attribution.projected(5, campaign, datetime(2028, 1, 1, tzinfo=UTC)) == 5
    assert attribution.on_track(5, 15, campaign, TEN_DAYS_IN)
    assert not attribution.on_track(5, 16, campaign, TEN_DAYS_IN)
    assert attribution.expected_by_now(30, campaign, TEN_DAYS_IN) == pytest.approx(10)


def test_projection_ends_at_a_manual_close(campaign):
    close_campaign(campaign, now=TEN_DAYS_IN)
    assert attribution.elapsed_share(campaign, TEN_DAYS_IN) == 1.0
    assert attribution.projected(5, campaign, datetime(2027, 7, 20, tzinfo=UTC)) == 5


# --- what the dashboard adds ------------------------------------------------------------


def test_activity_per_key_figure_adds_forwards_and_keeps_the_latest_completion(campaign, app):
    people = make_two_campaigns_of_responses(campaign)
    activity = attribution.activity_by_key_figure(campaign)
    assert {k: (a.started, a.completed) for k, a in activity.items()} == {
        people["an"].id: (4, 3),
        people["bo"].id: (1, 0),
    }
    assert activity == {
        k: attribution.Activity(c.started, c.completed, activity[k].last_completed)
        for k, c in attribution.counts_by_key_figure(campaign).items()
    }
    assert activity[people["an"].id].last_completed == TEN_DAYS_IN
    assert activity[people["bo"].id].last_completed is None


def test_completed_fingerprint_moves_with_each_completion_only(campaign, app):
    link = own_link(key_figure(campaign, "an@example.org"))
    assert attribution.completed_fingerprint(campaign) == (0, None)
    respond(link, finish=False)
    assert attribution.completed_fingerprint(campaign) == (0, None)
    respond(link)
    assert attribution.completed_fingerprint(campaign) == (1, TEN_DAYS_IN)


def test_completed_by_profile_groups_the_answers_json_per_sector(campaign):
    link = own_link(key_figure(campaign, "an@example.org", "welzijn"))
    for sector in ("onderwijs", "onderwijs", None):
        respond(link, sector=sector)
    respond(link, finish=False)
    ids = {sector.code: sector.id for sector in campaign.sectors}
    assert attribution.completed_by_profile(campaign, ["sector", "stelling"]) == {
        (ids["onderwijs"], "onderwijs", "2"): 2,
        (ids["welzijn"], None, "2"): 1,
    }
