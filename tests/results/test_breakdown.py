"""The results per sector (``?per=sector``): each choice question split by the response's
sector, with a sector of fewer than five answers shown without figures."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from campaign.extensions import db
from campaign.models import AnswerCountState
from campaign.results import services
from tests.results.results_seed import DURING, load, seed


@pytest.fixture
def seeded(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    return campaign


def figures(breakdown: services.Breakdown) -> dict[str, dict[str, tuple[int, float] | None]]:
    """{option label: {sector code: (count, percent) or None}}."""
    codes = [column.code for column in breakdown.columns]
    return {
        label: {
            code: None if bar is None else (bar.count, round(bar.percent, 1))
            for code, bar in zip(codes, cells, strict=True)
        }
        for label, cells in breakdown.rows
    }


@pytest.mark.parametrize("kept", [True, False], ids=["kept-counts", "from-json"])
def test_choice_questions_per_sector_with_small_sectors_suppressed(seeded, kept):
    if not kept:
        db.session.execute(delete(AnswerCountState))
    results = services.campaign_results(seeded, {"per": "sector"})
    assert results.per_sector
    nut = results.breakdown["nut"]
    assert [(c.code, c.answered, c.suppressed) for c in nut.columns] == [
        ("onderwijs", 2, True),
        ("welzijn", 5, False),
        ("arbeid", 1, True),
    ]
    assert figures(nut) == {
        "Oneens": {"onderwijs": None, "welzijn": (1, 20.0), "arbeid": None},
        "Neutraal": {"onderwijs": None, "welzijn": (2, 40.0), "arbeid": None},
        "Eens": {"onderwijs": None, "welzijn": (2, 40.0), "arbeid": None},
    }
    channels = figures(results.breakdown["kanalen"])
    assert {label: cells["welzijn"] for label, cells in channels.items()} == {
        "E-mail": (3, 60.0),
        "Telefoon": (2, 40.0),
        "Aan de balie": (2, 40.0),
        "Andere": (1, 20.0),
    }
    # no breakdown of the sector question itself, of grids, numbers or texts
    assert set(results.breakdown) == {
        "regio",
        "rol",
        "nut",
        "kanalen",
        "aanbod",
        "vorm",
        "deelname",
    }
    db.session.rollback()


def test_breakdown_within_a_filter(seeded):
    results = services.campaign_results(seeded, {"per": "sector", "regio": "brugge"})
    # brugge: onderwijs 2, welzijn 3: every sector under five
    assert results.respondents == 5
    assert all(column.suppressed for column in results.breakdown["nut"].columns)
    assert all(cell is None for _label, cells in results.breakdown["nut"].rows for cell in cells)


def test_without_the_choice_nothing_is_split(seeded):
    assert services.campaign_results(seeded, {}).breakdown == {}


def test_page_shows_the_table_per_sector(seeded, client, auth):
    auth.login()
    page = client.get(f"/dashboard/{seeded.slug}/resultaten/?per=sector").get_data(as_text=True)
    assert 'id="per-sector" name="per" value="sector" checked' in page
    assert "Per sector" in page
    assert '40&nbsp;% <span class="muted small">(2)</span>' in page
    assert "minder dan 5 antwoorden in die sector" in page
    plain = client.get(f"/dashboard/{seeded.slug}/resultaten/").get_data(as_text=True)
    assert "Per sector" not in plain
