"""Database faults: a PostgreSQL restart leaves stale connections in the pool (no request
fails for it); a read-only database still shows the survey's landing and question pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, select, text

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.models import Link
from tests.survey.conftest import EXAMPLE_FORMS, load_example


def make_link(app) -> str:
    with app.app_context():
        campaign = load_example()
        key_figure = save_key_figure(
            campaign, name="An", email="an@example.org", organisation="CAW", sector_code="welzijn"
        )
        code = root_link(key_figure).code
        db.session.remove()
    return code


def open_count(app, code: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(Link.open_count).where(Link.code == code))
        db.session.remove()
    return int(count or 0)


def admin_engine(database_url: str):
    return create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def terminate_backends(database_url: str) -> int:
    """Ends every server process connected to this test's database (a server restart, as
    far as the app's pooled connections can tell)."""
    name = make_url(database_url).database
    engine = admin_engine(database_url)
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar()
    engine.dispose()
    return int(ended or 0)


@pytest.mark.postgresql_only
def test_stale_pooled_connections_after_a_restart_cost_no_request(make_app, database_url):
    app = make_app()
    code = make_link(app)
    client = app.test_client()
    assert client.get(f"/s/{code}").status_code == 200
    assert terminate_backends(database_url) >= 1  # the pooled connection's server process
    for path in (f"/s/{code}", f"/s/{code}"):
        reply = app.test_client().get(path)
        assert reply.status_code == 200
    assert open_count(app, code) == 3


@contextlib.contextmanager
def read_only(make_app, database_url: str) -> Iterator[object]:
    """An app on this test's database that cannot write: SQLite opened read-only,
    PostgreSQL with read-only transactions for every new connection."""
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        yield make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true")
        return
    name = make_url(database_url).database
    engine = admin_engine(database_url)
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    terminate_backends(database_url)
    try:
        yield make_app()
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        terminate_backends(database_url)
        engine.dispose()


def test_a_read_only_database_still_shows_the_landing_and_question_pages(make_app, database_url):
    app = make_app()
    code = make_link(app)
    respondent = app.test_client()
    assert respondent.get(f"/s/{code}").status_code == 200
    assert respondent.post(f"/s/{code}/start").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with read_only(make_app, database_url) as frozen:
        # A browser's first visit: the opening cannot be counted, the page is shown.
        reply = frozen.test_client().get(f"/s/{code}")
        assert reply.status_code == 200
        assert "Start de vragenlijst" in reply.get_data(as_text=True)
        # The respondent's own pages, with their cookie.
        respondent.application = frozen  # the same browser, now served by the frozen app
        assert respondent.get(f"/s/{code}").status_code == 200
        assert respondent.get(f"/s/{code}/vraag/1").status_code == 200
    assert open_count(app, code) == 1


def test_a_write_refused_by_a_read_only_database_is_a_dutch_503(make_app, database_url):
    app = make_app()
    code = make_link(app)
    respondent = app.test_client()
    respondent.get(f"/s/{code}")
    assert respondent.post(f"/s/{code}/start").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with read_only(make_app, database_url) as frozen:
        respondent.application = frozen
        reply = respondent.post(f"/s/{code}/vraag/1", data=EXAMPLE_FORMS[0])
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "120"
        text = reply.get_data(as_text=True)
        assert "Tijdelijk niet beschikbaar" in text
        assert "Je antwoorden zijn bewaard tot hier" in text
        # A new visitor has no answers to be kept: the page does not say they are.
        newcomer = frozen.test_client()
        assert newcomer.get(f"/s/{code}").status_code == 200
        refused = newcomer.post(f"/s/{code}/start")
        assert refused.status_code == 503
        text = refused.get_data(as_text=True)
        assert "De vragenlijst is even niet bereikbaar" in text
        assert "bewaard" not in text
