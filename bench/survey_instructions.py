"""Instructions per survey page POST, in-process, counted by valgrind (repeatable).

Wall-clock figures on a shared 2-core machine move by 10-20 % from run to
run; an instruction count does not (about 1 %), so it shows whether a change
to the survey's hot path made it cheaper.  It calls the app's WSGI function
directly (no server, no network) with one POST: page one of the example
questionnaire (sector, single choices with "other", a number), CSRF on,
cycling through 200 respondents started beforehand (signed session cookies
and CSRF tokens made in-process).  It measures the page-one POST alone, the
hot path of earlier rounds; bench_survey.py measures full completions.

Two runs under ``valgrind --tool=callgrind`` (50 warm-up POSTs,
then 0 or 300 more); the difference divided by 300 is printed.

Needs valgrind (``apt-get install -y valgrind``).

Run: .venv/bin/python bench/survey_instructions.py [--posts 300]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARM_UP = 50
EXAMPLE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
SECRET = "benchmark-secret-key-that-is-long-enough"
PAGE_ONE = [
    ("sector", "onderwijs"),
    ("organisatietype", "__other__"),
    ("organisatietype__other", "Samenwerkingsverband"),
    ("rol", "trajectbegeleider"),
    ("regio", "brugge"),
    ("ervaring_jaren", "7"),
    ("frequentie_hulpvragen", "wekelijks"),
]


def prepare_survey(db_path: Path, pool: int) -> tuple[str, list[tuple[str, str]]]:
    """Migrate, load the example campaign (opened), start ``pool`` responses.

    Returns the key figure's link code and (session cookie, CSRF token) pairs.
    """
    from flask import g, session
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf

    from campaign import create_app
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure
    from campaign.definitions.loader import read_campaign_file
    from campaign.definitions.services import load_campaign
    from campaign.extensions import db
    from campaign.survey.services import start_response

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    with app.app_context():
        upgrade()
        spec = read_campaign_file(EXAMPLE)
        spec.schedule.opens_at = datetime(2020, 1, 1)
        spec.schedule.reminder_at = None
        spec.schedule.closes_at = datetime(2099, 12, 31)
        spec.schedule.results_due = None
        campaign = load_campaign(spec).campaign
        key_figure = save_key_figure(campaign, name="Bench", email="bench@example.org")
        link = root_link(key_figure)
        db.session.commit()
        code = link.code
        serializer = app.session_interface.get_signing_serializer(app)
        sessions = []
        for _ in range(pool):
            response = start_response(link)
            with app.test_request_context():
                g.pop("csrf_token", None)  # Flask-WTF caches the token on g (the app context's)
                session["response"] = {str(campaign.id): response.id}
                token = generate_csrf()
                sessions.append((serializer.dumps(dict(session)), token))
        db.session.remove()
        db.engine.dispose()
    return code, sessions


def post_pages(database: Path, meta: Path, count: int) -> None:
    """Warm up, then POST page one ``count`` times (run under valgrind)."""
    from werkzeug.test import EnvironBuilder

    from campaign import create_app

    code, sessions = json.loads(meta.read_text(encoding="utf-8"))
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    body = urlencode(PAGE_ONE)

    def post(i: int) -> None:
        cookie, token = sessions[i % len(sessions)]
        environ = EnvironBuilder(
            path=f"/s/{code}/vraag/1",
            method="POST",
            data=f"{body}&csrf_token={token}",
            content_type="application/x-www-form-urlencoded",
            headers={"Cookie": f"session={cookie}"},
        ).get_environ()
        statuses = []
        for _chunk in app.wsgi_app(environ, lambda status, *_: statuses.append(status)):
            pass
        if not statuses[0].startswith("302"):
            raise SystemExit(f"unexpected reply {statuses[0]}")

    for i in range(WARM_UP + count):
        post(i)


def counted(work: Path, count: int) -> int:
    """Instructions of one run with ``count`` measured POSTs, on a fresh copy of the database."""
    database = work / "run.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(work / "prepared.sqlite3", database)
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--run",
        str(database),
        str(work / "meta.json"),
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stderr
    return int(re.search(r"Collected\s*:\s*(\d+)", output).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        post_pages(Path(args.run[0]), Path(args.run[1]), int(args.run[2]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found: install it with `apt-get install -y valgrind`", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="survey-instructions-"))
    try:
        code, sessions = prepare_survey(work / "prepared.sqlite3", 200)
        (work / "meta.json").write_text(json.dumps([code, sessions]), encoding="utf-8")
        baseline = counted(work, 0)
        measured = counted(work, args.posts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_post = (measured - baseline) / args.posts
    print(f"instructions per page-one POST (in-process, CSRF on): {per_post / 1e6:.2f} M")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
