"""Respondents under load: 200 at once for 60 s against gunicorn as production runs it
(issue 13, item 5).

Each simulated respondent is ``bench_survey.Browser``: an empty cookie jar, then the
full completion a browser makes (welcome page, start, every page with its CSRF token,
the thank-you page).  Every completion writes a marker of its own into a free-text
answer, so that afterwards each completion that got the thank-you page is looked up
in the database by that marker, with its link and every answer it posted: a
completion whose response is missing, not completed, credited to another link or
stored with other answers is **lost**.

The server is the Procfile's ``web`` line (``gunicorn -w 2 -k gthread --threads 4
--keep-alive 5 --no-control-socket --logger-class campaign.gunicorn_logging.PrivateLogger
wsgi:app``), bound to a port of this script's own on 127.0.0.1, with CSRF on and a
production secret; the database is a fresh SQLite file or a PostgreSQL database of
the script's own (``load_survey_<pid>`` on 127.0.0.1:5432, dropped at the end), seeded
with the app's own commands (``bench_survey.seed``: ``flask db upgrade``, ``flask
campaign load``, ``flask contacts import`` of 20 key figures).  Every client comes
from 127.0.0.1 and the 20 links are shared by all of them, so the survey's rate limits
are set out of reach (``bench_survey.UNREACHED_LIMITS``), as they would be for 200
offices behind 200 addresses.

Printed per backend: completions per second, p50/p99 per request (and per request
type), errors (any reply a browser would not expect, socket errors, "database is
locked" or a traceback in the server's log), lost answers, openings counted against
welcome pages shown (each respondent is a new browser, so each welcome page is an
opening to count), the load average.  Exit status 1 when a backend had an error,
lost an answer or left an opening uncounted.  The clients' own CPU (this process) is
printed too: they share the machine with the server.

Run: .venv/bin/python bench/load_survey.py [--duration 60] [--clients 200]
     [--backends sqlite,pg] [--survey one-page]
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import shlex
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_survey as bs

ROOT = bs.ROOT
#: Ports of this script (and of fault_pg_restart.py and fault_mail.py): 17300-17399.
PORTS = range(17300, 17400)
#: The free-text answer that carries each completion's marker: (page index, question id).
MARKER_FIELD = {"one-page": (0, "opmerking"), "example": (1, "moeilijke_hulpvraag")}
#: A client that got an error waits this long before its next respondent (a person
#: reads the error page; without it a client would measure how fast 503s come back).
PAUSE_AFTER_ERROR = 0.2


# --- the server, as the Procfile starts it ----------------------------------------------------


def own_port(taken: set[int] | None = None) -> int:
    """The first port of ``PORTS`` that is free on 127.0.0.1 (and not in ``taken``)."""
    for port in PORTS:
        if taken and port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if taken is not None:
            taken.add(port)
        return port
    raise SystemExit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def production_command(port: int) -> list[str]:
    """The Procfile's ``web`` command, bound to 127.0.0.1:``port``."""
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("web:"):
            words = shlex.split(line.removeprefix("web:"))
            break
    else:
        raise SystemExit("no web: line in the Procfile")
    words[0] = str(bs.VENV_BIN / words[0])
    bind = words.index("-b")
    words[bind + 1] = f"127.0.0.1:{port}"
    return words


def start_production_server(db: bs.Database, work: Path, port: int) -> bs.Server:
    """gunicorn as the Procfile runs it, on ``db``; returns once both workers answer."""
    log = work / f"gunicorn-{db.backend}.log"
    return bs.launch_server("production", production_command(port), ROOT, db, log, port)


# --- the respondents --------------------------------------------------------------------------


