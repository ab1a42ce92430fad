"""The kept counts (``answer_counts``): always what the answers imply.

After completions through the survey, after reloads that change the questions or
the profile, and with completions racing in real threads, the kept rows equal a
rebuild from the answers, and the results read from them equal the results
counted from the JSON.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from campaign.extensions import db
from campaign.models import AnswerCount, AnswerCountState, Campaign, Response
from campaign.results import services, tally
from campaign.survey.services import save_page, start_response
from tests.results.results_seed import CAMPAIGN, DURING, PEOPLE, link_for, load, respond, seed
from tests.survey.conftest import form

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def during(request):
    """The campaign open (tests that take ``app`` only)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["CLOCK"] = lambda: DURING


def kept(campaign: Campaign) -> dict[tuple[str, str, str, str], int]:
    """The counts as the results read them: after ``catch_up`` adds what completed since."""
    tally.catch_up(campaign)
    return stored(campaign)


def stored(campaign: Campaign) -> dict[tuple[str, str, str, str], int]:
    rows = db.session.execute(
        select(
            AnswerCount.question_id,
            AnswerCount.item,
            AnswerCount.value,
            AnswerCount.cell,
            AnswerCount.count,
        ).where(AnswerCount.campaign_id == campaign.id)
    )
    return {tuple(row[:4]): row[4] for row in rows}  # type: ignore[misc]


def rebuilt(campaign: Campaign) -> dict[tuple[str, str, str, str], int]:
    """What a rebuild from the answers gives (rolled back afterwards)."""
    tally.rebuild(campaign)
    rows = stored(campaign)
    db.session.rollback()
    return rows


def from_json(campaign: Campaign, args: dict[str, str]) -> services.Results:
    """The results counted from the answers' JSON (the kept counts made not current)."""
    db.session.execute(delete(AnswerCountState).where(AnswerCountState.campaign_id == campaign.id))
    assert not tally.is_current(campaign)
    results = services.campaign_results(campaign, args)
    db.session.rollback()
    return results


SELECTIONS = [
    {},
    {"sector": "welzijn"},
    {"regio": "brugge"},
    {"regio": "brugge", "sector": "welzijn"},
    {"rol": "lesgever"},
    {"sector": "arbeid"},
]


def test_completions_are_counted_as_the_answers_imply(app):
    campaign = load()
    seed(campaign)

    rows = kept(campaign)
    assert rows == rebuilt(campaign)
    assert tally.is_current(campaign)
    # 8 completed respondents, the unfinished one not counted
    assert sum(n for (q, _i, _v, _c), n in rows.items() if q == "") == 8
    assert sum(n for (q, i, v, _c), n in rows.items() if (q, i, v) == ("kanalen", "", "mail")) == 5
    for args in SELECTIONS:
        assert services.campaign_results(campaign, args) == from_json(campaign, args), args


def test_the_numbers_median_min_and_max_come_from_the_counts(app):
    campaign = load()
    seed(campaign)
    results = services.campaign_results(campaign, {})
    number = next(q for q in results.questions if q.id == "ervaring").number
    # ervaring: 2, 5, 10, 1, 20, (none), 4, 8 -> 1 2 4 5 8 10 20
    assert number == {"count": 7, "min": 1.0, "max": 20.0, "median": 5.0}
    brugge = services.campaign_results(campaign, {"regio": "brugge"})
    number = next(q for q in brugge.questions if q.id == "ervaring").number
    assert number == {"count": 5, "min": 1.0, "max": 20.0, "median": 4.0}  # 1 2 4 5 20


def test_a_reload_that_changes_questions_and_profile_rebuilds_the_counts(app):
    campaign = load()
    seed(campaign)
    before = tally.fingerprint(
        campaign.results_settings, tally._questionnaire(db.session, campaign.id)
    )
    changed = CAMPAIGN.replace(
        '        - {id: opmerking, type: textarea, label: "Nog iets kwijt?"}\n',
        '        - {id: opmerking, type: textarea, label: "Nog iets kwijt?"}\n'
        "        - id: digitaal\n"
        "          type: single\n"
        "          label: Werk je digitaal?\n"
        "          options: [{value: ja, label: Ja}, {value: nee, label: Nee}]\n",
    ).replace("profile: [sector, regio, rol]", "profile: [sector, regio]")
    assert changed != CAMPAIGN
    campaign = load(changed)
    after = tally.fingerprint(
        campaign.results_settings, tally._questionnaire(db.session, campaign.id)
    )
    assert after != before
    assert tally.is_current(campaign)
    assert kept(campaign) == rebuilt(campaign)
    assert all('"rol"' not in cell for (_q, _i, _v, cell) in kept(campaign))

    # and completions after the reload are added to the rebuilt rows
    link = link_for(campaign, "tweede@example.org", "onderwijs")
    for profile, answers in PEOPLE[:3]:
        respond(link, profile, {**answers, "digitaal": "ja"})
    rows = kept(campaign)
    assert rows == rebuilt(campaign)
    assert sum(n for (q, i, v, _c), n in rows.items() if (q, i, v) == ("digitaal", "", "ja")) == 3
    for args in SELECTIONS:
        assert services.campaign_results(campaign, args) == from_json(campaign, args), args


