"""Benchmark: survey page submissions per second under gunicorn, beside a bare INSERT endpoint.

Two servers are started the same way (gunicorn, 2 sync workers, a fresh
SQLite database in WAL mode) and loaded in turn with wrk at 50 connections:

- **survey**: the real app (``wsgi:app``) with CSRF protection on, posting
  the first page of the example questionnaire (sector, single choices with
  "other", a number): session cookie, CSRF check, link and response lookup,
  validation, show-if, one ``BEGIN IMMEDIATE`` write.  A pool of responses is
  started beforehand; the wrk script cycles through their signed session
  cookies and CSRF tokens.
- **bare**: a Flask endpoint that reads one form field and stores one row
  with a single INSERT (same SQLite pragmas).

It prints requests/s of both, their ratio, p99 latency, the count of
non-2xx/3xx replies and socket errors, and whether "database is locked"
appeared in either server's log.  Goal: ratio >= 0.5, p99 < 100 ms, zero
errors at 50 concurrent clients.

Both wrk scripts build each request in Lua, so the load generator costs both
sides alike (``--static-bare`` posts one fixed request to the bare endpoint
instead, as this benchmark did before; see bench/README.md).

Run: .venv/bin/python bench/bench_survey.py [--duration 6] [--rounds 3] [--connections 50]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
GOALS = {"ratio": 0.5, "p99_ms": 100.0}


# --- the bare endpoint (gunicorn imports this module and calls create_bare_app()) ---------


def create_bare_app():
    """A Flask app whose one endpoint stores one row with a single INSERT."""
    from flask import Flask, request

    app = Flask("bare")
    path = os.environ["BENCH_BARE_DB"]
    state: dict[str, sqlite3.Connection] = {}

    def connection() -> sqlite3.Connection:
        if "db" not in state:  # one connection per worker process, opened after the fork
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 15000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            state["db"] = conn
        return state["db"]

    @app.post("/bare")
    def bare() -> tuple[str, int]:
        connection().execute("INSERT INTO rows (value) VALUES (?)", (request.form.get("v", ""),))
        return "ok", 200

    return app


# --- preparing the survey database and sessions -------------------------------------------


def prepare_survey(db_path: Path, pool: int) -> tuple[str, list[tuple[str, str]]]:
    """Migrate, load the example campaign (opened), start ``pool`` responses.

    Returns the key figure's link code and (session cookie, CSRF token) pairs.
    """
    from flask import g, session
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf

    from campaign import create_app
    from campaign.contacts.services import save_key_figure
    from campaign.definitions.loader import read_campaign_file
    from campaign.definitions.services import load_campaign
    from campaign.extensions import db
    from campaign.attribution import root_link
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


def prepare_bare(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, value TEXT, created_at TEXT)")
    conn.close()


def lua_script(path: Path, sessions: list[tuple[str, str]]) -> Path:
    """A wrk script that posts page one, cycling through the prepared sessions."""
    body = urlencode(PAGE_ONE)
    entries = ",\n".join(f'  {{"{cookie}", "{token}"}}' for cookie, token in sessions)
    script = path / "survey.lua"
    script.write_text(
        f"""
local sessions = {{
{entries}
}}
local i = 0
function setup(thread)
  thread:set("start", math.random(#sessions))
end
function init(args)
  i = tonumber(start) or 0
end
function request()
  i = i % #sessions + 1
  local s = sessions[i]
  return wrk.format("POST", nil, {{
    ["Cookie"] = "session=" .. s[1],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }}, "{body}&csrf_token=" .. s[2])
end
""",
        encoding="utf-8",
    )
    return script


def bare_script(path: Path, static: bool = False) -> Path:
    """A wrk script that posts one field to the bare endpoint.

    Like the survey's, it builds every request in Lua (wrk's ``request()``), so
    that both sides cost the load generator alike: wrk shares the machine's two
    cores with the servers, and a static request (``static=True``, what this
    benchmark used before) costs it less CPU per request, which showed as a
    faster bare endpoint.
    """
    script = path / "bare.lua"
    if static:
        text = (
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            'wrk.body = "v=hallo"\n'
        )
    else:
        text = """
local i = 0
function request()
  i = i + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "v=hallo" .. i)
