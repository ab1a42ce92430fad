"""The campaign dashboard: its numbers equal the seeded data and the stats JSON, key figures
without a sector are counted, the coverage matrix flags empty and thin cells, the JSON
endpoint refreshes the figures, and the page is clean in a browser at 1280 and 360 px.

Data is made through the services users call (``load_campaign``, ``save_key_figure``,
``start_response``, ``save_page``, ``record_open``, ``queue_invitations``, the sender).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from campaign import attribution
from campaign.contacts.services import save_key_figure
from campaign.dashboard.queries import campaign_stats
from campaign.extensions import db
from campaign.mailing.sender import send_queued
from campaign.mailing.services import queue_invitations
from campaign.models import Response
from campaign.survey.services import record_open, save_page, start_response
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.survey.browser import no_horizontal_scroll, overflowing_tables, serious_violations
from tests.survey.conftest import form
from tests.test_attribution import load_small, own_link, respond

#: Two pages (a statement; sector and region), with region as the profile question.
PROFILE_CAMPAIGN = """\
slug: profielbevraging
title: Een bevraging met profiel
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-07-01 00:00
  closes_at: 2027-07-31 00:00
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - {code: onderwijs, name: Onderwijs, target: 10}
  - {code: welzijn, name: Welzijn, target: 4}
questionnaire:
  scales:
    eens:
      - {value: "1", label: Oneens}
      - {value: "2", label: Eens}
  pages:
    - id: stellingen
      title: Stellingen
      questions:
        - {id: stelling, type: likert, scale: eens, label: Digitale vragen nemen toe., required: true}
    - id: profiel
      title: Over jou
      questions:
        - {id: sector, type: sector, label: "In welke sector werk je?"}
        - id: regio
          type: single
          label: In welke regio werk je?
          options:
            - {value: brugge, label: Regio Brugge}
            - {value: kortrijk, label: Regio Kortrijk}
results:
  profile: [sector, regio]
