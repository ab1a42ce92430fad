"""Instructions per survey page POST, in-process, counted by valgrind (repeatable).

Wall-clock figures on a shared 2-core machine move by 10-20 % from run to
run; an instruction count does not (about 1 %), so it shows whether a change
to the survey's hot path made it cheaper.  It calls the app's WSGI function
directly (no server, no network) with the same POST as ``bench_survey.py``:
page one of the example questionnaire, CSRF on, cycling through 200 prepared
respondents.  Two runs under ``valgrind --tool=callgrind`` (50 warm-up POSTs,
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
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WARM_UP = 50


def post_pages(database: Path, meta: Path, count: int) -> None:
    """Warm up, then POST page one ``count`` times (run under valgrind)."""
    import bench_survey
    from werkzeug.test import EnvironBuilder

    from campaign import create_app

    code, sessions = json.loads(meta.read_text(encoding="utf-8"))
    app = create_app(
        {"SECRET_KEY": bench_survey.SECRET, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    body = urlencode(bench_survey.PAGE_ONE)

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
    import bench_survey

    work = Path(tempfile.mkdtemp(prefix="survey-instructions-"))
    try:
        code, sessions = bench_survey.prepare_survey(work / "prepared.sqlite3", 200)
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
