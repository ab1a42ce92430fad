"""Where a survey completion's server time goes, per request type (profiling only).

Seeds a fresh database the way bench_survey.py does (``flask db upgrade``,
``flask campaign load``, ``flask contacts import``), then completes the survey
in-process through the app's WSGI function (``wsgi:app``'s ``create_app``,
production config, CSRF on) with Flask's test client as the browser, and
reports per request type (welcome GET, start POST, page GET, page POST,
thanks GET):

- the SQL statements each runs, counted with a SQLAlchemy
  ``before_cursor_execute`` listener (plus BEGIN/COMMIT/ROLLBACK events), with
  the line of our code that issued each and whether it was an expired
  attribute being reloaded (the ORM's lazy refresh after a commit);
- the time per request without a profiler, and with cProfile the share spent
  in Jinja rendering, the CSRF check, the session cookie, SQL execution in the
  driver, SQLAlchemy (compiling, ORM loading, flushing) and the rest.

Nothing here is app code: the listener is attached from outside.  Gunicorn's
own share (parsing, writing, ``close_graceful``) is not in here; measure it
with py-spy on a worker under bench_survey.py's load (see bench/README.md).

Run: .venv/bin/python bench/survey_profile.py [--survey one-page|example]
     [--completions 200] [--backend sqlite|pg]
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_survey as bench  # noqa: E402

KINDS = bench.KINDS
#: (label, predicate on a pstats function key (file, line, name)) for the time split.
BUCKETS: list[tuple[str, Any]] = [
    ("Jinja render", lambda f, n: f.endswith("flask/templating.py") and n == "_render"),
    ("CSRF check", lambda f, n: "flask_wtf/csrf.py" in f and n == "protect"),
    ("session open", lambda f, n: n == "open_session"),
    ("session save", lambda f, n: n == "save_session"),
    ("SQL in driver", lambda f, n: "sqlalchemy/engine/default.py" in f and n == "do_execute"),
    ("commit", lambda f, n: "sqlalchemy/orm/session.py" in f and n == "commit"),
]


class Recorder:
    """Statements per request, with the line of our code that issued each."""

    def __init__(self) -> None:
        self.kind: int | None = None
        self.current: list[tuple[str, str, bool]] = []

    def statement(self, text: str) -> None:
        if self.kind is None:
            return
        stack = traceback.extract_stack()
        ours = [
            f"{Path(fr.filename).relative_to(ROOT)}:{fr.lineno} {fr.name}"
            for fr in stack
            if fr.filename.startswith(str(ROOT / "campaign"))
            or fr.filename.startswith(str(ROOT / "templates"))
        ]
        expired = any(fr.name in ("_load_expired", "_load_scalar_attributes") for fr in stack)
        origin = ours[-1] if ours else "(outside our code)"
        if any("templates/" in o for o in ours):
            origin = next(o for o in reversed(ours) if "templates/" in o) + " (template)"
        self.current.append((" ".join(text.split())[:400], origin, expired))


def seed_database(backend: str, work: Path, survey: bench.Survey, pg_url: str) -> bench.Database:
    db = bench.make_database("profile", backend, work, pg_url)
    bench.seed(ROOT, db, work, [survey])
    return db


def one_completion(
    client: Any, code: str, answers: list[dict[str, Any]], run: Any
) -> list[tuple[int, Any]]:
    """A browser's full completion through the test client; ``run(kind, call)`` wraps each request."""
    client.delete_cookie("session", domain="localhost")
    base = f"/s/{code}"
    page = run(0, lambda: client.get(base))
    reply = run(1, lambda: client.post(f"{base}/start", data={"csrf_token": token(page)}))
    shown = reply if reply.status_code == 200 else None  # the first page, or a redirect to it
    path = bench.form_action(reply.data) if shown else reply.headers["Location"]
    while "/vraag/" in path:
        number = int(path.rsplit("/", 1)[1])
        page = shown or run(2, lambda p=path: client.get(p))
        shown = None
        data = form(answers[number - 1], token(page))
        reply = run(3, lambda p=path, d=data: client.post(p, data=d))
        if reply.status_code == 200:  # the completing page: the thank-you page itself
            return
        if reply.status_code != 302:
            raise SystemExit(f"POST {path}: {reply.status_code}")
        path = reply.headers["Location"]
    thanks = run(4, lambda: client.get(path))
    if thanks.status_code != 200:
        raise SystemExit(f"GET {path}: {thanks.status_code}")


def token(reply: Any) -> str:
    return bench.token(reply.data)