"""
#: A third of the small campaigns' open period (30 June 22:00 UTC to 30 July 22:00 UTC).
TEN_DAYS_IN = datetime(2027, 7, 10, 22, 0, tzinfo=UTC)


@pytest.fixture
def campaign(app):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return load_small()


def key_figure(campaign, email, sector="welzijn", network=""):
    return save_key_figure(
        campaign, name=email.split("@")[0].title(), email=email, sector_code=sector, network=network
    )


def seed(campaign, app):
    """An (welzijn, network A): 2 completed on 2 and 5 July + 1 stopped on page 1, one
    completed forward (onderwijs) on 5 July, 3 opens; Bo (onderwijs, network A): 1 stopped
    on page 2, 1 open; Cas (no sector, no network): nothing.  Invitations: 3 sent, then Dirk
    added and his queued.  Each completion takes 10, 20 or 40 minutes."""
    an = key_figure(campaign, "an@example.org", "welzijn", "Netwerk A")
    bo = key_figure(campaign, "bo@example.org", "onderwijs", "Netwerk A")
    key_figure(campaign, "cas@example.org", None)
    queue_invitations(campaign)
    assert send_queued().sent == 3
    key_figure(campaign, "dirk@example.org", "onderwijs")
    queue_invitations(campaign)

    def at(day, minutes):
        start = datetime(2027, 7, day, 8, 0, tzinfo=UTC)
        app.config["CLOCK"] = lambda: start + timedelta(minutes=minutes)
        return start

    at(2, 0)
    first = start_response(own_link(an))
    save_page(first, 0, form({"stelling": "2"}))
    at(2, 10)
    outcome = save_page(db.session.get(Response, first.id), 1, form({}))
    forward = forward_of_outcome(outcome)
    at(5, 0)
    respond_timed(own_link(an), app, 5, 20, sector="welzijn")
    respond_timed(forward, app, 5, 40, sector="onderwijs")
    at(6, 0)
    stopped = start_response(own_link(an))
    assert stopped.last_page == 0
    bo_response = start_response(own_link(bo))
    save_page(bo_response, 0, form({"stelling": "1"}))
    for link in (own_link(an), own_link(an), forward, own_link(bo)):
        record_open(link)
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    return an, bo


def forward_of_outcome(outcome):
    from campaign.survey.links import find_link

    return find_link(outcome.completion.forward_code)


def respond_timed(link, app, day, minutes, sector):
    start = datetime(2027, 7, day, 9, 0, tzinfo=UTC)
    app.config["CLOCK"] = lambda: start
    response = start_response(link)
    save_page(response, 0, form({"stelling": "2"}))
    app.config["CLOCK"] = lambda: start + timedelta(minutes=minutes)
    outcome = save_page(db.session.get(Response, response.id), 1, form({"sector": sector}))
    assert outcome.completion is not None


def page_of(client, campaign, query=""):
    reply = client.get(f"/dashboard/{campaign.slug}/{query}")
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def cell(html, row_attribute, label):
    row = html.split(row_attribute)[1].split("</tr>")[0]
    found = re.search(rf'<td data-label="{label}"[^>]*>([^<]*)<', row)
    assert found, (row_attribute, label)
    return found.group(1).strip()


def funnel_on_page(html):
    return {
        key: int(
            re.search(rf'data-figure="funnel.{key}">([\d.]+)<', html).group(1).replace(".", "")
        )
        for key in ("invited", "delivered", "opened", "started", "completed")
    }


def test_dashboard_and_stats_json_show_exactly_the_seeded_figures(campaign, app, client, auth):
    an, bo = seed(campaign, app)
    auth.login()
    html = page_of(client, campaign)
    stats = campaign_stats(campaign)
    expected_funnel = {"invited": 4, "delivered": 3, "opened": 4, "started": 5, "completed": 3}
    assert stats["funnel"] == expected_funnel
    assert funnel_on_page(html) == expected_funnel
    # Sectors: welzijn has An's two own completions and An's stopped one; onderwijs the
    # forward's completion and Bo's stopped one.
    sectors = {s["code"]: s for s in stats["sectors"]}
    for code, started, completed, key_figures in (("welzijn", 3, 2, 1), ("onderwijs", 2, 1, 2)):
        row = f'data-sector="{code}"'
        assert (sectors[code]["started"], sectors[code]["completed"]) == (started, completed)
        assert cell(html, row, "Gestart") == str(started)
        assert cell(html, row, "Afgerond") == str(completed)
        assert cell(html, row, "Sleutelfiguren") == str(key_figures)
        assert sectors[code]["key_figures"] == key_figures
    # a third of the period: welzijn 2 -> 6 (target 4) on track, onderwijs 1 -> 3 (10) not
    assert (sectors["welzijn"]["projected"], sectors["welzijn"]["on_track"]) == (6.0, True)
    assert (sectors["onderwijs"]["projected"], sectors["onderwijs"]["on_track"]) == (3.0, False)
    assert "(op koers)" in html.split('data-sector="welzijn"')[1].split("</tr>")[0]
    assert "(achter op schema)" in html.split('data-sector="onderwijs"')[1].split("</tr>")[0]
    figures = {
        k["email"]: (k["opened"], k["started"], k["completed"]) for k in stats["key_figures"]
    }
    assert figures == {
        "an@example.org": (3, 4, 3),
        "bo@example.org": (1, 1, 0),
        "cas@example.org": (0, 0, 0),
        "dirk@example.org": (0, 0, 0),
    }
    for email, (opened, started, completed) in figures.items():
        row = f'data-key-figure="{email}"'
        assert cell(html, row, "Geopend") == str(opened)
        assert cell(html, row, "Gestart") == str(started)
        assert cell(html, row, "Afgerond") == str(completed)
    assert cell(html, 'data-key-figure="an@example.org"', "Laatste antwoord") == "5 juli 2027"
    assert [k["last_completed"] for k in stats["key_figures"]][0].startswith("2027-07-05T09:40")


def test_answers_per_day_drop_off_and_median_completion(campaign, app, client, auth):
    seed(campaign, app)
    assert attribution.completions_by_day(campaign) == {
        datetime(2027, 7, 2).date(): 1,
        datetime(2027, 7, 5).date(): 2,
    }
    # An's stopped response never saved a page (page 1), Bo's saved the first (page 2)
    assert attribution.stopped_by_page(campaign) == {0: 1, 1: 1}
    assert attribution.median_completion_seconds(campaign) == pytest.approx(20 * 60)
    auth.login()
    html = page_of(client, campaign)
    assert "mediaan <strong>20 minuten</strong>" in html
    assert "2 begonnen antwoorden zijn (nog) niet afgerond" in html
    assert re.search(r"1\. Stellingen</td><td[^>]*>1<", html)
    assert re.search(r"2\. Over jou</td><td[^>]*>1<", html)
    assert '<td>vrijdag 2 juli 2027</td><td class="num">1</td><td class="num">1</td>' in html
    assert '<td>maandag 5 juli 2027</td><td class="num">2</td><td class="num">3</td>' in html
    # 3 completed in a third of the period: 9 at the close of 30 July, target 14
    assert "<strong>9</strong> afgeronde antwoorden binnen (doel 14)" in html


def test_answers_count_on_the_campaigns_own_calendar_day(campaign, app):
    link = own_link(key_figure(campaign, "an@example.org"))
    start = datetime(2027, 7, 2, 23, 0, tzinfo=UTC)  # 3 July, 01.00 in Brussels
    app.config["CLOCK"] = lambda: start
    respond(link, sector="welzijn")
    assert attribution.completions_by_day(campaign) == {datetime(2027, 7, 3).date(): 1}


def test_median_of_an_even_number_is_the_mean_of_the_middle_two(campaign, app):
    link = own_link(key_figure(campaign, "an@example.org"))
    for minutes in (10, 30):
        respond_timed(link, app, 3, minutes, sector="welzijn")
    assert attribution.median_completion_seconds(campaign) == pytest.approx(20 * 60)


def test_key_figures_without_a_sector_are_counted(app, client, auth):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load_small("zonder-sectoren")
    for email in ("an@example.org", "bo@example.org"):
        key_figure(campaign, email, None)
    respond(own_link(key_figure(campaign, "cas@example.org", None)))
    auth.login()
    html = page_of(client, campaign)
    assert re.search(r'data-figure="key_figures">3<', html)
    assert cell(html, 'data-sector="geen"', "Sleutelfiguren") == "3"
    assert cell(html, 'data-sector="geen"', "Afgerond") == "1"
    stats = campaign_stats(campaign)
    assert stats["no_sector"] == {"key_figures": 3, "started": 1, "completed": 1}


def test_key_figure_table_filters_and_sorts_in_the_query_string(campaign, app, client, auth):
    seed(campaign, app)
    auth.login()

    def emails(query):
        return re.findall(r'data-key-figure="([^"]+)"', page_of(client, campaign, query))

    assert emails("")[:2] == ["an@example.org", "bo@example.org"]  # most completed first
    assert emails("?sorteer=naam&volgorde=af") == [
        "dirk@example.org",
        "cas@example.org",
        "bo@example.org",
        "an@example.org",
    ]
    assert emails("?netwerk=Netwerk+A") == ["an@example.org", "bo@example.org"]
    assert emails("?sector=geen") == ["cas@example.org"]
    assert emails("?sector=onderwijs") == ["bo@example.org", "dirk@example.org"]
    assert emails("?resultaat=zonder&sorteer=naam") == [
        "bo@example.org",
        "cas@example.org",
        "dirk@example.org",
    ]
    assert emails("?q=DIRK") == ["dirk@example.org"]
    html = page_of(client, campaign, "?q=niemand")
    assert "Geen sleutelfiguren die aan deze filter voldoen." in html
    html = page_of(client, campaign)
    an_row = html.split('data-key-figure="an@example.org"')[1].split("</tr>")[0]
    assert f'href="/dashboard/{campaign.slug}/sleutelfiguren/' in an_row
    assert 'href="http://campagne.example.org/k/' in an_row
    network = html.split('id="netwerken-lijst"')[1].split("</table>")[0]
    first_row = network.split("<tbody>")[1].split("</tr>")[0]
    assert "Netwerk A" in first_row
    assert re.findall(r'data-value="(\d+)"', first_row) == ["2", "1", "4", "5", "3"]


def load_profile_campaign():
    from campaign.definitions.loader import parse_campaign_text
    from campaign.definitions.services import load_campaign

    return load_campaign(parse_campaign_text(PROFILE_CAMPAIGN, "profiel.yaml")).campaign


def answer(link, sector, region):
    response = start_response(link)
    save_page(response, 0, form({"stelling": "2"}))
    outcome = save_page(response, 1, form({"sector": sector, "regio": region}))
    assert outcome.completion is not None, outcome


def test_coverage_matrix_flags_empty_and_thin_cells(app, client, auth):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load_profile_campaign()
    link = own_link(key_figure(campaign, "an@example.org"))
    for _ in range(5):
        answer(link, "welzijn", "brugge")
    answer(link, "welzijn", "kortrijk")
    answer(link, "onderwijs", "brugge")
    auth.login()
    html = page_of(client, campaign)
    matrix = html.split('data-question="regio"')[1].split("</table>")[0]
    welzijn = matrix.split("Welzijn</th>")[1].split("</tr>")[0]
    onderwijs = matrix.split("Onderwijs</th>")[1].split("</tr>")[0]
    assert re.findall(r'<td class="num( flag-\w+)?">(\d+)', welzijn) == [
        ("", "5"),
        (" flag-dun", "1"),
    ]
    assert re.findall(r'<td class="num( flag-\w+)?">(\d+)', onderwijs) == [
        (" flag-dun", "1"),
        (" flag-leeg", "0"),
    ]
    assert "(3 cellen leeg of dun)" in matrix.split("</caption>")[0]
    assert "noemt geen profielvragen" not in html


def test_coverage_without_profile_questions_shows_sectors_and_says_why(campaign, client, auth):
    respond(own_link(key_figure(campaign, "an@example.org")), sector="welzijn")
    auth.login()
    html = page_of(client, campaign)
    assert "Het campagnebestand noemt geen profielvragen" in html
    section = html.split('id="dekking"')[1].split("</section>")[0]
    assert "data-question" not in section
    assert re.search(r'Welzijn</th><td class="num flag-dun">1', section)
    assert re.search(r'Onderwijs</th><td class="num flag-leeg">0', section)


def test_figures_json_follows_new_answers_and_equals_the_stats(campaign, app, client, auth):
    an, _bo = seed(campaign, app)
    auth.login()
    url = f"/dashboard/{campaign.slug}/cijfers.json"
    before = client.get(url)
    assert before.status_code == 200 and before.headers["Cache-Control"] == "no-store"
    data = before.get_json()
    stats = campaign_stats(campaign)
    assert data["funnel"] == stats["funnel"]
    assert data["key_figures"] == 4
    assert [s["completed"] for s in data["sectors"]] == [s["completed"] for s in stats["sectors"]]
    assert set(data["charts"]) == {"grafiek-sectoren", "grafiek-dagen", "grafiek-stoppers"}
    bars = data["charts"]["grafiek-sectoren"]["data"][0]
    assert bars["x"] == [2, 1] and bars["y"] == ["Welzijn", "Onderwijs"]  # aggregated only
    respond(own_link(an), sector="welzijn")
    after = client.get(url).get_json()
    assert after["funnel"]["completed"] == data["funnel"]["completed"] + 1
    assert after["charts"]["grafiek-sectoren"]["data"][0]["x"] == [3, 1]
    json.dumps(after)  # plain JSON, nothing left for a custom encoder


def test_figures_json_needs_a_login(campaign, client):
    reply = client.get(f"/dashboard/{campaign.slug}/cijfers.json")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def test_stats_command_prints_the_dashboards_funnel(campaign, app, runner):
    seed(campaign, app)
    result = runner.invoke(args=["campaign", "stats", campaign.slug, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["funnel"] == campaign_stats(campaign)["funnel"]


@pytest.mark.parametrize("width", [1280, 360])
def test_dashboard_in_a_browser_has_no_console_errors_and_passes_axe(
    width, app, live_server, browser, coordinator, example_campaign
):
    app.config["CLOCK"] = lambda: datetime(2027, 7, 20, 10, 0, tzinfo=UTC)
    from campaign.demo import load_demo

    load_demo(now=datetime(2027, 7, 20, 10, 0, tzinfo=UTC), respondents=30)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-BE")
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed: list[str] = []
    page.on("response", lambda reply: failed.append(reply.url) if reply.status >= 400 else None)
    try:
        page.goto(f"{live_server}/login")
        page.get_by_label("E-mailadres").fill(COORDINATOR_EMAIL)
        page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
        page.get_by_role("button", name="Aanmelden").click()
        page.goto(f"{live_server}/dashboard/{example_campaign.slug}/")
        for chart in ("grafiek-sectoren", "grafiek-dagen", "grafiek-stoppers"):
            page.wait_for_selector(f"#{chart} .main-svg", state="attached")
        assert page.get_by_role("heading", name="Respons per sector").is_visible()
        assert serious_violations(page) == []
        assert no_horizontal_scroll(page)
        if width == 360:
            assert overflowing_tables(page) == []
        if width == 1280:  # a phone shows the rows as blocks, without column titles
            page.locator("#netwerken-lijst").get_by_role("button", name="Afgerond").click()
            assert page.locator("#netwerken-lijst th[aria-sort]").count() == 1
        # The browser's own favicon request is the one 404 (it logs "Failed to load").
        assert [url for url in failed if not url.endswith("/favicon.ico")] == []
        assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    finally:
        context.close()


def test_completed_only_figures_follow_the_next_completion(app, client, auth):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load_profile_campaign()
    link = own_link(key_figure(campaign, "an@example.org"))
    answer(link, "welzijn", "brugge")
    auth.login()
    first = page_of(client, campaign).split('data-question="regio"')[1].split("</table>")[0]
    assert re.search(r'Welzijn</th><td class="num flag-dun">1', first)
    answer(link, "welzijn", "brugge")  # same pinned clock: only the count moves
    again = page_of(client, campaign).split('data-question="regio"')[1].split("</table>")[0]
    assert re.search(r'Welzijn</th><td class="num flag-dun">2', again)
