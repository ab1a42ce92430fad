"""Two requests saving one response at the same moment, in real threads on a real database:
no saved page is lost and a response is never completed twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import DrawTicket, Link, Response
from campaign.survey import services
from tests.survey.conftest import EXAMPLE_FORMS, form


def race(app: Flask, response_id: str, *saves: tuple[int, dict[str, Any]]) -> list[Any]:
    """Run each (page index, answers) save in its own thread with its own session.

    Every thread loads the response first and waits at a barrier, so all of
    them plan their write on the same state and then write at once, as two tabs
    or a double click do.  Returns each save's outcome (or the exception it raised).
    """
    barrier = threading.Barrier(len(saves))
    results: list[Any] = [None] * len(saves)

    def save(slot: int, index: int, data: dict[str, Any]) -> None:
        with app.app_context():
            try:
                response = db.session.get(Response, response_id)
                assert response is not None
                response.campaign.sectors  # noqa: B018 (load what save_page reads before the race)
                barrier.wait(timeout=10)
                results[slot] = services.save_page(response, index, form(data))
            except Exception as exc:  # reported to the test, which fails on it
                results[slot] = exc
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=save, args=(slot, index, data))
        for slot, (index, data) in enumerate(saves)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.remove()  # the caller's next read sees what the threads committed
    return results


def started_at_page(key_link: Link, pages: int) -> str:
    """A response whose first ``pages`` pages are saved; its id."""
    response = services.start_response(key_link)
    for index in range(pages):
        assert not services.save_page(response, index, form(EXAMPLE_FORMS[index])).errors
    response_id = response.id
    db.session.remove()
    return response_id


def test_two_saves_racing_on_one_response_both_keep_their_answers(app, key_link):
    response_id = started_at_page(key_link, 1)
    changed_page_one = {**EXAMPLE_FORMS[0], "ervaring_jaren": "12"}

    results = race(app, response_id, (1, EXAMPLE_FORMS[1]), (0, changed_page_one))

    assert all(isinstance(r, services.PageOutcome) and not r.errors for r in results), results
    stored = db.session.get(Response, response_id)
    assert stored.answers["ervaring_jaren"] == 12  # the re-saved first page
    assert stored.answers["moeilijke_hulpvraag"]  # and the second page, not lost
    assert stored.last_page == 2


def test_two_submits_of_the_last_page_at_once_complete_the_response_once(app, key_link):
    last = len(EXAMPLE_FORMS) - 1
    response_id = started_at_page(key_link, last)
    tickets_before, links_before = count(DrawTicket), count(Link)
    db.session.remove()

    results = race(app, response_id, (last, EXAMPLE_FORMS[last]), (last, EXAMPLE_FORMS[last]))

    assert all(isinstance(r, services.PageOutcome) for r in results), results
    completions = [r.completion for r in results if r.completion is not None]
    assert len(completions) == 1
    assert sum(r.already_completed for r in results) == 1
    assert count(DrawTicket) == tickets_before + 1
    assert count(Link) == links_before + 1  # one forward link
    assert db.session.get(Response, response_id).completed_at is not None


def count(model: Callable[..., Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0
