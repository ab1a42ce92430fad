"""``/health``: 200 while a real scheduler process beats and the database answers; 503
naming the failing check when the scheduler is silent or stale (the banner's setting),
or when the database is unreachable; never a cookie, a cached answer, a rate limit, a
detail about the server or a traceback."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from campaign import clock, create_app
from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import SchedulerHeartbeat
from tests.conftest import base_config, free_port

ROOT = Path(__file__).resolve().parent.parent.parent

#: A scheduler with a fast heartbeat; everything else its defaults.
FAST = {"CAMPAIGN_SCHEDULER_TICK_SECONDS": "0.3", "CAMPAIGN_MAIL_POLL_SECONDS": "0.3"}


def beat(seconds_ago: float) -> None:
    """A heartbeat row as a scheduler writes it, ``seconds_ago`` old."""
    seen = clock.now() - timedelta(seconds=seconds_ago)
    begin_write()
    db.session.add(SchedulerHeartbeat(identity="host:1", started_at=seen, seen_at=seen))
    db.session.commit()


@pytest.fixture
def scheduler_process(app: Flask, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """``flask scheduler run`` as a process of its own, on the test's database."""
    environment = {
        **{k: v for k, v in os.environ.items() if k != "CAMPAIGN_FAILPOINTS"},
        **FAST,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "CAMPAIGN_SECRET_KEY": app.config["SECRET_KEY"],
        "CAMPAIGN_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    if process.poll() is None:
        process.kill()
    _out, err = process.communicate(timeout=60)
    if err:
        print(f"--- scheduler (exit {process.returncode}):\n{err.decode()}")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


def test_a_running_scheduler_and_a_database_that_answers_give_200(app, client, scheduler_process):
    wait_for(lambda: client.get("/health").status_code == 200, "the scheduler's heartbeat")
    reply = client.get("/health")
    assert reply.json == {"status": "ok", "checks": {"database": "ok", "scheduler": "ok"}}
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.mimetype == "application/json"
    assert "Set-Cookie" not in reply.headers

    # Stopped as systemd stops it, the scheduler signs off: the next probe says so.
    scheduler_process.send_signal(signal.SIGTERM)
    assert scheduler_process.wait(timeout=60) == 0
    reply = client.get("/health")
    assert reply.status_code == 503
    assert reply.json == {"status": "failing", "checks": {"database": "ok", "scheduler": "failing"}}


def test_no_heartbeat_at_all_is_a_503_on_the_scheduler_check(client):
    reply = client.get("/health")
    assert reply.status_code == 503
    assert reply.json == {"status": "failing", "checks": {"database": "ok", "scheduler": "failing"}}
    assert reply.headers["Cache-Control"] == "no-store"


def test_a_heartbeat_older_than_the_banners_limit_is_failing(app, client):
    beat(seconds_ago=200)  # the banner's default limit: 180 s
    assert client.get("/health").status_code == 503
    app.config["SCHEDULER_BANNER_SECONDS"] = 300  # the same setting moves both
    assert client.get("/health").status_code == 200
    assert client.get("/health").json["checks"]["scheduler"] == "ok"


def test_the_load_balancers_check_asks_the_database_alone(client):
    """A silent scheduler must not take the web servers out of the pool."""
    reply = client.get("/health?check=database")
    assert reply.status_code == 200
    assert reply.json == {"status": "ok", "checks": {"database": "ok"}}
    reply = client.get("/health?check=scheduler")
    assert reply.status_code == 503
    assert reply.json == {"status": "failing", "checks": {"scheduler": "failing"}}
    assert client.head("/health?check=database").status_code == 200


@pytest.mark.parametrize("query", ["?check=db", "?check=database&verbose=1", "?chek=database"])
def test_an_unknown_check_or_parameter_is_a_400(client, query):
    reply = client.get(f"/health{query}")
    assert reply.status_code == 400
    assert reply.json["status"] == "bad request"
    assert reply.headers["Cache-Control"] == "no-store"


def test_the_probe_is_never_rate_limited_and_sets_no_cookie(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        beat(seconds_ago=1)
        client = app.test_client()
        for _ in range(300):  # more than any limit of the app allows in an hour
            reply = client.get("/health")
            assert reply.status_code == 200
            assert "Set-Cookie" not in reply.headers
        db.session.remove()


def unreachable_app(url: str, tmp_path: Path) -> Flask:
    return create_app({**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_an_unreachable_database_is_a_503_without_details_or_traceback(tmp_path, caplog, kind):
    if kind == "postgresql":  # a port nothing listens on: the connection is refused
        url = f"postgresql+psycopg://campagne:geheim@127.0.0.1:{free_port()}/campagne"
    else:  # a file in a folder that does not exist: it cannot be opened
        url = f"sqlite:///{tmp_path / 'weg' / 'campaign.sqlite3'}"
    app = unreachable_app(url, tmp_path)
    caplog.set_level(logging.INFO)
    with app.app_context():
        client = app.test_client()
        for path in ("/health", "/health?check=database"):
            reply = client.get(path)
            assert reply.status_code == 503, reply.get_data(as_text=True)
            expected = dict.fromkeys(reply.json["checks"], "failing")
            assert reply.json == {"status": "failing", "checks": expected}
            body = reply.get_data(as_text=True)
            for detail in ("psycopg", "sqlite", "refused", "geheim", "127.0.0.1", str(tmp_path)):
                assert detail not in body
        db.session.remove()
        db.engine.dispose()
    assert caplog.records, "the failing check is logged"
    for record in caplog.records:
        assert record.exc_info is None and record.levelno < logging.ERROR, record.getMessage()
        assert "geheim" not in record.getMessage()
    assert any("health check database failing" in r.getMessage() for r in caplog.records)