end
"""
    script.write_text(text, encoding="utf-8")
    return script


# --- running servers and wrk --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    target: str, env: dict[str, str], log: Path, cwd: Path
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--no-control-socket",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        target,
    ]
    handle = log.open("w")
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nergens", timeout=1)
        except urllib.error.HTTPError:
            return process, port  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
            continue
        return process, port
    process.terminate()
    raise SystemExit(f"gunicorn did not start; see {log}")


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p99 (ms), non-2xx/3xx replies and socket errors from wrk's report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": rps,
        "p99_ms": p99,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    }


def measure(servers: dict[str, tuple[str, Path]], args) -> dict[str, dict[str, float]]:
    """Alternate short wrk runs on the servers (round-robin), so that both see the same
    machine: a neighbour's load hits both alike.  Returns the median of each figure."""
    for url, script in servers.values():
        run_wrk(url, script, 2, args.connections)  # warm-up: imports, caches, connections
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, (url, script) in servers.items():
            runs[name].append(run_wrk(url, script, args.duration, args.connections))
    return {
        name: {
            "rps": statistics.median(r["rps"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "p99_worst_ms": max(r["p99_ms"] for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "socket_errors": sum(r["socket_errors"] for r in results),
        }
        for name, results in runs.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per server")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--pool", type=int, default=200, help="responses started beforehand")
    parser.add_argument(
        "--static-bare",
        action="store_true",
        help="post one fixed request to the bare endpoint (cheaper for wrk; the earlier method)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: install it with `apt-get install -y wrk`", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-survey-"))
    code, sessions = prepare_survey(work / "survey.sqlite3", args.pool)
    prepare_bare(work / "bare.sqlite3")
    survey_env = {
        "CAMPAIGN_SECRET_KEY": SECRET,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'survey.sqlite3'}",
    }
    processes = []
    try:
        bare_server, bare_port = start_gunicorn(
            "bench_survey:create_bare_app()",
            {"BENCH_BARE_DB": str(work / "bare.sqlite3")},
            work / "bare.log",
            ROOT / "bench",
        )
        processes.append(bare_server)
        survey_server, survey_port = start_gunicorn(
            "wsgi:app", survey_env, work / "survey.log", ROOT
        )
        processes.append(survey_server)
        results = measure(
            {
                "bare": (
                    f"http://127.0.0.1:{bare_port}/bare",
                    bare_script(work, static=args.static_bare),
                ),
                "survey": (
                    f"http://127.0.0.1:{survey_port}/s/{code}/vraag/1",
                    lua_script(work, sessions),
                ),
            },
            args,
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
    bare, survey = results["bare"], results["survey"]
    for name, figures in results.items():
        log_text = (work / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        figures["locked"] = "database is locked" in log_text
    report(bare, survey, args)
    shutil.rmtree(work, ignore_errors=True)
    ok = (
        survey["rps"] / bare["rps"] >= GOALS["ratio"]
        and survey["p99_ms"] < GOALS["p99_ms"]
        and survey["non_2xx"] + survey["socket_errors"] == 0
        and not survey["locked"]
    )
    return 0 if ok else 1


def report(bare: dict, survey: dict, args) -> None:
    print(
        f"gunicorn -w 2, SQLite (WAL), wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} alternating rounds (medians; errors summed); bare request built "
        + ("once (static)" if args.static_bare else "per request in Lua, as the survey's")
    )
    for name, r in (("bare INSERT", bare), ("survey page", survey)):
        print(
            f"  {name:<12} {r['rps']:8.0f} req/s   p99 {r['p99_ms']:6.1f} ms   "
            f"non-2xx/3xx {r['non_2xx']}   socket errors {r['socket_errors']}   "
            f"'database is locked': {'YES' if r['locked'] else 'no'}"
        )
    ratio = survey["rps"] / bare["rps"]
    print(
        f"  ratio survey/bare: {ratio:.2f} (goal >= {GOALS['ratio']}), "
        f"survey p99 {survey['p99_ms']:.1f} ms (goal < {GOALS['p99_ms']:.0f} ms)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
