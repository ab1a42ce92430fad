"""Smoke runs of the load and fault scripts under bench/ (issue 13, item 5): each one,
shortened, against real processes (gunicorn, PostgreSQL, ``flask mail send-queued``
senders, an aiosmtpd server), must print its figures and pass its own checks.

The full runs (60 s, 200 clients, 1,000 mails) are the README's figures; these keep
the scripts working as the app changes, and fail when a promise they check breaks
(a lost answer, an error outside a database outage, a mail lost or sent twice).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("CAMPAIGN_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "pg"] if PG_URL else ["sqlite"]


def pg_server() -> str:
    """The PostgreSQL server of the test run, without a database name."""
    url = make_url(PG_URL).render_as_string(hide_password=False)
    return url.rsplit("/", 1)[0]


def run_script(name: str, *args: str) -> str:
    """``bench/<name>`` in a process of its own; its output, asserted to have passed."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *args],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "CAMPAIGN_FAILPOINTS"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "PASS" in done.stdout, output
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_load_survey_completes_without_errors_or_lost_answers(backend):
    extra = ["--pg-url", pg_server()] if backend == "pg" else []
    out = run_script(
        "load_survey.py",
        "--duration",
        "3",
        "--clients",
        "20",
        "--warmup",
        "0",
        "--backends",
        backend,
        *extra,
    )
    assert "errors 0, lost 0" in out


@pytest.mark.slow
def test_pg_restart_costs_errors_only_while_the_server_is_down():
    out = run_script(
        "fault_pg_restart.py", "--duration", "6", "--clients", "20", "--warmup", "0", "--down", "1"
    )
    assert "0 outside the outage, 0 server errors other than 503" in out


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_mail_faults_deliver_every_mail_duplicating_only_the_killed_in_flight(backend):
    extra = ["--pg-url", pg_server()] if backend == "pg" else []
    out = run_script(
        "fault_mail.py",
        "--mails",
        "150",
        "--kills-per-point",
        "1",
        "--lease",
        "2",
        "--backends",
        backend,
        *extra,
    )
    assert "delivered 150/150, not sent in the database 0" in out
