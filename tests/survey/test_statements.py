"""The work each survey request does, in SQL statements (issue 8's speed goals rest on it):
one query finds link, campaign and the session's response; the start button answers with
the first page itself; a page save is one conditional UPDATE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from campaign.extensions import db
from tests.survey.conftest import EXAMPLE_FORMS, form


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements run while the block runs (their first word and table), and where
    a transaction began and was committed (BEGIN, COMMIT)."""
    seen: list[str] = []

    def begin(_conn) -> None:
        seen.append("BEGIN")

    def commit(_conn) -> None:
        seen.append("COMMIT")

    def record(_conn, _cursor, statement, *_args) -> None:
        words = statement.split()
        verb = words[0].upper()
        table = next(
            (
                w
                for w, before in zip(words[1:], words[:-1], strict=True)
                if before.upper() in ("FROM", "INTO")
            ),
            words[1] if verb == "UPDATE" else "",
        )
        seen.append(f"{verb} {table}")

    with app.app_context():
        engine = db.engine
    # The test's requests share the test's app context and so its session: start each one
    # with an empty session, as every request in a server does.
    db.session.remove()
    events = (("before_cursor_execute", record), ("begin", begin), ("commit", commit))
    for name, listener in events:
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in events:
            event.remove(engine, name, listener)


def test_each_request_of_a_completion_runs_only_the_statements_it_needs(app, client, key_link):
    code = key_link.code
    db.session.commit()
    with statements(app) as welcome:
        assert client.get(f"/s/{code}").status_code == 200
    # The open counter is the one write of the welcome page, in the transaction that reads.
    assert welcome == ["BEGIN", "UPDATE links", "SELECT links", "COMMIT"]
    with statements(app) as again:
        assert client.get(f"/s/{code}").status_code == 200
    assert again == ["BEGIN", "SELECT links"]  # counted once per browser session

    with statements(app) as start:
        reply = client.post(f"/s/{code}/start")
    assert reply.status_code == 200 and "Over jou en je werk" in reply.text
    # The first page asks for the sector: the sectors are read once, for the new
    # response's sector and for the page's options.  A request that writes reads and
    # writes in one (write) transaction, not a read transaction and then a write one.
    assert start == ["BEGIN", "SELECT links", "SELECT sectors", "INSERT responses", "COMMIT"]

    with statements(app) as page_post:
        reply = client.post(f"/s/{code}/vraag/1", data=form(EXAMPLE_FORMS[0]))
    assert reply.status_code == 302
    assert page_post == ["BEGIN", "SELECT links", "SELECT sectors", "UPDATE responses", "COMMIT"]

    with statements(app) as refused:
        reply = client.post(f"/s/{code}/vraag/2", data={"action": "next"})
    assert reply.status_code == 422
    # Nothing to store: the write transaction ends before the page with its errors is drawn.
    assert refused == ["BEGIN", "SELECT links", "COMMIT"]

    with statements(app) as page_get:
        assert client.get(f"/s/{code}/vraag/2").status_code == 200
    assert page_get == ["BEGIN", "SELECT links"]  # the response came with the link

    for number, data in enumerate(EXAMPLE_FORMS[1:-1], start=2):
        client.post(f"/s/{code}/vraag/{number}", data=form(data))
    with statements(app) as last:
        reply = client.post(f"/s/{code}/vraag/7", data=form(EXAMPLE_FORMS[-1]))
    # The completing POST answers with the thank-you page itself (no redirect to it).
    assert reply.status_code == 200 and "Hartelijk dank" in reply.text
    assert f'content="/s/{code}/bedankt"' in reply.text
    # Nothing for the results: their counts and CSV rows are made when they are read
    # (campaign.results.tally.catch_up, export_lines.refresh), not on the hot path.
    assert last == [
        "BEGIN",
        "SELECT links",
        "UPDATE responses",
        "INSERT draw_tickets",
        "INSERT links",
        "COMMIT",
    ]

    with statements(app) as thanks:
        assert client.get(f"/s/{code}/bedankt").status_code == 200
    assert thanks == ["BEGIN", "SELECT links"]
