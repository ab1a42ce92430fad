"""Backups (issue 13, item 6): ``flask backup create`` while the app writes, ``flask backup
restore`` into a fresh database, on SQLite and PostgreSQL, as real processes; the restored
database holds the same rows, passes ``flask db check`` and serves the app."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from campaign import clock
from campaign.contacts.services import save_key_figure
from campaign.database import begin_write
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.demo import DEMO_EMAIL, DEMO_PASSWORD
from campaign.extensions import db
from campaign.history import record_event
from campaign.models import Campaign, CampaignEvent, Draw, DrawEntry, KeyFigure, Message, Response
from campaign.survey.draw import enter_draw, issue_ticket
from tests.conftest import EXAMPLE_CAMPAIGN, PG_URL

ROOT = Path(__file__).resolve().parent.parent
SLUG = "eerste-hulp-digitale-vragen"


def flask(url: str, *args: str, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    """``flask ARGS`` in a process of its own on the database ``url``; its output."""
    environment = {
        **os.environ,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": url,
        "CAMPAIGN_SECRET_KEY": "test-secret-key-that-is-long-enough",
        "CAMPAIGN_OUTBOX_DIR": str(tmp_path / "outbox"),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind, never migrated: the restore's target."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    base = make_url(PG_URL)
    name = f"{base.database or 'campaign_test'}_restore_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        counts = {
            name: connection.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0 for name in names
        }
    engine.dispose()
    return counts


def campaign_with_a_draw(url: str, tmp_path: Path) -> None:
    """The demo campaign (key figures, invitations, channels, responses), six draw entries,
    the close, and the draw, through the app's own commands and services."""
    flask(url, "demo", "--respondents", "30", tmp_path=tmp_path)
    db.session.remove()
    campaign = db.session.scalars(select(Campaign).where(Campaign.slug == SLUG)).one()
    for number in range(6):
        begin_write()
        ticket = issue_ticket(campaign.id)
        db.session.commit()
        enter_draw(campaign, ticket, f"deelnemer{number}@example.org", True)
    begin_write()
    campaign.closes_at = clock.now() - timedelta(hours=2)  # closed, and its grace is over
    db.session.commit()
    db.session.remove()
    flask(url, "draw", "run", SLUG, tmp_path=tmp_path)


class Writer(threading.Thread):
    """Coordinators' events written one by one, each in its own transaction, until stopped."""

    def __init__(self, app: Flask) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.written = 0
        self.started_writing = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                campaign = db.session.scalars(select(Campaign)).one()
                while not self.stopping.is_set():
                    begin_write()
                    record_event(campaign, "settings_changed", actor="schrijver", n=self.written)
                    db.session.commit()
                    self.written += 1
                    time.sleep(0.005)  # a busy coordinator, not a flood
                    if self.written >= 5:
                        self.started_writing.set()
                db.session.remove()
        except BaseException as error:  # shown by the test
            self.error = error
            self.started_writing.set()


def values(url: str) -> dict[str, object]:
    """A few values that must come back exactly."""
    engine = create_engine(url)
    with engine.connect() as connection:

        def rows(statement: object) -> list[tuple[object, ...]]:
            return [tuple(row) for row in connection.execute(statement)]  # type: ignore[call-overload]

        found: dict[str, object] = {
            "campaign": rows(select(Campaign.slug, Campaign.title, Campaign.closes_at)),
            "key_figures": rows(select(KeyFigure.email, KeyFigure.reach).order_by(KeyFigure.id)),
            "messages": rows(
                select(Message.id, Message.kind, Message.status, Message.subject).order_by(
                    Message.id
                )
            ),
            "completed": rows(
                select(Response.id).where(Response.completed_at.is_not(None)).order_by(Response.id)
            ),
            "entries": rows(select(DrawEntry.receipt).order_by(DrawEntry.receipt)),
            "draw": rows(select(Draw.seed, Draw.winners, Draw.commitment)),
        }
    engine.dispose()
    return found


def writer_numbers(url: str) -> list[int]:
    """The numbers of the writer's events in the database at ``url``, in order."""
    engine = create_engine(url)
    with engine.connect() as connection:
        details = connection.scalars(
            select(CampaignEvent.details).where(CampaignEvent.actor == "schrijver")
        )
        numbers = sorted(int(found["n"]) for found in details)
    engine.dispose()
    return numbers


