"""Full survey completions as respondents' browsers make them, before vs after (issue 8).

Each simulated respondent has its own cookie jar (the Flask session cookie)
and goes through the whole survey the way a browser does:

    GET  /s/<code>             welcome page (CSRF token from its start form)
    POST /s/<code>/start       the first page itself (before issue 8: 302 to it)
    GET  /s/<code>/vraag/N     the page (CSRF token from its form), after the first
    POST /s/<code>/vraag/N     valid answers, action=next; 302 to the next page ...,
                               the last one answered with the thank-you page itself
                               (since 1 Dec, 15:00; before: 302, then
    GET  /s/<code>/bedankt     the thank-you page)

Two questionnaires: the example campaign (examples/eerste-hulp-digitale-vragen.yaml,
7 pages with show-if) and bench/one-page-survey.yaml (one page, five
questions).  Each is loaded with ``flask campaign load`` (a copy whose schedule
is opened for the run) and gets 20 key figures with ``flask contacts import``;
respondents cycle through their links.

Servers: gunicorn ``--no-control-socket -w 2`` with ``wsgi:app`` (CSRF on,
production config), sync workers or ``gthread --threads 4`` with keep-alive,
on a fresh SQLite file (``flask db upgrade``) and on a PostgreSQL database of
the script's own (created, migrated, ``ANALYZE``d, dropped).  The baseline
("before") is the code at commit 2c4e047, from a git worktree
(``git worktree add /tmp/bench-before 2c4e047``, made by the script when
missing), run with the same venv, its own migrations and its own database.
Before and after rounds are interleaved so that a neighbour's load on this
shared machine hits both alike.

The load generator: N client threads (8 and 50), each with one keep-alive
``http.client`` connection to 127.0.0.1, completing surveys in a loop for a
fixed duration after a warm-up.  Printed per configuration: completions per
second, p50/p99 per request, errors (non-2xx/3xx, unexpected replies, socket
errors, "database is locked" in the server's log), answers lost (completions
the client saw vs completed responses counted in the database), server CPU
per completion (utime+stime of the gunicorn workers from /proc) and the
client's own CPU; and the after/before ratios.

Run: .venv/bin/python bench/bench_survey.py [--duration 10] [--rounds 1]
     [--only after] [--configs 'sqlite/*/one-page/8,pg/gthread/*/*']
"""

from __future__ import annotations

import argparse
import fnmatch
import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BEFORE_COMMIT = "2c4e047"
SECRET = "benchmark-secret-key-that-is-long-enough-for-the-app"
KEY_FIGURES = 20
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

#: Valid answers per page number (as tests/survey/conftest.py EXAMPLE_FORMS).
EXAMPLE_ANSWERS: list[dict[str, Any]] = [
    {
        "sector": "onderwijs",
        "organisatietype": "vzw",
        "rol": "trajectbegeleider",
        "regio": "brugge",
        "ervaring_jaren": "7",
        "frequentie_hulpvragen": "wekelijks",
    },
    {
        "doelgroepen": ["ouderen", "anderstaligen"],
        "drempels": ["vaardigheden", "toestel"],
        "soorten_hulpvragen.itsme_eid": "4",
        "huidige_aanpak": "samen_doen",
        "moeilijke_hulpvraag": "Een aanvraag voor een premie die enkel online kon.",
    },
    {
        "eigen_vaardigheden.toestel_instellen": "3",
        "stellingen_vaardigheden.voldoende_kennis": "4",
        "opleiding_gevolgd": "ja",
        "opleiding_welke": "Digitale sleutels bij Mediawijs",
    },
    {"bekendheid_aanbod.digibanken": "2", "informatiebronnen": ["collegas"]},
    {"wat_helpt": ["overzicht_aanbod", "opleiding_zelf"], "opleiding_onderwerpen": ["smartphone"]},
    {"organisatie_aanbod": "ja_occasioneel", "aanbod_vorm": ["individueel"]},
    {"digiwijzer_nut": "5", "digiwijzer_gebruik": "wekelijks"},
]
ONE_PAGE_ANSWERS: list[dict[str, Any]] = [
    {
        "sector": "welzijn",
        "frequentie": "wekelijks",
        "drempels": ["vaardigheden", "taal"],
        "aantal_per_week": "12",
        "opmerking": "Een overzicht van het aanbod in de regio.",
    }
]


