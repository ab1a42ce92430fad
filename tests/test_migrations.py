"""The migrations make exactly the schema the models declare (``flask db check``), on the
test databases, which are made by running every migration; and a database left at any
earlier revision, with rows in it, reaches head with ``flask db upgrade``, on SQLite and
PostgreSQL, its rows kept."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from campaign import ROOT, create_app
from campaign.extensions import db
from tests.conftest import BACKENDS, PG_URL, base_config


def test_the_migrated_schema_equals_the_models(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def revisions() -> list[str]:
    """Every revision in migrations/versions, oldest first (0001 .. head)."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own that no migration has touched yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'oud.sqlite3'}"
        return
    base = sa.make_url(PG_URL)
    name = f"{base.database or 'campaign_test'}_oud_{os.getpid()}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


WHEN = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
ORGANISERS = ["POM West-Vlaanderen", "Huis van het Leren"]
QUESTIONNAIRE = {
    "pages": [
        {
            "title": "Over jou",
            "questions": [
                {"id": "sector", "type": "sector", "text": "Sector", "required": True},
                {"id": "uren", "type": "number", "text": "Uren", "min": 0, "max": 40},
            ],
        }
    ]
}


def rows_of_revision_0001(connection: sa.Connection) -> None:
    """A campaign with a sector, a key figure and its link, a completed response, a sent
    invitation and a coordinator, in the tables as revision 0001 made them (Core
    statements on the reflected tables, not the models of today)."""
    tables = sa.MetaData()
    tables.reflect(connection)
    t = tables.tables
    campaign = connection.execute(
        t["campaigns"]
        .insert()
        .values(
            id=1,
            slug="oud",
            title="Een oude campagne",
            timezone="Europe/Brussels",
            opens_at=WHEN,
            closes_at=datetime(2027, 9, 15, 21, 59, tzinfo=UTC),
            questionnaire_version=1,
            questionnaire_hash="0" * 64,
            created_at=WHEN,
            updated_at=WHEN,
            organisers=ORGANISERS,
            prizes=[],
            mail_settings={},
            intro="Welkom",
            privacy="Anoniem",
            questionnaire=QUESTIONNAIRE,
        )
    ).inserted_primary_key[0]
    sector = connection.execute(
        t["sectors"]
        .insert()
        .values(
            id=1,
            campaign_id=campaign,
            code="welzijn",
            name="Welzijn",
            examples=[],
            target=4,
            position=0,
        )
    ).inserted_primary_key[0]
    key_figure = connection.execute(
        t["key_figures"]
        .insert()
        .values(
            id=1,
            campaign_id=campaign,
            name="An Peeters",
            email="an@example.org",
            organisation="CAW",
            sector_id=sector,
            network="",
            reach=25,
            created_at=WHEN,
            updated_at=WHEN,
        )
    ).inserted_primary_key[0]
    link = connection.execute(
        t["links"]
        .insert()
        .values(
            id=1,
            code="oudelink1234",
            campaign_id=campaign,
            key_figure_id=key_figure,
            open_count=2,
            created_at=WHEN,
        )
    ).inserted_primary_key[0]
    connection.execute(
        t["responses"]
        .insert()
        .values(
            id="r" * 32,
            campaign_id=campaign,
            link_id=link,
            sector_id=sector,
            started_at=WHEN,
            updated_at=WHEN,
            completed_at=WHEN,
            last_page=0,
            answers={"sector": "welzijn", "uren": 12},
            questionnaire_version=1,
        )
    )
    connection.execute(
        t["messages"]
        .insert()
        .values(
            id=1,
            campaign_id=campaign,
            kind="invitation",
            round=1,
            recipient_email="an@example.org",
            key_figure_id=key_figure,
            message_id="<oud@example.org>",
            subject="Help je mee?",
            body_text="Beste An",
            body_html="<p>Beste An</p>",
            headers={},
            status="sent",
            attempts=1,
            created_at=WHEN,
            sent_at=WHEN,
        )
    )
    connection.execute(
        t["coordinators"]
        .insert()
        .values(id=1, email="co@example.org", name="Co", password_hash="x", created_at=WHEN)
    )


def app_on(url: str, tmp_path: Path) -> Flask:
    return create_app({**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})


@pytest.mark.slow
@pytest.mark.parametrize("revision", revisions())
def test_a_database_at_any_earlier_revision_upgrades_to_head_with_its_rows(
    empty_url: str, tmp_path: Path, revision: str
):
    app = app_on(empty_url, tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0001")
            with db.engine.begin() as connection:
                rows_of_revision_0001(connection)
            upgrade(revision=revision)
            db.engine.dispose()

        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
        with app.app_context(), db.engine.connect() as connection:
            assert_rows_kept(connection)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def assert_rows_kept(connection: sa.Connection) -> None:
    def rows(query: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in connection.execute(sa.text(query))]

    assert rows("SELECT slug, title FROM campaigns") == [("oud", "Een oude campagne")]
    assert rows("SELECT code, name, target FROM sectors") == [("welzijn", "Welzijn", 4)]
    # 0005 gave the key figure its campaign's first organiser as partner.
    assert rows("SELECT email, reach, partner, sector_id FROM key_figures") == [
        ("an@example.org", 25, ORGANISERS[0], 1)
    ]
    # 0006 gave the campaign a seed and its commitment.
    seed, commitment = connection.execute(sa.text("SELECT seed, commitment FROM draws")).one()
    assert commitment == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    assert connection.scalar(sa.text("SELECT draw_commitment FROM campaigns")) == commitment
    assert rows("SELECT code, key_figure_id, open_count FROM links") == [("oudelink1234", 1, 2)]
    answers = connection.scalar(sa.text("SELECT answers FROM responses"))
    if isinstance(answers, str):  # SQLite hands JSON back as text
        answers = json.loads(answers)
    assert answers == {"sector": "welzijn", "uren": 12}
    assert rows("SELECT link_id, sector_id FROM responses") == [(1, 1)]
    assert rows("SELECT subject, status, key_figure_id FROM messages") == [
        ("Help je mee?", "sent", 1)
    ]
    assert rows("SELECT email FROM coordinators") == [("co@example.org",)]
