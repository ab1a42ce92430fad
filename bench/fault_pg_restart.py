"""Respondents through a PostgreSQL restart (issue 13, item 5): 200 at once for 60 s, the
database stopped in the middle and started again a few seconds later.

The load is ``load_survey.py``'s (full completions, each with a marker of its own,
against gunicorn as the Procfile runs it); the database is a throwaway PostgreSQL
cluster of this script's own (``initdb`` into a temp dir, as ``scripts/postgres.sh``
``start_throwaway_cluster`` does, on 127.0.0.1:55433-55439 with its unix socket in
the temp dir; stopped and removed at the end), never the machine's server on 5432.
Halfway through, ``pg_ctl stop -m fast`` (every connection is cut), ``--down``
seconds of nothing, ``pg_ctl start``; with ``--down 0``, ``pg_ctl restart -m fast``.

Promises checked (exit status 1 when one is broken):

- no answer that got a thank-you page is lost (looked up in the database by marker,
  with its link and every answer);
- errors only while the server is down: every failed request overlaps the window
  from the stop command to the moment ``pg_ctl start`` returned, and none is a 500
  (the app answers a Dutch 503 while it cannot reach the database);
- after the start, requests succeed again: the time from the start until the first
  success is printed;
- then, with no request running, ``pg_ctl restart -m fast`` and ``--after`` seconds of
  the same load: every pooled connection is stale when it is next used, and not one
  request may fail and every opening must be counted (``pool_pre_ping`` replaces
  them: without it the first request on a stale connection in each worker fails; on
  the welcome page that costs no error page, as counting the opening is best effort,
  but the opening goes uncounted).  The first phase cannot show that: the requests
  that fail during the outage make SQLAlchemy drop the whole pool anyway.

Run: .venv/bin/python bench/fault_pg_restart.py [--duration 60] [--clients 200] [--down 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_survey as bs
import load_survey as ls

PG_PORTS = range(55433, 55440)


def pg_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name or 0)
    )
    if not found:
        raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1]


class Cluster:
    """A throwaway PostgreSQL cluster: its own data dir, port and unix socket."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="load-pg-"))
        self.data = self.dir / "data"
        self.port = self._free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as postgres
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    @staticmethod
    def _free_port() -> int:
        for port in PG_PORTS:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
        raise SystemExit(f"no free port in {PG_PORTS.start}-{PG_PORTS.stop - 1}")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_owner, str(self.bin / program), *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", *args)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}"
        self._ctl("-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def remove(self) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate"]
            + ["stop"],
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Outage:
    down: float  # the stop command was given (monotonic)
    stopped: float  # it returned: the server is down
    up: float  # pg_ctl start returned: the server takes connections again


def restart_in_the_middle(cluster: Cluster, duration: float, down: float):
    def during(started: float) -> Outage:
        time.sleep(max(started + duration / 2 - time.monotonic(), 0))
        t_down = time.monotonic()
        if down > 0:
            cluster.stop("fast")
            t_stopped = time.monotonic()
            time.sleep(down)
            cluster.start()
        else:
            cluster.restart()
            t_stopped = t_down
        return Outage(t_down, t_stopped, time.monotonic())

    return during