@pytest.mark.slow
def test_a_backup_made_while_the_app_writes_restores_whole_into_a_fresh_database(
    app: Flask, make_app: Callable[..., Flask], fresh_url: str, tmp_path: Path
):
    source = app.config["SQLALCHEMY_DATABASE_URI"]
    campaign_with_a_draw(source, tmp_path)
    db.session.remove()
    before = table_counts(source)
    assert before["draw_entries"] == 6 and before["responses"] == 30
    assert before["messages"] > 40 and before["key_figures"] == 40  # invitations, winner mails

    # One backup while a writer writes ...
    writer = Writer(make_app())
    writer.start()
    assert writer.started_writing.wait(timeout=120), "the writer never wrote"
    written_before = writer.written
    during = tmp_path / "tijdens.backup"
    flask(source, "backup", "create", str(during), tmp_path=tmp_path)
    written_during = writer.written - written_before
    writer.stopping.set()
    writer.join(timeout=60)
    assert writer.error is None, writer.error
    assert written_during > 0  # the app wrote while the backup was made
    assert during.stat().st_mode & 0o077 == 0  # names and addresses: the owner's alone
    assert not list(tmp_path.glob(".*.partial"))

    output = flask(fresh_url, "backup", "restore", str(during), tmp_path=tmp_path)
    assert "teruggezet" in output
    flask(fresh_url, "db", "check", tmp_path=tmp_path)
    # ... holds one consistent moment: every row but the writer's as before, and of the
    # writer's events the first ones, without a gap.
    events = "campaign_events"
    restored = table_counts(fresh_url)
    assert {t: n for t, n in restored.items() if t != events} == {
        t: n for t, n in before.items() if t != events
    }
    numbers = writer_numbers(fresh_url)
    assert numbers == list(range(len(numbers)))
    assert len(numbers) >= written_before

    # ... and one after the writes, restored over it (--replace), holds every row.
    after = tmp_path / "na.backup"
    flask(source, "backup", "create", str(after), tmp_path=tmp_path)
    flask(fresh_url, "backup", "restore", "--replace", str(after), tmp_path=tmp_path)
    flask(fresh_url, "db", "check", tmp_path=tmp_path)
    assert table_counts(fresh_url) == table_counts(source)
    assert writer_numbers(fresh_url) == list(range(writer.written))
    assert values(fresh_url) == values(source)
    draw = values(fresh_url)["draw"]
    assert draw and draw[0][0]  # type: ignore[index]  # the revealed seed

    restored_app = make_app(SQLALCHEMY_DATABASE_URI=fresh_url)
    with restored_app.app_context():
        client = restored_app.test_client()
        reply = client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert reply.status_code == 302
        page = client.get(f"/dashboard/{SLUG}/")
        assert page.status_code == 200
        assert "Eerste hulp bij digitale vragen" in page.get_data(as_text=True)
        public = client.get(f"/trekking/{SLUG}").get_data(as_text=True)
        assert values(source)["entries"][0][0] in public  # type: ignore[index]
        assert client.get("/health?check=database").status_code == 200
        db.session.remove()
        db.engine.dispose()


def test_a_restore_over_a_database_with_tables_needs_replace(app, runner, tmp_path):
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), "voorbeeld.yaml")
    campaign = load_campaign(spec).campaign
    save_key_figure(campaign, name="Blijft", email="blijft@example.org")
    backup = tmp_path / "campagne.backup"
    result = runner.invoke(args=["backup", "create", str(backup)])
    assert result.exit_code == 0, result.output
    save_key_figure(campaign, name="Later", email="later@example.org")
    db.session.remove()

    refused = runner.invoke(args=["backup", "restore", str(backup)])
    assert refused.exit_code == 1
    assert "bevat al tabellen" in refused.output and "--replace" in refused.output
    assert db.session.scalar(select(func.count()).select_from(KeyFigure)) == 2
    db.session.remove()

    result = runner.invoke(args=["backup", "restore", "--replace", str(backup)])
    assert result.exit_code == 0, result.output
    emails = set(db.session.scalars(select(KeyFigure.email)))
    assert emails == {"blijft@example.org"}  # the state of the backup, the later one gone
    assert runner.invoke(args=["db", "check"]).exit_code == 0


@pytest.mark.parametrize("start", [b"PGDMP\x01\x0e\x00", b"SQLite format 3\x00", b"hallo"])
def test_a_restore_refuses_a_file_that_is_no_backup_of_this_kind_of_database(
    app, runner, tmp_path, start
):
    kind = db.engine.url.get_backend_name()
    wrong = tmp_path / "ander.backup"
    wrong.write_bytes(start + b"\x00" * 100)
    result = runner.invoke(args=["backup", "restore", "--replace", str(wrong)])
    matches = (kind == "sqlite") == start.startswith(b"SQLite")
    if start == b"hallo":
        assert result.exit_code == 1 and "geen back-up" in result.output
    elif not matches:
        assert result.exit_code == 1 and f"de ingestelde databank is {kind}" in result.output
    else:  # right kind, but damaged: refused, and the database left as it was
        assert result.exit_code == 1
    assert runner.invoke(args=["db", "check"]).exit_code == 0


def test_the_timers_script_writes_a_dated_backup_and_removes_the_old_ones(app, runner, tmp_path):
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), "voorbeeld.yaml")
    save_key_figure(load_campaign(spec).campaign, name="Bewaard", email="bewaard@example.org")
    db.session.remove()
    folder = tmp_path / "backups"
    folder.mkdir()
    old, recent, other = (
        folder / "campagnetool-20260101T000000Z.backup",
        folder / "campagnetool-20261120T000000Z.backup",
        folder / "notities.txt",
    )
    for path, days in ((old, 30), (recent, 3), (other, 30)):
        path.write_text("oud")
        moment = clock.now().timestamp() - days * 86400
        os.utime(path, (moment, moment))
    environment = {
        **os.environ,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "CAMPAIGN_SECRET_KEY": "test-secret-key-that-is-long-enough",
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "backup.sh"), str(folder), "14"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert str(old) in done.stdout  # named as it is removed
    made = sorted(set(folder.glob("campagnetool-*.backup")) - {recent})
    assert len(made) == 1 and not old.exists() and recent.exists() and other.exists()
    assert made[0].stat().st_mode & 0o077 == 0

    result = runner.invoke(args=["backup", "restore", "--replace", str(made[0])])
    assert result.exit_code == 0, result.output
    assert set(db.session.scalars(select(KeyFigure.email))) == {"bewaard@example.org"}