def form(answers: dict[str, Any], csrf: str) -> Any:
    items = [("csrf_token", csrf)]
    for key, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    items.append(("action", "next"))
    from werkzeug.datastructures import MultiDict

    return MultiDict(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survey", choices=tuple(bench.SURVEYS), default="one-page")
    parser.add_argument("--backend", choices=bench.BACKENDS, default="sqlite")
    parser.add_argument("--completions", type=int, default=200)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    survey = bench.SURVEYS[args.survey]
    work = Path(tempfile.mkdtemp(prefix="survey-profile-"))
    db_info = seed_database(args.backend, work, survey, args.pg_url)
    try:
        report(db_info, survey, args.completions, work)
    finally:
        if db_info.pg_name:
            bench.pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {db_info.pg_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(db_info: bench.Database, survey: bench.Survey, completions: int, work: Path) -> None:
    os.environ["CAMPAIGN_BASE_URL"] = "http://127.0.0.1:8000"
    os.environ["CAMPAIGN_OUTBOX_DIR"] = str(work / "outbox")
    from sqlalchemy import event

    from campaign import create_app
    from campaign.extensions import db

    limits = {
        name.removeprefix("CAMPAIGN_"): value for name, value in bench.UNREACHED_LIMITS.items()
    }
    app = create_app({"SECRET_KEY": bench.SECRET, "SQLALCHEMY_DATABASE_URI": db_info.url, **limits})
    logging.getLogger("campaign").setLevel(logging.WARNING)  # no line per response
    codes = db_info.link_codes(survey.slug)
    recorder = Recorder()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda c, cu, s, *a: recorder.statement(s))
    event.listen(engine, "begin", lambda c: recorder.statement("BEGIN (event)"))
    event.listen(engine, "commit", lambda c: recorder.statement("COMMIT (event)"))
    event.listen(engine, "rollback", lambda c: recorder.statement("ROLLBACK (event)"))
    client = app.test_client()

    print_statements(client, codes, survey, recorder)
    times = time_requests(client, codes, survey, completions)
    profile_requests(client, codes, survey, completions, times)
    print(
        "\nThe buckets overlap (Jinja includes the queries templates trigger; commit includes\n"
        "its SQL); 'SQL in driver' is the DBAPI's execute alone."
    )


def print_statements(
    client: Any, codes: list[str], survey: bench.Survey, recorder: Recorder
) -> None:
    # 1. statements per request (a warm-up completion, then one recorded)
    statements: dict[int, list[list[tuple[str, str, bool]]]] = defaultdict(list)

    def record(kind: int, call: Any) -> Any:
        recorder.kind, recorder.current = kind, []
        reply = call()
        statements[kind].append(recorder.current)
        recorder.kind = None
        return reply

    for i in range(5):
        one_completion(client, codes[i % len(codes)], survey.answers, record)
    print(f"Survey {survey.name!r}, in-process (CSRF on)\n")
    print("SQL statements per request (the last recorded completion; page kinds: first page):")
    for kind, name in enumerate(KINDS):
        if not statements[kind]:
            print(f"\n  {name}: none (the start POST shows the first page itself)")
            continue
        per_request = [len(s) for s in statements[kind]]
        pages = len(statements[kind]) // 5  # page kinds: one entry per page per completion
        example = statements[kind][-1 if kind not in (2, 3) else -max(pages, 1)]
        print(
            f"\n  {name}: {statistics.mean(per_request):.1f} statements/events per request "
            f"(min {min(per_request)}, max {max(per_request)})"
        )
        for text, origin, expired in example:
            flag = "  [expired-attribute reload]" if expired else ""
            print(f"    {text:<110}  <- {origin}{flag}")


def time_requests(
    client: Any, codes: list[str], survey: bench.Survey, completions: int
) -> dict[int, list[float]]:
    # 2. time per request without a profiler
    times: dict[int, list[float]] = defaultdict(list)

    def timed(kind: int, call: Any) -> Any:
        started = time.perf_counter()
        reply = call()
        times[kind].append((time.perf_counter() - started) * 1000)
        return reply

    for i in range(completions):
        one_completion(client, codes[i % len(codes)], survey.answers, timed)
    total = 0.0
    print(f"\nTime per request, in-process, no profiler ({completions} completions, median):")
    for kind, name in enumerate(KINDS):
        if not times[kind]:
            continue
        per_completion = sum(times[kind]) / completions
        total += per_completion
        print(
            f"  {name:<10} {statistics.median(times[kind]):6.2f} ms "
            f"({len(times[kind]) / completions:.0f} per completion, {per_completion:5.2f} ms)"
        )
    print(f"  total per completion {total:.2f} ms (test client overhead included)")

    return times


def profile_requests(
    client: Any,
    codes: list[str],
    survey: bench.Survey,
    completions: int,
    times: dict[int, list[float]],
) -> None:
    # 3. where it goes, with cProfile (inflates Python-heavy parts; compare shares)
    profiles = {kind: cProfile.Profile() for kind in range(len(KINDS))}

    def profiled(kind: int, call: Any) -> Any:
        profiles[kind].enable()
        try:
            return call()
        finally:
            profiles[kind].disable()

    for i in range(completions):
        one_completion(client, codes[i % len(codes)], survey.answers, profiled)
    print("\nShare of the app's time per request type (cProfile, cumulative):")
    for kind, name in enumerate(KINDS):
        if not times[kind]:
            continue
        stats = pstats.Stats(profiles[kind]).stats  # type: ignore[attr-defined]
        app_total = sum(
            v[3]
            for (f, _l, n), v in stats.items()
            if f.endswith("flask/app.py") and n == "wsgi_app"
        )
        sqla = sum(
            v[3]
            for (f, _l, n), v in stats.items()
            if "sqlalchemy/orm/session.py" in f and n in ("execute", "get", "scalar", "refresh")
        )
        loading = sum(
            v[3]
            for (f, _l, n), v in stats.items()
            if "sqlalchemy/orm/loading.py" in f and n == "_load_scalar_attributes"
        )
        parts = []
        for label, predicate in BUCKETS:
            spent = sum(v[3] for (f, _l, n), v in stats.items() if predicate(f, n))
            parts.append(f"{label} {spent / app_total * 100:.0f}%")
        parts.append(f"ORM queries (Session.execute/get) {sqla / app_total * 100:.0f}%")
        parts.append(f"expired reloads {loading / app_total * 100:.0f}%")
        calls = Counter()
        for (f, _l, n), v in stats.items():
            if f.startswith(str(ROOT / "campaign")):
                calls[f"{Path(f).relative_to(ROOT)}:{n}"] = v[3]
        top = ", ".join(f"{k} {t / app_total * 100:.0f}%" for k, t in calls.most_common(6))
        per_request = app_total / len(times[kind]) * 1000
        print(f"\n  {name} ({per_request:.2f} ms profiled): " + ", ".join(parts))
        print(f"    our functions (cumulative): {top}")


if __name__ == "__main__":
    raise SystemExit(main())