def test_counts_built_for_another_profile_are_neither_read_nor_added_to(app):
    campaign = load()
    seed(campaign)
    state = db.session.get(AnswerCountState, campaign.id)
    state.fingerprint = "0" * 64  # as if built for another questionnaire
    db.session.commit()
    rows = kept(campaign)

    link = link_for(campaign, "derde@example.org")
    respond(link, *PEOPLE[0])

    assert kept(campaign) == rows  # nothing added to stale rows
    assert not tally.is_current(campaign)
    results = services.campaign_results(campaign, {})
    assert results.respondents == 9  # counted from the JSON instead
    assert tally.refresh(campaign)
    db.session.commit()
    assert tally.is_current(campaign) and kept(campaign) == rebuilt(campaign)


def test_completions_and_catch_ups_racing_in_threads_count_each_response_once(app):
    campaign = load()
    link = link_for(campaign)
    ready = []
    for profile, answers in PEOPLE:
        response = start_response(link)
        assert not save_page(response, 0, form(profile)).errors
        ready.append((response.id, answers))
    db.session.remove()
    barrier = threading.Barrier(len(ready))
    errors: list[BaseException] = []

    def finish(response_id: str, answers: dict) -> None:
        with app.app_context():
            try:
                response = db.session.get(Response, response_id)
                response.campaign.sectors  # noqa: B018 (read before the race)
                barrier.wait(timeout=10)
                outcome = save_page(response, 1, form(answers))
                assert outcome.completion is not None, outcome.errors
                # The results read at once, racing the other completions and catch-ups.
                tally.catch_up(db.session.get(Campaign, response.campaign_id))
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=finish, args=item) for item in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.remove()
    assert not errors, errors
    campaign = db.session.get(Campaign, campaign.id)
    rows = kept(campaign)
    assert sum(n for (q, _i, _v, _c), n in rows.items() if q == "") == len(PEOPLE)
    assert rows == rebuilt(campaign)


def test_the_rebuild_command_counts_again(app, runner):
    campaign = load()
    seed(campaign)
    rows = kept(campaign)
    db.session.execute(delete(AnswerCount).where(AnswerCount.campaign_id == campaign.id))
    db.session.commit()

    result = runner.invoke(args=["results", "recount", campaign.slug])

    assert result.exit_code == 0, result.output
    assert "8 afgeronde antwoorden opnieuw geteld" in result.output
    assert kept(campaign) == rows
    missing = runner.invoke(args=["results", "recount", "bestaat-niet"])
    assert missing.exit_code != 0


def test_only_the_tally_module_writes_the_counts():
    """One writer: no other module names the kept counts' tables."""
    writers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "campaign").rglob("*.py")
        if "AnswerCount" in path.read_text(encoding="utf-8")
    ]
    assert sorted(writers) == ["campaign/models.py", "campaign/results/tally.py"]


def test_the_migration_backfills_the_counts_of_existing_answers(app):
    """Migration 0007 run again over answers already there (its tables dropped first):
    its backfill counts them as the completions did."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    campaign = load()
    seed(campaign)
    rows = kept(campaign)
    slug = campaign.slug
    db.session.remove()
    path = ROOT / "migrations" / "versions" / "0007_answer_counts.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    with (
        db.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        migration.downgrade()
        migration.upgrade()

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    assert kept(campaign) == rows
    assert tally.is_current(campaign)


def test_completions_leave_the_counts_to_the_catch_up_which_adds_each_response_once(app):
    campaign = load()
    seed(campaign)
    # The survey's completion wrote nothing here (the respondent's hot path) ...
    assert sum(n for (q, _i, _v, _c), n in stored(campaign).items() if q == "") == 0
    # ... the results' catch-up adds the 8 completed responses, once.
    assert tally.catch_up(campaign) == 8
    assert tally.catch_up(campaign) == 0
    assert stored(campaign) == rebuilt(campaign)