@dataclass(frozen=True)
class Survey:
    name: str
    file: Path
    slug: str
    answers: list[dict[str, Any]]


SURVEYS = {
    "one-page": Survey(
        "one-page", ROOT / "bench" / "one-page-survey.yaml", "bench-een-pagina", ONE_PAGE_ANSWERS
    ),
    "example": Survey(
        "example",
        ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml",
        "eerste-hulp-digitale-vragen",
        EXAMPLE_ANSWERS,
    ),
}
BACKENDS = ("sqlite", "pg")
WORKERS = {
    "sync": ["-k", "sync"],
    "gthread": ["-k", "gthread", "--threads", "4", "--keep-alive", "5"],
}
CLIENTS = (8, 50)
GOALS = {"sqlite": 100.0, "pg": 60.0, "p99_ms": 100.0, "cpu_ms": 10.0}


# --- databases and seeding ----------------------------------------------------------------


@dataclass
class Database:
    """One version's database: a SQLite file or a PostgreSQL database of our own."""

    backend: str
    url: str
    pg_name: str | None = None

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(pg_dsn(self.url), autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def completed(self, slug: str) -> int:
        return self.query(
            "SELECT count(*) FROM responses r JOIN campaigns c ON c.id = r.campaign_id "
            "WHERE c.slug = ? AND r.completed_at IS NOT NULL",
            (slug,),
        )[0][0]

    def link_codes(self, slug: str) -> list[str]:
        rows = self.query(
            "SELECT l.code FROM links l JOIN campaigns c ON c.id = l.campaign_id "
            "WHERE c.slug = ? AND l.parent_id IS NULL ORDER BY l.id",
            (slug,),
        )
        return [row[0] for row in rows]


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_dsn(f"{base}/postgres"), autocommit=True) as conn:
        conn.execute(sql)


def opened_copy(source: Path, target: Path) -> Path:
    """A copy of a campaign file whose schedule is open now (opened in 2026, closing in 2099)."""
    text = source.read_text(encoding="utf-8")
    dates = {
        "opens_at": "2026-01-01 09:00",
        "reminder_at": "2099-06-01 09:00",
        "closes_at": "2099-12-31 23:59",
        "results_due": "2100-01-31",
    }
    for key, value in dates.items():
        text = re.sub(rf'(?m)^(\s+{key}:\s*)"?[^"#\n]*"?', rf'\g<1>"{value}"', text, count=1)
    target.write_text(text, encoding="utf-8")
    return target