class TimedBrowser(bs.Browser):
    """``bench_survey.Browser`` that notes when each request started and ended, and its
    status (0: no reply at all)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, None)
        self.events: list[tuple[float, float, int, int]] = []

    def request(
        self, kind: int, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, str, bytes]:
        started = time.monotonic()
        try:
            reply = super().request(kind, method, path, body)
        except (OSError, http.client.HTTPException):
            self.events.append((started, time.monotonic(), kind, 0))
            raise
        self.events.append((started, time.monotonic(), kind, reply[0]))
        return reply


@dataclass
class Failure:
    started: float  # the failing request's start (monotonic)
    ended: float
    status: int  # its HTTP status, 0 for a socket error
    what: str


@dataclass
class ClientLog:
    #: (marker, link code, monotonic time of the thank-you page)
    successes: list[tuple[str, str, float]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    events: list[tuple[float, float, int, int]] = field(default_factory=list)


def marked_answers(survey: bs.Survey, marker: str) -> list[dict[str, Any]]:
    page, question = MARKER_FIELD[survey.name]
    answers = copy.deepcopy(survey.answers)
    answers[page][question] = marker
    return answers


def client_loop(
    number: int,
    port: int,
    codes: list[str],
    survey: bs.Survey,
    deadline: float,
    prefix: str,
    log: ClientLog,
) -> None:
    """Complete surveys one respondent after the other until ``deadline`` (the one in
    hand is finished)."""
    browser = TimedBrowser(port)
    sequence = 0
    while time.monotonic() < deadline:
        code = codes[(number + sequence) % len(codes)]
        marker = f"{prefix}-c{number:03d}-n{sequence:05d}"
        sequence += 1
        try:
            browser.complete(code, marked_answers(survey, marker))
        except (bs.Unexpected, OSError, http.client.HTTPException) as exc:
            started, ended, _kind, status = browser.events[-1]
            log.failures.append(Failure(started, ended, status, str(exc) or repr(exc)))
            time.sleep(PAUSE_AFTER_ERROR)
        else:
            log.successes.append((marker, code, time.monotonic()))
    browser.conn.close()
    log.events = browser.events


@dataclass
class Run:
    started: float
    deadline: float
    logs: list[ClientLog]
    stragglers: int
    server_log: str
    load: tuple[float, float, float]
    opens: int  # openings of the survey's links counted in the database during the run
    client_cpu: float  # seconds of CPU the clients (this process) used
    during: Any = None  # what the ``during`` callable returned

    @property
    def successes(self) -> list[tuple[str, str, float]]:
        return [s for log in self.logs for s in log.successes]

    @property
    def failures(self) -> list[Failure]:
        return [f for log in self.logs for f in log.failures]

    @property
    def events(self) -> list[tuple[float, float, int, int]]:
        return [e for log in self.logs for e in log.events]


def run_load(
    server: bs.Server,
    db: bs.Database,
    survey: bs.Survey,
    clients: int,
    duration: float,
    prefix: str = "load",
    during: Callable[[float], Any] | None = None,
) -> Run:
    """``clients`` threads completing ``survey`` for ``duration`` s; ``during(started)``
    runs in this thread meanwhile (a fault to inject) and its result is kept."""
    codes = db.link_codes(survey.slug)
    opens_before = opens_counted(db, survey)
    log_offset = server.log_size()
    cpu = time.process_time()
    logs = [ClientLog() for _ in range(clients)]
    started = time.monotonic()
    deadline = started + duration
    threads = [
        threading.Thread(
            target=client_loop,
            args=(n, server.port, codes, survey, deadline, prefix, logs[n]),
            daemon=True,
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    result = during(started) if during is not None else None
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0) + 90)  # in-flight ones finish
    return Run(
        started,
        deadline,
        logs,
        sum(t.is_alive() for t in threads),
        server.log_since(log_offset),
        os.getloadavg(),
        opens_counted(db, survey) - opens_before,
        time.process_time() - cpu,
        result,
    )


# --- what the database holds ------------------------------------------------------------------


def opens_counted(db: bs.Database, survey: bs.Survey) -> int:
    """The openings counted on the survey's links (``links.open_count``, summed)."""
    rows = db.query(
        "SELECT coalesce(sum(l.open_count), 0) FROM links l "
        "JOIN campaigns c ON c.id = l.campaign_id WHERE c.slug = ?",
        (survey.slug,),
    )
    return int(rows[0][0])


def welcome_pages(run: Run) -> int:
    """Welcome pages shown: each a new browser's first visit, so each an opening to count
    (the limit on openings per link is out of reach)."""
    return sum(1 for _s, _e, kind, status in run.events if kind == 0 and status == 200)


