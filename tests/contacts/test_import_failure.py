"""The CSV import stays all or nothing when the real database fails partway through.

A trigger in the test database refuses one row that comes after hundreds of good
ones: either the key figure itself, or the root link made for it after every key
figure of the file was already written.  Nothing of the file may remain, and
the coordinator gets a Dutch message instead of a traceback or a 500.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from campaign.contacts.services import import_key_figures, save_key_figure
from campaign.extensions import db
from campaign.models import Campaign
from tests.contacts.helpers import count_key_figures, count_links, csv_bytes, key_figures_by_email

#: The row the database refuses; it comes last.
REFUSED_EMAIL = "boem@example.org"
REFUSED_NAME = "Bert Boem"
GOOD_ROWS = 400

SQLITE_TRIGGERS = {
    "key_figures": f"""
        CREATE TRIGGER refuse_one BEFORE INSERT ON key_figures
        WHEN NEW.email = '{REFUSED_EMAIL}'
        BEGIN SELECT RAISE(ABORT, 'boom'); END
    """,
    "links": f"""
        CREATE TRIGGER refuse_one BEFORE INSERT ON links
        WHEN (SELECT name FROM key_figures WHERE id = NEW.key_figure_id) = '{REFUSED_NAME}'
        BEGIN SELECT RAISE(ABORT, 'boom'); END
    """,
}
POSTGRESQL_CONDITIONS = {
    "key_figures": f"NEW.email = '{REFUSED_EMAIL}'",
    "links": f"(SELECT name FROM key_figures WHERE id = NEW.key_figure_id) = '{REFUSED_NAME}'",
}


def create_trigger(table: str) -> None:
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text(SQLITE_TRIGGERS[table]))
    else:
        db.session.execute(
            text(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {POSTGRESQL_CONDITIONS[table]} THEN RAISE EXCEPTION 'boom'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        db.session.execute(
            text(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            )
        )
    db.session.commit()


def drop_trigger(table: str) -> None:
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER IF EXISTS refuse_one"))
    else:
        # The PostgreSQL database is shared by the tests of a session: leave it clean.
        db.session.execute(text(f"DROP TRIGGER IF EXISTS refuse_one ON {table}"))
        db.session.execute(text("DROP FUNCTION IF EXISTS refuse_one()"))
    db.session.commit()


@pytest.fixture(params=["key_figures", "links"])
def failing_table(request: pytest.FixtureRequest, example_campaign: Campaign) -> Iterator[str]:
    """A trigger that makes the database refuse the last row of ``big_file`` (its key
    figure, or its link), and a key figure who was already there before the import."""
    save_key_figure(example_campaign, name="Al Bekend", email="bekend@example.org")
    create_trigger(request.param)
    yield request.param
    drop_trigger(request.param)


def big_file() -> bytes:
    rows = [f"Persoon {n};persoon{n}@example.org;Org {n};welzijn" for n in range(GOOD_ROWS)]
    return csv_bytes(
        "Naam;E-mail;Organisatie;Sector",
        "Al Bekend Hernoemd;bekend@example.org;Nieuwe org;onderwijs",  # an update
        *rows,
        f"{REFUSED_NAME};{REFUSED_EMAIL};Org;welzijn",
    )


def assert_nothing_of_the_file_was_written(campaign: Campaign) -> None:
    db.session.expire_all()
    assert count_key_figures(campaign) == 1
    assert count_links(campaign) == 1
    known = key_figures_by_email(campaign)["bekend@example.org"]
    assert (known.name, known.organisation, known.sector) == ("Al Bekend", "", None)


def test_import_rolls_back_everything_when_the_database_fails_partway(
    failing_table, example_campaign
):
    report = import_key_figures(example_campaign, big_file())
    assert not report.accepted and not report.written and report.failed
    assert report.summary().startswith("Niets geïmporteerd: de databank weigerde het opslaan")
    assert_nothing_of_the_file_was_written(example_campaign)


def test_import_command_reports_a_database_failure_in_dutch(
    failing_table, example_campaign, runner, tmp_path
):
    path = tmp_path / "sleutelfiguren.csv"
    path.write_bytes(big_file())
    result = runner.invoke(args=["contacts", "import", example_campaign.slug, str(path)])
    assert result.exit_code == 1
    assert "de databank weigerde het opslaan" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback
    assert_nothing_of_the_file_was_written(example_campaign)


def test_upload_page_reports_a_database_failure_in_dutch(
    failing_table, example_campaign, client, auth
):
    auth.login()
    response = client.post(
        f"/dashboard/{example_campaign.slug}/sleutelfiguren/importeren",
        data={"file": (io.BytesIO(big_file()), "sleutelfiguren.csv"), "submit": "Importeren"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Niet geïmporteerd" in page
    assert "de databank weigerde het opslaan" in page
    assert_nothing_of_the_file_was_written(example_campaign)


def test_the_same_file_imports_once_the_database_accepts_it(failing_table, example_campaign):
    assert import_key_figures(example_campaign, big_file()).failed
    drop_trigger(failing_table)
    report = import_key_figures(example_campaign, big_file())
    assert report.written and (report.new, report.updated) == (GOOD_ROWS + 1, 1)
    assert count_key_figures(example_campaign) == GOOD_ROWS + 2
    assert count_links(example_campaign) == GOOD_ROWS + 2