def key_figure_csv(path: Path, slug: str) -> Path:
    lines = ["Naam;E-mail;Organisatie"]
    lines += [
        f"Sleutelfiguur {i};kf{i}.{slug}@example.org;Organisatie {i}"
        for i in range(1, KEY_FIGURES + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: Every simulated respondent comes from 127.0.0.1 and the 20 links are shared by all of
#: them: the survey's rate limits (per client, per link) stay on, so their cost is
#: measured, but so high that they never refuse (a real office behind one address makes
#: nowhere near 100 starts a second).
UNREACHED_LIMITS = {
    f"CAMPAIGN_RATELIMIT_{name}": "100000000 per hour"
    for name in ("START_PER_LINK", "START_PER_CLIENT", "OPENS_PER_LINK")
}


def version_env(tree: Path, url: str) -> dict[str, str]:
    """Environment for the app of one version: its own tree first on the path."""
    return {
        **os.environ,
        **UNREACHED_LIMITS,
        "PYTHONPATH": str(tree),
        "FLASK_APP": "wsgi",
        "CAMPAIGN_SECRET_KEY": SECRET,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": url,
    }


def seed(tree: Path, db: Database, work: Path, surveys: list[Survey]) -> float:
    """Migrate and load the campaigns and key figures with the app's own commands."""
    env = version_env(tree, db.url)
    env["CAMPAIGN_BASE_URL"] = "http://127.0.0.1"
    env["CAMPAIGN_OUTBOX_DIR"] = str(work / "outbox")
    flask = str(VENV_BIN / "flask")
    started = time.monotonic()

    def run(*args: str) -> None:
        done = subprocess.run([flask, *args], cwd=tree, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"flask {' '.join(args)} failed in {tree}:\n{done.stderr[-3000:]}")

    run("db", "upgrade")
    for survey in surveys:
        run("campaign", "load", str(opened_copy(survey.file, work / f"{survey.name}.yaml")))
        run(
            "contacts",
            "import",
            survey.slug,
            str(key_figure_csv(work / f"{survey.slug}.csv", survey.slug)),
        )
    if db.backend == "pg":
        db.query("ANALYZE")
    return time.monotonic() - started


# --- servers --------------------------------------------------------------------------------


def machine_now() -> str:
    """The time, the cores and the load averages, for a benchmark's first line."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{time.strftime('%Y-%m-%d %H:%M %Z')}  {os.cpu_count()} cores  load {load}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    version: str
    process: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
            return sorted(int(p) for p in text.split())
        except OSError:
            found = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    found.append(int(stat.parent.name))
            return sorted(found)

    def worker_cpu(self) -> tuple[tuple[int, ...], float]:
        """Worker pids and their summed utime+stime in seconds."""
        pids = self.workers()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return tuple(pids), total / CLOCK_TICK

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the master stops its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only ours
                self.process.wait(timeout=5)


def start_server(version: str, tree: Path, db: Database, worker: str, work: Path) -> Server:
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "--no-control-socket",
        "-w",
        "2",
        *WORKERS[worker],
        "-b",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    return launch_server(
        version, command, tree, db, work / f"gunicorn-{db.backend}-{worker}.log", port
    )


def launch_server(
    version: str, command: list[str], tree: Path, db: Database, log: Path, port: int
) -> Server:
    """Run the gunicorn ``command`` (bound to ``port``) of ``tree`` on ``db``, its output in
    ``log``; return once both workers answer."""
    env = version_env(tree, db.url)
    env["CAMPAIGN_BASE_URL"] = f"http://127.0.0.1:{port}"
    env["CAMPAIGN_OUTBOX_DIR"] = str(log.parent / "outbox")
    handle = log.open("ab")
    process = subprocess.Popen(
        command, cwd=tree, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    server = Server(version, process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn ({version}) exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/s/nergens", timeout=2)
        except urllib.error.HTTPError:
            if len(server.workers()) == 2:
                return server  # any HTTP answer means it is up
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise SystemExit(f"gunicorn ({version}) did not start; see {log}")


# --- the load generator ---------------------------------------------------------------------

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
KINDS = ("welcome", "start", "page GET", "page POST", "thanks")


class Unexpected(Exception):
    """A reply that is not what the browser expected (status or redirect target)."""


def encode(answers: dict[str, Any], token: str, action: str | None = "next") -> bytes:
    """The form as a browser posts it (a list value: several fields of one name)."""
    items = [("csrf_token", token)]
    for key, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    if action:
        items.append(("action", action))
    return urlencode(items).encode()


class Browser:
    """One client: a keep-alive connection, and a fresh cookie jar per respondent."""

    def __init__(
        self, port: int, record: list[tuple[int, float]] | None, deadline: float = 0.0
    ) -> None:
        self.port = port
        self.deadline = deadline
        self.requests = 0  # requests answered in all
        self.in_window = 0  # requests answered before the deadline
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.record = record

    def request(
        self, kind: int, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, str, bytes]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body, headers)
            reply = self.conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        self.requests += 1
        if time.monotonic() <= self.deadline:
            self.in_window += 1
        if self.record is not None:
            self.record.append((kind, (time.perf_counter() - started) * 1000))
        for cookie in reply.headers.get_all("Set-Cookie") or ():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        location = urlsplit(reply.headers.get("Location") or "").path
        return reply.status, location, data

    def expect(
        self, kind: int, method: str, path: str, status: int, body: bytes | None = None
    ) -> tuple[str, bytes]:
        got, location, data = self.request(kind, method, path, body)
        if got != status:
            raise Unexpected(f"{method} {path}: {got} (expected {status})")
        return location, data

    def complete(self, code: str, answers: list[dict[str, Any]]) -> None:
        """One respondent's full completion; raises on anything a browser would not expect."""
        self.cookies = {}
        base = f"/s/{code}"
        _, html = self.expect(0, "GET", base, 200)
        status, path, page = self.request(1, "POST", f"{base}/start", encode({}, token(html), None))
        if status == 200:  # the first page itself (since issue 8), posting to its own address
            path = form_action(page)
        elif status != 302:
            raise Unexpected(f"POST {base}/start: {status} (expected 200 or 302)")
        else:
            page = None  # a redirect to the first page (the code before issue 8)
        for _step in range(len(answers) + 1):
            match = re.fullmatch(rf"{re.escape(base)}/vraag/(\d+)", path)
            if match is None:
                break
            if page is None:
                _, html = self.expect(2, "GET", path, 200)
            else:
                html, page = page, None
            number = int(match.group(1))
            if not 1 <= number <= len(answers):
                raise Unexpected(f"unexpected page {path}")
            following = self.post_page(base, path, encode(answers[number - 1], token(html)))
            if following is None:
                return
            path = following
        if path != f"{base}/bedankt":
            raise Unexpected(f"ended at {path!r}, not the thank-you page")
        self.expect(4, "GET", path, 200)  # the code before the thank-you page came at once

    def post_page(self, base: str, path: str, body: bytes) -> str | None:
        """Post one page's answers: the next page's address, or None when the reply is the
        thank-you page itself (the completing page, since 1 Dec)."""
        status, following, reply = self.request(3, "POST", path, body)
        if status == 200:
            shown = page_address(reply)
            if shown != f"{base}/bedankt":
                raise Unexpected(f"POST {path}: 200 with {shown!r}, not the thank-you page")
            return None
        if status != 302:
            raise Unexpected(f"POST {path}: {status} (expected 302, or 200 when completing)")
        if following == path:
            raise Unexpected(f"POST {path} stayed on the page")
        return following


FORM_ACTION = re.compile(
    rb'<form method="post" action="([^"]+)" class="card survey-card survey-form"'
)


SURVEY_ADDRESS = re.compile(rb'<meta name="survey-address" content="([^"]+)"')


def page_address(html: bytes) -> str:
    """The address a page shown in reply to a POST names for the address bar."""
    match = SURVEY_ADDRESS.search(html)
    if match is None:
        raise Unexpected("no survey-address on the page")
    return match.group(1).decode()


def form_action(html: bytes) -> str:
    """Where the questionnaire page's form posts (the page's own address)."""
    match = FORM_ACTION.search(html)
    if match is None:
        raise Unexpected("no questionnaire form on the page")
    return match.group(1).decode()


def token(html: bytes) -> str:
    match = CSRF.search(html)
    if match is None:
        raise Unexpected("no CSRF token in the form")
    return match.group(1).decode()


@dataclass
class ClientResult:
    completions: int = 0  # finished before the deadline
    seen: int = 0  # all the client saw complete (including ones finished after the deadline)
    seen_requests: int = 0  # requests of the completions seen
    window_requests: int = 0  # requests answered before the deadline
    unexpected: int = 0
    http_errors: int = 0
    socket_errors: int = 0
    samples: list[tuple[int, float]] = field(default_factory=list)
    first_error: str = ""


def client_loop(
    port: int,
    codes: list[str],
    answers: list[dict[str, Any]],
    offset: int,
    deadline: float,
    limit: int,
    result: ClientResult,
) -> None:
    browser = Browser(port, result.samples, deadline)
    i = offset
    while time.monotonic() < deadline and result.seen < limit:
        before = browser.requests
        try:
            browser.complete(codes[i % len(codes)], answers)
        except Unexpected as exc:
            status = re.search(r": (\d{3}) ", str(exc))
            if status and not 200 <= int(status.group(1)) < 400:
                result.http_errors += 1
            else:
                result.unexpected += 1
            result.first_error = result.first_error or str(exc)
        except (OSError, http.client.HTTPException) as exc:
            result.socket_errors += 1
            result.first_error = result.first_error or repr(exc)
            time.sleep(0.01)
        else:
            result.seen += 1
            result.seen_requests += browser.requests - before
            if time.monotonic() <= deadline:
                result.completions += 1
        i += 1
    browser.conn.close()
    result.window_requests = browser.in_window


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drive(
    server: Server, db: Database, survey: Survey, clients: int, duration: float
) -> dict[str, Any]:
    """``clients`` threads completing ``survey`` for ``duration`` seconds; the figures."""
    codes = db.link_codes(survey.slug)
    completed_before = db.completed(survey.slug)
    log_offset = server.log_size()
    pids_before, cpu_before = server.worker_cpu()
    client_cpu = time.process_time()
    load = os.getloadavg()[0]
    results = [ClientResult() for _ in range(clients)]
    started = time.monotonic()
    deadline = started + duration
    threads = [
        threading.Thread(
            target=client_loop,
            args=(server.port, codes, survey.answers, n, deadline, 100_000, results[n]),
            daemon=True,
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)  # in-flight completions finish; bounded
    elapsed = duration
    client_cpu = time.process_time() - client_cpu
    pids_after, cpu_after = server.worker_cpu()
    log_text = server.log_since(log_offset)
    completions = sum(r.completions for r in results)
    seen = sum(r.seen for r in results)
    counted = db.completed(survey.slug) - completed_before
    latencies = [ms for r in results for _kind, ms in r.samples]
    by_kind = {
        name: percentile([ms for r in results for kind, ms in r.samples if kind == k], 0.5)
        for k, name in enumerate(KINDS)
    }
    return {
        # Clients advance in step (50 clients finish in waves), so whole completions
        # before the deadline are coarse: count requests answered in the window and
        # divide by the requests one completion takes.
        "rate": sum(r.window_requests for r in results)
        / max(sum(r.seen_requests for r in results) / max(seen, 1), 1)
        / elapsed,
        "whole_rate": completions / elapsed,
        "completions": completions,
        "requests": len(latencies),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "by_kind": by_kind,
        "http_errors": sum(r.http_errors for r in results),
        "unexpected": sum(r.unexpected for r in results),
        "socket_errors": sum(r.socket_errors for r in results),
        "locked": log_text.count("database is locked"),
        "tracebacks": log_text.count("Traceback"),
        "lost": seen - counted,
        "seen": seen,
        "counted": counted,
        "server_cpu_ms": (cpu_after - cpu_before) * 1000 / max(seen, 1),
        "workers_changed": pids_before != pids_after,
        "client_cpu_ms": client_cpu * 1000 / max(seen, 1),
        "client_cpu_share": client_cpu / (time.monotonic() - started),
        "load": load,
        "first_error": next((r.first_error for r in results if r.first_error), ""),
        "stragglers": sum(t.is_alive() for t in threads),
    }


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    backend: str
    worker: str
    survey: str
    clients: int

    @property
    def name(self) -> str:
        return f"{self.backend}/{self.worker}/{self.survey}/{self.clients}"


def all_configs() -> list[Config]:
    return [Config(b, w, s, c) for b in BACKENDS for w in WORKERS for s in SURVEYS for c in CLIENTS]


def pick_configs(patterns: str | None) -> list[Config]:
    configs = all_configs()
    if not patterns:
        return configs
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = [c for c in configs if any(fnmatch.fnmatchcase(c.name, p) for p in wanted)]
    if not chosen:
        raise SystemExit(
            f"no configuration matches {patterns!r}; they are: " + " ".join(c.name for c in configs)
        )
    return chosen


def tree_commit(tree: Path) -> str:
    """The commit a worktree is at (short), for the report's first line."""
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or str(tree)


def before_tree(path: Path) -> Path:
    if not (path / "wsgi.py").exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), BEFORE_COMMIT],
            check=True,
            capture_output=True,
        )
    return path


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the rates, latencies and CPU; sums of the counts."""
    out: dict[str, Any] = {}
    for key in ("rate", "p50", "p99", "server_cpu_ms", "client_cpu_ms", "client_cpu_share", "load"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in (
        "completions",
        "http_errors",
        "unexpected",
        "socket_errors",
        "locked",
        "tracebacks",
        "lost",
        "seen",
        "counted",
        "stragglers",
    ):
        out[key] = sum(r[key] for r in runs)
    out["workers_changed"] = any(r["workers_changed"] for r in runs)
    out["by_kind"] = {k: statistics.median(r["by_kind"][k] for r in runs) for k in KINDS}
    out["first_error"] = next((r["first_error"] for r in runs if r["first_error"]), "")
    out["loads"] = [r["load"] for r in runs]
    return out


def print_row(config: Config, version: str, r: dict[str, Any]) -> None:
    errors = r["http_errors"] + r["unexpected"] + r["socket_errors"] + r["locked"]
    print(
        f"  {config.name:<28} {version:<6} {r['rate']:7.1f}/s  p50 {r['p50']:6.1f}  "
        f"p99 {r['p99']:6.1f} ms  err {errors:3d}  lost {r['lost']:3d}  "
        f"srv CPU {r['server_cpu_ms']:5.1f} ms  client CPU {r['client_cpu_ms']:4.1f} ms "
        f"({r['client_cpu_share'] * 100:3.0f}% core)  load {r['load']:.1f}",
        flush=True,
    )
    details = []
    if errors:
        details.append(
            f"http {r['http_errors']} unexpected {r['unexpected']} socket {r['socket_errors']} "
            f"locked {r['locked']}; first: {r['first_error']}"
        )
    if r["tracebacks"]:
        details.append(f"{r['tracebacks']} tracebacks in the server log")
    if r["workers_changed"]:
        details.append("a worker was replaced during the run (CPU figure incomplete)")
    if r["stragglers"]:
        details.append(f"{r['stragglers']} client threads did not finish")
    for line in details:
        print(f"      ! {line}", flush=True)


def report(results: dict[tuple[Config, str], dict[str, Any]], versions: list[str]) -> bool:
    print("\nSummary (medians over rounds; errors and lost summed)")
    header = (
        f"  {'configuration':<28} {'version':<6} {'compl/s':>9}  {'p50 ms':>6}  {'p99 ms':>6}  "
        f"{'errors':>6}  {'lost':>4}  {'srv CPU/compl':>13}  {'client CPU/compl':>16}"
    )
    print(header)
    ok = True
    configs = sorted({c for c, _ in results}, key=all_configs().index)
    for config in configs:
        for version in versions:
            r = results[(config, version)]
            errors = r["http_errors"] + r["unexpected"] + r["socket_errors"] + r["locked"]
            print(
                f"  {config.name:<28} {version:<6} {r['rate']:9.1f}  {r['p50']:6.1f}  "
                f"{r['p99']:6.1f}  {errors:6d}  {r['lost']:4d}  {r['server_cpu_ms']:10.1f} ms  "
                f"{r['client_cpu_ms']:13.1f} ms"
            )
        if len(versions) == 2:
            before, after = results[(config, "before")], results[(config, "after")]
            print(
                f"  {'':<28} ratio  {after['rate'] / before['rate']:9.2f}x "
                f"{'':>17} CPU after/before {after['server_cpu_ms'] / before['server_cpu_ms']:.2f}"
            )
        after = results.get((config, "after"))
        if after is not None:
            print(
                "  "
                + " " * 36
                + "p50 by request: "
                + ", ".join(f"{k} {v:.1f}" for k, v in after["by_kind"].items())
                + " ms (after)"
            )
        if after is not None and config.survey == "one-page" and config.clients == 8:
            errors = after["http_errors"] + after["unexpected"] + after["socket_errors"]
            checks = {
                f">= {GOALS[config.backend]:.0f}/s": after["rate"] >= GOALS[config.backend],
                "p99 < 100 ms": after["p99"] < GOALS["p99_ms"],
                "0 errors": errors + after["locked"] == 0,
                "0 lost": after["lost"] == 0,
                "CPU <= 10 ms": after["server_cpu_ms"] <= GOALS["cpu_ms"],
            }
            print(
                "  "
                + " " * 36
                + "goals: "
                + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items())
            )
            ok = ok and all(checks.values())
    return ok


def make_database(version: str, backend: str, folder: Path, pg_url: str) -> Database:
    """A fresh SQLite file, or a PostgreSQL database of this process's own."""
    if backend == "sqlite":
        return Database("sqlite", f"sqlite:///{folder / 'survey.sqlite3'}")
    name = f"bench_survey_{os.getpid()}_{version}"
    pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name}")
    pg_admin(pg_url, f"CREATE DATABASE {name}")
    return Database("pg", f"{pg_url}/{name}", pg_name=name)


