"""Shared fixtures: the app on a real database, a real SMTP server, a real browser.

Every test that uses ``app`` runs once on SQLite and, when
``CAMPAIGN_TEST_DATABASE_URL`` is set, once more on PostgreSQL.  The schema
always comes from the Alembic migrations (``flask db upgrade``), never from
``create_all``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from campaign import create_app
from campaign.auth.services import create_coordinator
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Campaign

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CAMPAIGN = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
PG_URL = os.environ.get("CAMPAIGN_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]

COORDINATOR_EMAIL = "coordinator@example.org"
COORDINATOR_PASSWORD = "een-lang-wachtwoord"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") == "true" and not PG_URL:
        raise pytest.UsageError(
            "CI=true but CAMPAIGN_TEST_DATABASE_URL is not set: the PostgreSQL run is required in CI."
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the PostgreSQL run of tests marked ``sqlite_only``."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "postgresql"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough",
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": None,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "BASE_URL": "http://campagne.example.org",
        # Rate limits off, so that many logins in one test never trip them; the tests of
        # the limits (tests/security/test_ratelimits.py) switch them on.
        "RATELIMIT_ENABLED": False,
        # Tests move the campaign clock on by months within one login (the close, the
        # draw); the idle timeout's own tests (tests/auth/test_sessions.py) set it back.
        "COORDINATOR_IDLE_TIMEOUT": 10 * 365 * 24 * 3600,
    }


# --- databases -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    app = create_app({**base_config(path.parent), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, migrated once, dropped at the end.

    It is created beside the database CAMPAIGN_TEST_DATABASE_URL names, so
    that two test runs on one server never share tables.
    """
    base = make_url(PG_URL)
    name = f"{base.database or 'campaign_test'}_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    app = create_app({**base_config(Path("/tmp")), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgresql(app: Flask) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "campaign.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgresql_url")


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on this test's database, with config overrides."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        config = {**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": database_url, **overrides}
        app = create_app(config)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            if database_url.startswith("postgresql") and app is made[0]:
                _empty_postgresql(app)
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- data made through the same services users call ----------------------------------


@pytest.fixture
def example_campaign(app: Flask) -> Campaign:
    """The shipped example campaign, loaded as `flask campaign load` would."""
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), str(EXAMPLE_CAMPAIGN))
    return load_campaign(spec).campaign


@pytest.fixture
def coordinator(app: Flask):
    return create_coordinator(COORDINATOR_EMAIL, COORDINATOR_PASSWORD, "Test Coördinator")


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str = COORDINATOR_EMAIL, password: str = COORDINATOR_PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient, coordinator) -> AuthActions:
    return AuthActions(client)


# --- a live server for the browser ----------------------------------------------------


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    port = free_port()
    app.config["BASE_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """``app`` served on a free loopback port; the base URL."""
    with serving(app) as url:
        yield url


# --- a real browser -------------------------------------------------------------------

CHROMIUM = os.environ.get("CAMPAIGN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (its own browser download does not work here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise pytest.UsageError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A page in a 360 px wide phone viewport."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    page = context.new_page()
    yield page
    context.close()


# --- a real SMTP server on loopback -----------------------------------------------------


class SMTPSink:
    """Collects every message a real aiosmtpd server receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()
        #: Optional hook: called with the envelope; return an SMTP reply string to refuse it.
        self.refuse: Callable[[Any], str | None] | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        if self.refuse is not None:
            reply = self.refuse(envelope)
            if reply:
                return reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[SMTPSink, int]]:
    """A real SMTP server on 127.0.0.1; yields (sink, port)."""
    from aiosmtpd.controller import Controller

    sink = SMTPSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask], smtp_server: tuple[SMTPSink, int]) -> Iterator[Flask]:
    """The app configured to send through the loopback SMTP server."""
    _sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False)
    with app.app_context():
        yield app
        db.session.remove()
