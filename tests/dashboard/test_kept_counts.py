"""The dashboard's kept counts (``credit_counts``): exact whether or not the results'
catch-up ran since the last completion, equal to a rebuild, and never holding test
responses.

Data is made through the services users call (``tests.test_attribution``'s
helpers); the catch-up and the rebuild are the results' own (``tally``).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import make_url, select, update

from campaign import attribution
from campaign.attribution import Counts
from campaign.channels import services as channels
from campaign.channels.services import ChannelValues
from campaign.contacts.services import save_key_figure
from campaign.dashboard.queries import campaign_stats
from campaign.dashboard.tables import PER_PAGE, TableFilter, key_figure_table
from campaign.extensions import db
from campaign.models import AnswerCount, Campaign, CreditCount, Link
from campaign.results import tally
from campaign.survey.services import save_page, start_response
from tests.dashboard.test_dashboard import answer, load_profile_campaign
from tests.survey.conftest import form
from tests.test_attribution import (
    TEN_DAYS_IN,
    forward_of,
    key_figure,
    load_small,
    own_link,
    respond,
)


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small()


def kept_rows(campaign: Campaign) -> list[tuple[str, int, int, object]]:
    rows = db.session.execute(
        select(
            CreditCount.dimension,
            CreditCount.key,
            CreditCount.completed,
            CreditCount.last_completed,
        )
        .where(CreditCount.campaign_id == campaign.id)
        .order_by(CreditCount.dimension, CreditCount.key)
    )
    return [tuple(row) for row in rows]


def every_count(campaign: Campaign) -> tuple[object, ...]:
    """Every campaign-wide count that reads the kept rows."""
    return (
        attribution.counts_by_sector(campaign),
        attribution.counts_by_key_figure(campaign),
        attribution.counts_by_channel(campaign),
        attribution.activity_by_key_figure(campaign),
        attribution.completions_by_day(campaign),
        attribution.response_totals(campaign),
        attribution.completed_fingerprint(campaign),
    )


def test_a_completion_after_the_last_catch_up_is_counted_before_the_next(campaign, app):
    an = key_figure(campaign, "an@example.org", "welzijn")
    bo = key_figure(campaign, "bo@example.org", "onderwijs")
    first = respond(own_link(an), sector="onderwijs")
    respond(forward_of(first))  # no answer: the key figure's sector, welzijn
    respond(own_link(bo), finish=False)  # in progress: the key figure's sector so far
    assert tally.catch_up(campaign) == 2
    kept = kept_rows(campaign)
    assert sum(row[2] for row in kept if row[0] == attribution.SECTOR) == 2

    later = TEN_DAYS_IN + timedelta(hours=5)
    app.config["CLOCK"] = lambda: later
    respond(own_link(bo), sector="welzijn")
    assert kept_rows(campaign) == kept  # not added yet: the live part counts it
    ids = {sector.code: sector.id for sector in campaign.sectors}
    expected = (
        {ids["onderwijs"]: Counts(2, 1), ids["welzijn"]: Counts(2, 2)},
        {an.id: Counts(2, 2), bo.id: Counts(2, 1)},
        {None: Counts(4, 3)},
        {
            an.id: attribution.Activity(2, 2, TEN_DAYS_IN),
            bo.id: attribution.Activity(2, 1, later),
        },
        {date(2027, 7, 11): 3},  # 10 July 22:00 UTC is 11 July in Brussels
        Counts(4, 3),
        (3, later),
    )
    assert every_count(campaign) == expected
    stats = campaign_stats(campaign)
    assert (stats["started"], stats["completed"]) == (4, 3)
    by_email = {row["email"]: row for row in stats["key_figures"]}
    assert (by_email["bo@example.org"]["started"], by_email["bo@example.org"]["completed"]) == (
        2,
        1,
    )

    assert tally.catch_up(campaign) == 1
    assert kept_rows(campaign) != kept
    assert every_count(campaign) == expected


def test_the_page_counts_a_completion_the_catch_up_has_not_added(campaign, app, client, auth):
    link = own_link(key_figure(campaign, "an@example.org"))
    respond(link)
    tally.catch_up(campaign)
    respond(link)
    # The page runs the catch-up itself; what it shows equals the stats either way.
    auth.login()
    html = client.get(f"/dashboard/{campaign.slug}/").get_data(as_text=True)
    assert 'data-figure="funnel.completed">2<' in html
    assert campaign_stats(campaign)["completed"] == 2
    assert sum(row[2] for row in kept_rows(campaign) if row[0] == attribution.SECTOR) == 2


def make_responses_in_rounds(campaign: Campaign, app) -> None:
    """Key figures, a channel, forwards, responses without a sector answer, over several
    hours, with a catch-up after each round (as the pages would run it)."""
    an = own_link(key_figure(campaign, "an@example.org", "welzijn"))
    bo = own_link(key_figure(campaign, "bo@example.org", None))
    website = channels.create_channel(campaign, ChannelValues("Website", "website"))
    site = db.session.scalar(
        select(Link).where(Link.channel_id == website.id, Link.parent_id.is_(None))
    )
    for hour, (link, sector) in enumerate(
        [
            (an, "onderwijs"),
            (bo, None),
            (site, "welzijn"),
            (an, None),
            (site, None),
            (bo, "welzijn"),
        ]
    ):
        app.config["CLOCK"] = lambda hour=hour: TEN_DAYS_IN + timedelta(hours=3 * hour)
        first = respond(link, sector=sector)
        respond(forward_of(first), sector="onderwijs")
        respond(link, finish=False)
        if hour % 2:
            tally.catch_up(campaign)
    tally.catch_up(campaign)


def test_a_rebuild_makes_exactly_the_rows_the_catch_ups_added(campaign, app):
    make_responses_in_rounds(campaign, app)
    incremental, counts = kept_rows(campaign), every_count(campaign)
    assert len({row[1] for row in incremental if row[0] == attribution.HOUR}) == 6
    assert {row[1] for row in incremental if row[0] == attribution.KEY_FIGURE} == {
        attribution.NONE,  # the channel's responses
        *(key for key in counts[1] if key is not None),
    }
    # Rows gone astray (as by a bug, or rows of an older rule): the rebuild (`flask results
    # recount`) counts them again from the responses, to what the catch-ups had added.
    db.session.execute(
        update(CreditCount)
        .where(CreditCount.campaign_id == campaign.id)
        .values(completed=CreditCount.completed + 1)
    )
    db.session.commit()
    assert every_count(campaign) != counts
    tally.rebuild(campaign)
    db.session.commit()
    assert kept_rows(campaign) == incremental
    assert every_count(campaign) == counts
    assert attribution.response_totals(campaign) == Counts(18, 12)


def test_test_responses_are_never_kept_nor_counted(campaign, app):
    link = own_link(key_figure(campaign, "an@example.org"))
    respond(link)
    preview = attribution.preview_link(campaign)
    db.session.commit()
    response = start_response(preview)
    save_page(response, 0, form({"stelling": "2"}))
    assert save_page(response, 1, form({})).completion is not None
    tally.catch_up(campaign)
    assert attribution.response_totals(campaign) == Counts(1, 1)
    assert sum(row[2] for row in kept_rows(campaign) if row[0] == attribution.SECTOR) == 1
    tally.rebuild(campaign)
    db.session.commit()
    assert attribution.response_totals(campaign) == Counts(1, 1)
    assert sum(row[2] for row in kept_rows(campaign) if row[0] == attribution.SECTOR) == 1


def test_key_figure_table_pages_in_the_database_and_a_page_past_the_end_shows_the_last(
    campaign, app
):
    people = [key_figure(campaign, f"kf{number:03}@example.org") for number in range(PER_PAGE + 3)]
    respond(own_link(people[7]))
    first = key_figure_table(campaign, TableFilter())
    assert (first.matching, first.pages, first.page) == (PER_PAGE + 3, 2, 1)
    assert first.rows[0].email == "kf007@example.org"  # most completed first, then by name
    assert [row.email for row in first.rows[1:3]] == ["kf000@example.org", "kf001@example.org"]
    last = key_figure_table(campaign, TableFilter(page=9))
    assert (last.page, last.matching) == (2, PER_PAGE + 3)
    assert [row.email for row in last.rows] == [f"kf{n:03}@example.org" for n in (50, 51, 52)]
    none = key_figure_table(campaign, TableFilter(search="niemand", page=3))
    assert (none.rows, none.matching, none.page, none.pages) == ([], 0, 1, 1)
    done = key_figure_table(campaign, TableFilter(result="met"))
    assert [row.email for row in done.rows] == ["kf007@example.org"]


def test_the_key_figure_search_folds_accented_capitals_too(campaign):
    save_key_figure(campaign, name="Émile Ülgen", email="emile@example.org", organisation="ÖCMW")
    db.session.commit()
    for search in ("émile", "ÉMILE", "ülgen", "öcmw"):
        found = key_figure_table(campaign, TableFilter(search=search))
        assert [row.email for row in found.rows] == ["emile@example.org"], search


def test_coverage_reads_the_results_kept_cells_and_what_is_not_tallied_yet(app):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load_profile_campaign()
    link = own_link(key_figure(campaign, "an@example.org"))
    for sector, region in [("welzijn", "brugge"), ("welzijn", "brugge"), ("onderwijs", "kortrijk")]:
        answer(link, sector, region)
    assert tally.catch_up(campaign) == 3
    answer(link, "welzijn", "kortrijk")  # after the catch-up: not in the kept cells yet
    respond_without_finishing = start_response(link)
    save_page(respond_without_finishing, 0, form({"stelling": "2"}))
    assert tally.kept_profile(campaign) == ["regio"]
    ids = {sector.code: sector.id for sector in campaign.sectors}
    expected = {
        (ids["welzijn"], "brugge"): 2,
        (ids["welzijn"], "kortrijk"): 1,
        (ids["onderwijs"], "kortrijk"): 1,
    }
    assert attribution.completed_by_profile(campaign, ["regio"]) == expected
    assert attribution.completed_by_profile(campaign, ["regio"], kept=False) == expected
    assert tally.catch_up(campaign) == 1
    assert attribution.completed_by_profile(campaign, ["regio"]) == expected
    # What the page reads comes from the kept cells: a cell gone astray shows, until the
    # rebuild (`flask results recount`) counts it again.
    db.session.execute(
        update(AnswerCount)
        .where(AnswerCount.campaign_id == campaign.id, AnswerCount.question_id == "")
        .values(count=AnswerCount.count + 1)
    )
    db.session.commit()
    assert attribution.completed_by_profile(campaign, ["regio"]) != expected
    tally.rebuild(campaign)
    db.session.commit()
    assert attribution.completed_by_profile(campaign, ["regio"]) == expected


@pytest.mark.sqlite_only
def test_a_database_that_refuses_the_catch_up_still_shows_the_exact_counts(
    campaign, app, client, auth, make_app, database_url
):
    link = own_link(key_figure(campaign, "an@example.org"))
    respond(link)
    tally.catch_up(campaign)
    respond(link)
    respond(link, finish=False)
    auth.login()
    slug = campaign.slug
    db.session.remove()
    db.engine.dispose()
    path = make_url(database_url).database
    frozen = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true")
    client.application = frozen  # the same browser, now served by an app that cannot write
    reply = client.get(f"/dashboard/{slug}/")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert 'data-figure="funnel.completed">2<' in html
    assert 'data-figure="funnel.started">3<' in html
    assert client.get(f"/dashboard/{slug}/cijfers.json").json["funnel"]["completed"] == 2