def run_group(
    group: list[Config],
    versions: list[str],
    trees: dict[str, Path],
    databases: dict[tuple[str, str], Database],
    work: Path,
    servers: list[Server],
    args: argparse.Namespace,
) -> dict[tuple[Config, str], dict[str, Any]]:
    """The configurations of one backend and worker class: one server per version,
    started together, loaded in turn (before/after interleaved, the order swapped
    every round)."""
    backend, worker = group[0].backend, group[0].worker
    running = {
        v: start_server(v, trees[v], databases[(v, backend)], worker, work / v / backend)
        for v in versions
    }
    servers.extend(running.values())
    warmed: set[tuple[str, str]] = set()
    runs: dict[tuple[Config, str], list[dict[str, Any]]] = {}
    for config in group:
        survey = SURVEYS[config.survey]
        for round_number in range(args.rounds):
            for version in versions if round_number % 2 == 0 else versions[::-1]:
                db = databases[(version, backend)]
                if (version, survey.name) not in warmed and args.warmup > 0:
                    drive(running[version], db, survey, 8, args.warmup)
                    warmed.add((version, survey.name))
                r = drive(running[version], db, survey, config.clients, args.duration)
                runs.setdefault((config, version), []).append(r)
                print_row(config, version, r)
    for server in running.values():
        server.stop()
    return {key: aggregate(value) for key, value in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="warm-up seconds per server and survey"
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per version")
    parser.add_argument("--only", choices=("before", "after"), help="run one version only")
    parser.add_argument(
        "--configs",
        help="comma-separated backend/worker/survey/clients patterns, e.g. 'sqlite/*/one-page/8' "
        "(backends sqlite pg, workers sync gthread, surveys one-page example, clients 8 50)",
    )
    parser.add_argument(
        "--before-tree",
        type=Path,
        default=Path("/tmp/bench-before"),
        help=f"the baseline's worktree (made at {BEFORE_COMMIT} when missing)",
    )
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    configs = pick_configs(args.configs)
    versions = [args.only] if args.only else ["before", "after"]
    trees = {"after": ROOT}
    if "before" in versions:
        trees["before"] = before_tree(args.before_tree)
    backends = [b for b in BACKENDS if any(c.backend == b for c in configs)]
    surveys = [SURVEYS[s] for s in SURVEYS if any(c.survey == s for c in configs)]
    work = Path(tempfile.mkdtemp(prefix="bench-survey-"))
    databases: dict[tuple[str, str], Database] = {}
    servers: list[Server] = []
    results: dict[tuple[Config, str], dict[str, Any]] = {}
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores  load {os.getloadavg()[0]:.2f}  "
        f"duration {args.duration:g} s, warm-up {args.warmup:g} s, {args.rounds} round(s); "
        f"before = {tree_commit(trees['before']) if 'before' in trees else '-'}, "
        "after = working tree",
        flush=True,
    )
    try:
        for version in versions:
            for backend in backends:
                folder = work / version / backend
                folder.mkdir(parents=True)
                db = make_database(version, backend, folder, args.pg_url)
                databases[(version, backend)] = db
                took = seed(trees[version], db, folder, surveys)
                print(f"  seeded {version}/{backend} in {took:.1f} s", flush=True)
        for backend in backends:
            for worker in WORKERS:
                group = [c for c in configs if c.backend == backend and c.worker == worker]
                if group:
                    results.update(
                        run_group(group, versions, trees, databases, work, servers, args)
                    )
    finally:
        for server in servers:
            server.stop()
        for db in databases.values():
            if db.pg_name:
                pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {db.pg_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    ok = report(results, versions)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