def flatten(value: Any, path: str = "") -> set[tuple[str, str]]:
    """``{"a": {"b": 4}, "c": ["x", "y"]}`` -> ``{("a.b", "4"), ("c", "x"), ("c", "y")}``:
    the stored answers as (form field, value) pairs, the way the form posted them."""
    if isinstance(value, dict):
        pairs: set[tuple[str, str]] = set()
        for key, inner in value.items():
            pairs |= flatten(inner, f"{path}.{key}" if path else str(key))
        return pairs
    if isinstance(value, list):
        return {(path, str(one)) for one in value}
    return {(path, str(value))}


def posted_pairs(answers: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for page in answers:
        for key, value in page.items():
            pairs |= {(key, str(one)) for one in (value if isinstance(value, list) else [value])}
    return pairs


def stored_completions(db: bs.Database, survey: bs.Survey) -> dict[str, tuple[str, Any]]:
    """Marker -> (link code, answers) of every completed response of the survey."""
    page, question = MARKER_FIELD[survey.name]
    rows = db.query(
        "SELECT l.code, r.answers FROM responses r JOIN campaigns c ON c.id = r.campaign_id "
        "LEFT JOIN links l ON l.id = r.link_id "
        "WHERE c.slug = ? AND r.completed_at IS NOT NULL",
        (survey.slug,),
    )
    stored: dict[str, tuple[str, Any]] = {}
    for code, answers in rows:
        answers = json.loads(answers) if isinstance(answers, str) else answers
        marker = answers.get(question)
        if isinstance(marker, str):
            stored[marker] = (code, answers)
    return stored


def lost_answers(db: bs.Database, survey: bs.Survey, run: Run) -> list[str]:
    """Every completion that got the thank-you page and is not stored as it was posted:
    one line each."""
    stored = stored_completions(db, survey)
    lost = []
    for marker, code, _when in run.successes:
        if marker not in stored:
            lost.append(f"{marker}: no completed response holds it")
            continue
        stored_code, answers = stored[marker]
        if stored_code != code:
            lost.append(f"{marker}: credited to link {stored_code}, posted through {code}")
        missing = posted_pairs(marked_answers(survey, marker)) - flatten(answers)
        if missing:
            lost.append(f"{marker}: answers not stored: {sorted(missing)}")
    return lost


# --- figures ----------------------------------------------------------------------------------


def latency_figures(run: Run) -> dict[str, float]:
    answered = [(end - start) * 1000 for start, end, _kind, status in run.events if status]
    by_kind = {
        name: bs.percentile(
            [(e - s) * 1000 for s, e, kind, status in run.events if kind == k and status], 0.5
        )
        for k, name in enumerate(bs.KINDS)
    }
    return {
        "p50": bs.percentile(answered, 0.5),
        "p99": bs.percentile(answered, 0.99),
        "requests": len(answered),
        **{f"p50 {name}": ms for name, ms in by_kind.items() if ms == ms},  # NaN: none
    }


def log_problems(text: str) -> dict[str, int]:
    return {
        "database is locked": text.count("database is locked"),
        "Traceback": text.count("Traceback"),
    }


def summarize(label: str, db: bs.Database, survey: bs.Survey, run: Run, clients: int) -> dict:
    """Figures of one run, printed; ``ok`` when no error and no lost answer."""
    duration = run.deadline - run.started
    in_window = [s for s in run.successes if s[2] <= run.deadline]
    lost = lost_answers(db, survey, run)
    latency = latency_figures(run)
    problems = log_problems(run.server_log)
    failures = run.failures
    statuses = Counter(f.status for f in failures)
    opens_lost = welcome_pages(run) - run.opens
    figures = {
        "label": label,
        "clients": clients,
        "duration": duration,
        "completions": len(run.successes),
        "rate": len(in_window) / duration,
        "errors": len(failures),
        "statuses": dict(statuses),
        "lost": len(lost),
        "opens_lost": opens_lost,
        "log": problems,
        "stragglers": run.stragglers,
        "load": run.load,
        **latency,
    }
    print(
        f"  {label:<12} {clients} clients {duration:.0f} s: {figures['rate']:6.1f} completions/s "
        f"({len(run.successes)} completed), {latency['requests']} requests, "
        f"p50 {latency['p50']:.0f} ms, p99 {latency['p99']:.0f} ms; "
        f"errors {len(failures)}, lost {len(lost)}; "
        f"load {' '.join(f'{x:.2f}' for x in run.load)}",
        flush=True,
    )
    kinds = ", ".join(f"{k[4:]} {v:.0f}" for k, v in latency.items() if k.startswith("p50 "))
    print(
        f"  {'':<12} p50 by request: {kinds} ms; openings counted {run.opens} of "
        f"{welcome_pages(run)} welcome pages; the clients used "
        f"{run.client_cpu / duration:.0%} of a core",
        flush=True,
    )
    if failures:
        shown = ", ".join(f"{status or 'no reply'}: {n}" for status, n in statuses.items())
        print(f"  {'':<12} failed requests by status: {shown}; first: {failures[0].what}")
    for line in lost[:10]:
        print(f"  {'':<12} LOST {line}")
    if opens_lost:
        print(f"  {'':<12} {opens_lost} openings NOT COUNTED")
    for what, count in problems.items():
        if count:
            print(f"  {'':<12} {count} x {what!r} in the server's log")
    if run.stragglers:
        print(f"  {'':<12} {run.stragglers} clients did not finish")
    figures["ok"] = not (failures or lost or opens_lost or any(problems.values()) or run.stragglers)
    return figures


# --- the run ----------------------------------------------------------------------------------


def make_pg_database(base: str, name: str) -> bs.Database:
    bs.pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    bs.pg_admin(base, f"CREATE DATABASE {name}")
    return bs.Database("pg", f"{base}/{name}", pg_name=name)


def drop_pg_database(base: str, db: bs.Database) -> None:
    if db.pg_name:
        bs.pg_admin(base, f"DROP DATABASE IF EXISTS {db.pg_name} WITH (FORCE)")


def warm_up(server: bs.Server, db: bs.Database, survey: bs.Survey, seconds: float) -> None:
    """A few clients for a few seconds: the workers' first requests import and compile."""
    if seconds > 0:
        run_load(server, db, survey, 8, seconds, prefix="warm")


def one_backend(backend: str, survey: bs.Survey, args: argparse.Namespace, work: Path) -> dict:
    folder = work / backend
    folder.mkdir()
    if backend == "sqlite":
        db = bs.Database("sqlite", f"sqlite:///{folder / 'survey.sqlite3'}")
    else:
        db = make_pg_database(args.pg_url, f"load_survey_{os.getpid()}")
    server = None
    try:
        took = bs.seed(ROOT, db, folder, [survey])
        server = start_production_server(db, folder, own_port())
        print(f"  {backend}: seeded in {took:.1f} s, gunicorn on port {server.port}", flush=True)
        warm_up(server, db, survey, args.warmup)
        run = run_load(server, db, survey, args.clients, args.duration)
        return summarize(backend, db, survey, run, args.clients)
    finally:
        if server is not None:
            server.stop()
        drop_pg_database(args.pg_url, db)


def common_arguments(parser: argparse.ArgumentParser, duration: float, clients: int) -> None:
    parser.add_argument("--duration", type=float, default=duration, help="seconds of load")
    parser.add_argument("--clients", type=int, default=clients, help="concurrent respondents")
    parser.add_argument("--survey", choices=sorted(MARKER_FIELD), default="one-page")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up (8 clients)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_arguments(parser, 60.0, 200)
    parser.add_argument("--backends", default="sqlite,pg", help="comma-separated: sqlite, pg")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= set(bs.BACKENDS):
        raise SystemExit(f"--backends: choose from {', '.join(bs.BACKENDS)}")
    survey = bs.SURVEYS[args.survey]
    print(
        f"{bs.machine_now()}  survey {survey.name}, "
        f"{args.clients} clients, {args.duration:g} s per backend",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="load-survey-"))
    try:
        results = [one_backend(backend, survey, args, work) for backend in backends]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r["ok"] for r in results)
    print("PASS: no errors, no lost answers" if ok else "FAIL: errors or lost answers (above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
