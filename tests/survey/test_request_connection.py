"""The survey's hot path runs on a connection of the request's own; it always goes back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Link, Response
from tests.survey.conftest import EXAMPLE_FORMS, form


def in_a_server_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread of its own, as a server thread would: its requests push
    their own app context instead of sharing the test's (which would keep ``g``)."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def test_page_submissions_give_their_connection_back(app: Flask, key_link: Link):
    code = key_link.code
    db.session.remove()  # the fixtures' session and its connection
    client = app.test_client()

    def answer_pages() -> list[int]:
        statuses = [client.post(f"/s/{code}/start").status_code]
        for _ in range(12):
            statuses.append(
                client.post(f"/s/{code}/vraag/1", data=form(EXAMPLE_FORMS[0])).status_code
            )
            statuses.append(client.get(f"/s/{code}/vraag/2").status_code)
        statuses.append(client.post(f"/s/{code}/vraag/1", data=form({"regio": "x"})).status_code)
        return statuses

    statuses = in_a_server_thread(answer_pages)

    assert statuses == [302] + [302, 200] * 12 + [422]
    assert db.engine.pool.checkedout() == 0
    saved = db.session.scalar(select(Response))
    assert saved.answers["regio"] == "brugge" and saved.last_page == 1


def test_a_page_saved_inside_an_open_transaction_sees_its_uncommitted_rows(app, key_link):
    """Service code that writes and then saves a page (as ``flask demo`` does) must not
    wait for its own write lock: the hot path joins the session's transaction."""
    from campaign.survey.queries import find_visit, response_state
    from campaign.survey.services import save_page, start_response

    response = start_response(key_link)
    response.answers = {"regio": "kust"}  # pending in the session, not committed
    db.session.flush()
    response_id = response.id
    visit = find_visit(key_link.code)
    state = response_state(visit.campaign.id, response_id)
    assert state is not None and state.answers == {"regio": "kust"}

    outcome = save_page(state, 0, form(EXAMPLE_FORMS[0]), campaign=visit.campaign)

    assert outcome.errors == {} and outcome.next_page == 1
    db.session.remove()
    assert db.session.get(Response, response_id).answers["regio"] == "brugge"


def test_the_request_connection_goes_back_when_the_request_ends(app, key_link):
    from flask import g

    from campaign.database import _REQUEST_CONNECTION, hot_connection

    db.session.remove()
    with app.app_context(), app.test_request_context(f"/s/{key_link.code}/vraag/1"):
        hot_connection()
        # Kept referenced, so that the garbage collector cannot return it to the pool:
        # only the explicit check-in at the end of the request can.
        held = getattr(g, _REQUEST_CONNECTION)
        assert db.engine.pool.checkedout() == 1

    assert db.engine.pool.checkedout() == 0
    assert held is not None


@pytest.mark.parametrize("base_url", ["http://localhost", "http://localhost/enquete"])
def test_a_saved_page_redirects_to_the_address_the_router_builds(app, key_link, base_url):
    """The next page's address is built by hand on the hot path: it must be the route's,
    also when the app is mounted under a prefix."""
    client = app.test_client()
    code = key_link.code
    assert client.post(f"/s/{code}/start", base_url=base_url).status_code == 302

    reply = client.post(f"/s/{code}/vraag/1", data=form(EXAMPLE_FORMS[0]), base_url=base_url)

    with app.test_request_context(base_url=base_url):
        expected = url_for("survey.page", code=code, number=2)
    assert reply.status_code == 302
    assert reply.headers["Location"] == expected
    assert client.get(f"/s/{code}/vraag/2", base_url=base_url).status_code == 200