def timeline(run: ls.Run, outage: Outage, step: float = 1.0) -> list[str]:
    """Per ``step`` seconds around the outage, by when the request was sent: requests
    answered well / failed (a request sent before the stop can fail: it waited in
    gunicorn's queue and was handled while the database was down)."""
    ok: Counter[int] = Counter()
    failed: Counter[int] = Counter()
    for start, _end, _kind, status in run.events:
        slot = int((start - outage.down) // step)
        (ok if status and status < 400 else failed)[slot] += 1
    for failure in run.failures:
        if failure.status and failure.status < 400:  # an unexpected 2xx/3xx reply
            slot = int((failure.started - outage.down) // step)
            ok[slot] -= 1
            failed[slot] += 1
    first = -3
    last = int((outage.up - outage.down) // step) + 3
    return [
        f"{slot * step:+5.0f} s: {ok[slot]:5d} ok {failed[slot]:5d} failed"
        for slot in range(first, last + 1)
    ]


def judge_outage(run: ls.Run, outage: Outage) -> dict:
    failures = run.failures
    outside = [f for f in failures if not (f.started <= outage.up and f.ended >= outage.down)]
    server_errors = [f for f in failures if f.status >= 500 and f.status != 503]
    # The first reply that succeeded once the server was back (a request that waited in
    # gunicorn's queue through the outage, or a new one).
    answered = [end for _start, end, _kind, status in run.events if 0 < status < 400]
    after = [end for end in answered if end >= outage.up]
    first_success = min(after) - outage.up if after else float("nan")
    last_failure = max((f.ended for f in failures), default=outage.up) - outage.up
    return {
        "outside": outside,
        "server_errors": server_errors,
        "first_success_ms": first_success * 1000,
        "last_failure_ms": last_failure * 1000,
        "down_s": outage.up - outage.down,
    }


def report_outage(run: ls.Run, figures: dict, outage: Outage) -> bool:
    """Print the outage's figures; True when its promises held."""
    judged = judge_outage(run, outage)
    print(
        f"  outage: stop at +{outage.down - run.started:.1f} s of the run, down after "
        f"{(outage.stopped - outage.down) * 1000:.0f} ms, up again {judged['down_s']:.2f} s "
        f"after the stop"
    )
    print(
        f"  {figures['errors']} failed requests, {len(judged['outside'])} outside the outage, "
        f"{len(judged['server_errors'])} server errors other than 503; from the moment pg_ctl "
        f"start returned: first success {judged['first_success_ms']:+.0f} ms, last failure "
        f"ended {judged['last_failure_ms']:+.0f} ms"
    )
    for line in timeline(run, outage):
        print(f"    {line}")
    for failure in judged["outside"][:5]:
        print(f"  OUTSIDE the outage: {failure.what} at {failure.started - outage.up:+.2f} s")
    return not (
        figures["lost"] or figures["stragglers"] or judged["outside"] or judged["server_errors"]
    )


def idle_restart(
    cluster: Cluster, server: bs.Server, db: bs.Database, survey: bs.Survey, args: Any
) -> bool:
    """``pg_ctl restart -m fast`` while no request runs, then ``--after`` seconds of load:
    every pooled connection is stale when it is next used, and none may cost an error
    (pool_pre_ping replaces it)."""
    # A second of load first, so that every worker's pool holds live connections again
    # (the outage had them all dropped; a worker without one would have nothing stale).
    ls.run_load(server, db, survey, args.clients, 1.0, prefix="refill")
    started = time.monotonic()
    cluster.restart()
    took = time.monotonic() - started
    run = ls.run_load(server, db, survey, args.clients, args.after, prefix="idle")
    figures = ls.summarize("idle restart", db, survey, run, args.clients)
    print(f"  {'':<12} (pg_ctl restart took {took:.2f} s, before the load)")
    return bool(figures["ok"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ls.common_arguments(parser, 60.0, 200)
    parser.add_argument(
        "--down", type=float, default=5.0, help="seconds stopped (0: pg_ctl restart -m fast)"
    )
    parser.add_argument(
        "--after", type=float, default=5.0, help="seconds of load after the idle restart"
    )
    args = parser.parse_args()
    survey = bs.SURVEYS[args.survey]
    print(
        f"{bs.machine_now()}  survey {survey.name}, "
        f"{args.clients} clients, {args.duration:g} s, PostgreSQL down {args.down:g} s halfway",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    cluster = Cluster()
    server = None
    try:
        db = ls.make_pg_database(cluster.url, "load_restart")
        took = bs.seed(ROOT, db, work, [survey])
        server = ls.start_production_server(db, work, ls.own_port())
        print(
            f"  cluster on port {cluster.port} ({cluster.bin.parent.name}), seeded in "
            f"{took:.1f} s, gunicorn on port {server.port}",
            flush=True,
        )
        ls.warm_up(server, db, survey, args.warmup)
        during = restart_in_the_middle(cluster, args.duration, args.down)
        run = ls.run_load(server, db, survey, args.clients, args.duration, during=during)
        figures = ls.summarize("pg restart", db, survey, run, args.clients)
        ok = report_outage(run, figures, run.during)
        ok = idle_restart(cluster, server, db, survey, args) and ok
    finally:
        if server is not None:
            server.stop()
        cluster.remove()
        shutil.rmtree(work, ignore_errors=True)
    print(
        "PASS: nothing lost, errors only while the server was down, none after an idle restart"
        if ok
        else "FAIL: see above"
    )
    return 0 if ok else 1


ROOT = bs.ROOT

if __name__ == "__main__":
    raise SystemExit(main())
