"""Smoke runs of the load and fault scripts under bench/ (issue 13, item 5): each one,
shortened, against real processes (gunicorn, PostgreSQL, ``flask mail send-queued``
senders, an aiosmtpd server), must print its figures and pass its own checks.

The full runs (60 s, 200 clients, 1,000 mails, SQLite and PostgreSQL) are the README's
figures; these keep the scripts working as the app changes, and fail when a promise
they check breaks (a lost answer or opening, an error outside a database outage or
after a restart, a mail lost or sent twice).  The load and the mail runs here are on
SQLite only (their PostgreSQL runs repeat the same checks at twice the time;
tests/mailing/test_crash.py covers the senders on both); the restart is PostgreSQL's,
on a throwaway cluster of the script's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
def test_load_survey_completes_without_errors_or_lost_answers():
    out = run_script(
        "load_survey.py",
        "--duration",
        "3",
        "--clients",
        "20",
        "--warmup",
        "0",
        "--backends",
        "sqlite",
    )
    assert "errors 0, lost 0" in out
    assert "openings counted" in out


@pytest.mark.slow
def test_pg_restart_costs_errors_only_while_the_server_is_down():
    out = run_script(
        "fault_pg_restart.py",
        *("--duration", "3", "--clients", "20", "--warmup", "0", "--down", "0.5", "--after", "1.5"),
    )
    assert "0 outside the outage, 0 server errors other than 503" in out
    assert "idle restart" in out


@pytest.mark.slow
def test_mail_faults_deliver_every_mail_duplicating_only_the_killed_in_flight():
    out = run_script(
        "fault_mail.py",
        *("--mails", "100", "--kills-per-point", "1", "--lease", "2", "--backends", "sqlite"),
    )
    assert "delivered 100/100, not sent in the database 0" in out
