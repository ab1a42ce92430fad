"""Logins, refused pages and their log lines (ASVS V16.2.2, V16.3.1, V16.3.2), and no
cached copy of a dashboard or login page (V14.3.2).

The log test runs the app in a process of its own, so the log lines are the ones its
real handler writes (under pytest, Flask leaves its handler off for pytest's own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from campaign.auth import roles
from campaign.auth.services import create_coordinator
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, ROOT

UNKNOWN = "onbekend-adres@example.org"

SCRIPT = textwrap.dedent(
    """
    import sys
    from campaign import create_app

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": sys.argv[1],
        "OUTBOX_DIR": sys.argv[2],
        "UPLOAD_DIR": sys.argv[2],
    })
    def login(client, email, password, **extra):
        reply = client.post("/login", data={"email": email, "password": password, **extra})
        print("status", reply.status_code, flush=True)

    client = app.test_client()
    login(client, sys.argv[3], "fout-wachtwoord-123")
    login(client, sys.argv[4], "nog-een-geheim-123")
    login(client, sys.argv[3], sys.argv[5], remember="y")
    client.post("/logout")
    viewer = app.test_client()
    login(viewer, "kijker@example.org", sys.argv[5])
    print("status", viewer.post("/dashboard/nieuw").status_code, flush=True)
    """
)


def test_logins_logouts_and_refusals_are_logged_in_utc_without_secrets(
    app, database_url, coordinator, tmp_path
):
    create_coordinator("kijker@example.org", COORDINATOR_PASSWORD, role=roles.VIEWER)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            database_url,
            str(tmp_path / "out"),
            COORDINATOR_EMAIL,
            UNKNOWN,
            COORDINATOR_PASSWORD,
        ],
        cwd=ROOT,
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["status", "200", "status", "200", "status", "302"] + [
        "status",
        "302",
        "status",
        "403",
    ]
    log = result.stderr
    lines = [line for line in log.splitlines() if " campaign." in line]
    # Every line starts with its time in UTC, with the offset (ISO 8601).
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ")
    assert lines and all(stamp.match(line) for line in lines), lines
    expected = [
        rf"WARNING campaign\.auth\.services \[-\] login failed: wrong password for coordinator {coordinator.id}$",
        r"WARNING campaign\.auth\.services \[-\] login failed: no account with that address$",
        rf"INFO campaign\.auth\.services \[-\] login of coordinator {coordinator.id}$",
        rf"INFO campaign\.auth\.services \[{COORDINATOR_EMAIL}\] "
        rf"logout of coordinator {coordinator.id}: its sessions end$",
        r"WARNING campaign\.auth\.access \[kijker@example\.org\] "
        r"access refused \(403\): POST definitions\.new_campaign$",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in lines), (pattern, lines)
    # Never a password, nor the address tried for an account that does not exist.
    for secret in ("fout-wachtwoord-123", "nog-een-geheim-123", COORDINATOR_PASSWORD, UNKNOWN):
        assert secret not in log


def test_dashboard_and_login_pages_are_never_cached(client, auth, example_campaign):
    slug = example_campaign.slug
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    auth.login()
    for path in (
        "/dashboard/",
        f"/dashboard/{slug}/",
        f"/dashboard/{slug}/sleutelfiguren/",
        f"/dashboard/{slug}/team/",
        f"/dashboard/{slug}/logboek/",
        f"/dashboard/{slug}/resultaten/",
        "/dashboard/wachtwoord/",
        "/dashboard/bestaat-niet/",  # a 404 under /dashboard/
    ):
        with client.get(path) as reply:
            assert reply.status_code in (200, 404), path
            assert reply.headers["Cache-Control"] == "no-store", path
    # A download of the dashboard is not kept either.
    with client.get(f"/dashboard/{slug}/sleutelfiguren/sjabloon.csv") as reply:
        assert reply.status_code == 200
        assert reply.headers["Cache-Control"] == "no-store"
    # The same plotly script for everyone keeps its month in the browser's cache.
    with client.get("/dashboard/static/plotly.min.js") as reply:
        assert reply.headers["Cache-Control"].startswith("public, max-age=")
    # The public survey side keeps its own caching.
    with client.get("/static/css/app.css") as reply:
        assert "no-store" not in reply.headers.get("Cache-Control", "")
