"""1,000 mails through three senders that get killed, into a mail server that fails
(issue 13, item 5).

Three ``flask mail send-queued --watch`` processes (the sender loop the scheduler
runs, ``campaign.mailing.sender.run_sender``) work on one outbox of 1,000 queued
invitations.  Kills: senders are started with ``CAMPAIGN_FAILPOINTS`` (see
``campaign/failpoints.py``) so that they SIGKILL themselves at a named point
(``after_claim_commit``, ``after_data``, ``after_250``, ``before_record``), each
point ``--kills-per-point`` times, at a random count; a killed sender is replaced at
once (as systemd's ``Restart=always`` would), with the next kill plan while any is
left, then without one.  The mail server is aiosmtpd on 127.0.0.1 (a port of this
script's own) that answers ``451`` to ``--fail-rate`` of the delivery attempts (at
RCPT or after DATA) and drops the connection without a reply on ``--drop-rate`` more.

The outbox is seeded with the app's own commands and services: ``flask db upgrade``,
``flask campaign load`` (the example campaign, its schedule opened), ``flask contacts
import`` of 1,000 generated key figures, then ``queue_invitations`` (what the
dashboard's send button does); on a fresh SQLite file and on a PostgreSQL database of
the script's own (``load_mail_<pid>`` on 127.0.0.1:5432, dropped at the end).
Retries are made quick (``MAIL_RETRY_BASE_SECONDS=1``), the lease short
(``MAIL_LEASE_SECONDS``, ``--lease``): the figures are about what is delivered, not
about the production retry schedule.

Promises checked (exit status 1 when one is broken): every mail delivered (every
outbox Message-ID received, every row ``sent``); a Message-ID received twice only
for the message a sender was killed with after the server's 250 (``after_250``,
``before_record``: the server has it, the database does not know), and no more
copies than one plus the kills it was in flight at (a message taken over after a kill
can be in flight at a second one); the watching senders stop cleanly on SIGTERM once all is sent.

Run: .venv/bin/python bench/fault_mail.py [--mails 1000] [--backends sqlite,pg]
     [--fail-rate 0.1] [--drop-rate 0.02] [--kills-per-point 2] [--lease 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import bench_survey as bs
import load_survey as ls

ROOT = bs.ROOT
POINTS = ("after_claim_commit", "after_data", "after_250", "before_record")
#: How many messages a sender killed at a point leaves delivered but not recorded (sent
#: again, with the same Message-ID, once its lease ends): after the server's 250 the one
#: in flight; at ``before_record`` one when that record was of a delivery, none when it
#: was of a 451 (the retry is recorded there too); before the content, none.
IN_FLIGHT = {
    "after_claim_commit": {0},
    "after_data": {0},
    "after_250": {1},
    "before_record": {0, 1},
}
#: The N-th time a point is reached, per point (a claim is made once per batch of 20).
COUNTS = {"after_claim_commit": (1, 3), "after_data": (5, 60), "after_250": (5, 60)}
COUNTS["before_record"] = COUNTS["after_250"]
SENDER_SLOTS = 3


# --- the mail server ----------------------------------------------------------------------------


class FlakyServer:
    """aiosmtpd handler: refuses (451) or drops a share of delivery attempts at random,
    at RCPT or after DATA; keeps the Message-ID of every message it accepts."""

    def __init__(self, fail_rate: float, drop_rate: float, seed: int) -> None:
        self.fail_rate = fail_rate
        self.drop_rate = drop_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        #: (Message-ID, time.time() of the 250) of every message accepted
        self.received: list[tuple[str, float]] = []
        self.counts: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str | None:
        draw = self.rng.random()
        where = "rcpt" if self.rng.random() < 0.5 else "data"
        if draw < self.fail_rate:
            envelope.fault = f"refuse {where}"
        elif draw < self.fail_rate + self.drop_rate:
            envelope.fault = f"drop {where}"
        else:
            envelope.fault = ""
        self.counts["attempts"] += 1
        if envelope.fault == "refuse rcpt":
            self.counts["refused"] += 1
            return "451 4.3.0 Probeer later opnieuw"
        if envelope.fault == "drop rcpt":
            return self._drop(server)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str | None:
        fault = getattr(envelope, "fault", "")
        if fault == "refuse data":
            self.counts["refused"] += 1
            return "451 4.3.0 Tijdelijk probleem, probeer later opnieuw"
        if fault == "drop data":
            return self._drop(server)
        message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
        with self.lock:
            self.received.append((str(message_id), time.time()))
        self.counts["accepted"] += 1
        return "250 Message accepted for delivery"

    def _drop(self, server: Any) -> str:
        """Close the connection without a reply (the client sees it go away)."""
        self.counts["dropped"] += 1
        server.transport.close()
        return "421 4.4.2 gone"  # never reaches the client: the connection is closed


# --- the outbox ---------------------------------------------------------------------------------


def seed_outbox(db: bs.Database, work: Path, mails: int) -> set[str]:
    """Migrate, load the example campaign, import ``mails`` key figures (the app's own
    commands) and queue an invitation for each (the dashboard's service); the queued
    Message-IDs."""
    env = {**bs.version_env(ROOT, db.url), "CAMPAIGN_BASE_URL": "http://campagne.example.org"}
    survey = bs.SURVEYS["example"]
    flask = str(bs.VENV_BIN / "flask")
    people = work / "key-figures.csv"
    lines = ["Naam;E-mail;Organisatie"]
    lines += [f"Persoon {i};persoon{i}@example.org;Organisatie {i % 50}" for i in range(mails)]
    people.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (
        ["db", "upgrade"],
        ["campaign", "load", str(bs.opened_copy(survey.file, work / "campaign.yaml"))],
        ["contacts", "import", survey.slug, str(people)],
    ):
        done = subprocess.run([flask, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    sys.path.insert(0, str(ROOT))  # this tree's app (a worktree's too), as the senders get
    from campaign import create_app
    from campaign.definitions.services import find_campaign
    from campaign.extensions import db as sa
    from campaign.mailing.services import queue_invitations

    app = create_app({"SQLALCHEMY_DATABASE_URI": db.url, "SECRET_KEY": bs.SECRET})
    with app.app_context():
        campaign = find_campaign(survey.slug)
        assert campaign is not None
        queued = queue_invitations(campaign).queued
        sa.session.remove()
        sa.engine.dispose()
    if queued != mails:
        raise SystemExit(f"queued {queued} invitations, expected {mails}")
    return {row[0] for row in db.query("SELECT message_id FROM messages")}


# --- the senders --------------------------------------------------------------------------------


@dataclass
class Kill:
    point: str
    count: int
    pid: int = 0
    in_flight: set[str] = field(default_factory=set)  # Message-IDs the server has


@dataclass
class Senders:
    """Three sender slots; a killed sender is replaced with the next plan."""

    db: bs.Database
    smtp_port: int
    lease: float
    work: Path
    plans: list[Kill]
    server: FlakyServer
    running: dict[int, tuple[subprocess.Popen, Kill | None]] = field(default_factory=dict)
    kills: list[Kill] = field(default_factory=list)
    unkilled: list[Kill] = field(default_factory=list)  # plans whose point was never reached
    started: int = 0
    bad_exits: list[str] = field(default_factory=list)

    def env(self, plan: Kill | None) -> dict[str, str]:
        env = bs.version_env(ROOT, self.db.url)  # this tree's app on the database
        env.pop("CAMPAIGN_FAILPOINTS", None)
        env.update(
            {
                "CAMPAIGN_BASE_URL": "http://campagne.example.org",
                "CAMPAIGN_MAIL_SERVER": "127.0.0.1",
                "CAMPAIGN_MAIL_PORT": str(self.smtp_port),
                "CAMPAIGN_MAIL_TIMEOUT": "10",
                "CAMPAIGN_MAIL_LEASE_SECONDS": str(self.lease),
                "CAMPAIGN_MAIL_RETRY_BASE_SECONDS": "1",
                "CAMPAIGN_MAIL_POLL_SECONDS": "0.5",
                "CAMPAIGN_MAIL_CONNECT_RETRY_SECONDS": "0.2",
            }
        )
        if plan is not None:
            env["CAMPAIGN_FAILPOINTS"] = f"{plan.point}:{plan.count}"
        return env

    def start(self, slot: int) -> None:
        plan = self.plans.pop(0) if self.plans else None
        log = (self.work / f"sender-{self.started}.log").open("ab")
        process = subprocess.Popen(
            [str(bs.VENV_BIN / "flask"), "mail", "send-queued", "--watch"],
            cwd=ROOT,
            env=self.env(plan),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started += 1
        if plan is not None:
            plan.pid = process.pid
        self.running[slot] = (process, plan)

    def check(self) -> None:
        """Replace every sender that died; note what a killed one had in flight."""
        for slot, (process, plan) in list(self.running.items()):
            code = process.poll()
            if code is None:
                continue
            if code == -signal.SIGKILL and plan is not None:
                plan.in_flight = self.in_flight(plan.pid)
                self.kills.append(plan)
            else:
                self.bad_exits.append(f"sender {process.pid} exited with {code}")
            self.start(slot)

    def in_flight(self, pid: int) -> set[str]:
        """Message-IDs still claimed by the killed ``pid`` that the server accepted after
        that claim: the message it was sending when it died, when that had got its 250.
        (A copy accepted before the claim was another killed sender's: the message was
        taken over once that sender's lease ended.)"""
        rows = self.db.query(
            "SELECT message_id, lease_until FROM messages "
            "WHERE status = 'sending' AND claimed_by LIKE ?",
            (f"%:{pid}:%",),
        )
        claimed = {mid: claim_time(until) - self.lease for mid, until in rows}
        with self.server.lock:
            received = list(self.server.received)
        return {mid for mid, at in received if mid in claimed and at >= claimed[mid]}

    def stop(self) -> list[int]:
        """SIGTERM to every sender; their exit codes."""
        codes = []
        for process, _plan in self.running.values():
            process.send_signal(signal.SIGTERM)
        for process, plan in self.running.values():
            try:
                codes.append(process.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: only ours
                codes.append(process.wait(timeout=10))
            if plan is not None and plan not in self.kills:
                self.unkilled.append(plan)
        self.running.clear()
        return codes


def claim_time(lease_until: Any) -> float:
    """``lease_until`` as read (a datetime, or SQLite's naive UTC text) in epoch seconds."""
    if isinstance(lease_until, str):
        lease_until = datetime.fromisoformat(lease_until)
    if lease_until.tzinfo is None:
        lease_until = lease_until.replace(tzinfo=UTC)
    return lease_until.timestamp()


def kill_plans(per_point: int, rng: random.Random) -> list[Kill]:
    plans = [Kill(point, rng.randint(*COUNTS[point])) for point in POINTS for _ in range(per_point)]
    rng.shuffle(plans)
    return plans


def not_sent(db: bs.Database) -> int:
    return db.query("SELECT count(*) FROM messages WHERE status <> 'sent'")[0][0]


# --- one backend ----------------------------------------------------------------------------------


def one_backend(backend: str, args: argparse.Namespace, work: Path, port: int) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    folder = work / backend
    folder.mkdir()
    if backend == "sqlite":
        db = bs.Database("sqlite", f"sqlite:///{folder / 'mail.sqlite3'}")
    else:
        db = ls.make_pg_database(args.pg_url, f"load_mail_{os.getpid()}")
    rng = random.Random(args.seed)
    server = FlakyServer(args.fail_rate, args.drop_rate, args.seed)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    senders = None
    try:
        expected = seed_outbox(db, folder, args.mails)
        if backend == "pg":
            db.query("ANALYZE")
        plans = kill_plans(args.kills_per_point, rng)
        senders = Senders(db, port, args.lease, folder, plans, server)
        started = time.monotonic()
        for slot in range(SENDER_SLOTS):
            senders.start(slot)
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            senders.check()
            if not_sent(db) == 0:
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        senders.check()
        exit_codes = senders.stop()
        left = not_sent(db)
    finally:
        if senders is not None and senders.running:
            senders.stop()
        controller.stop()
        ls.drop_pg_database(args.pg_url, db)
    return judge(backend, expected, server, senders, exit_codes, left, took)


def judge(
    backend: str,
    expected: set[str],
    server: FlakyServer,
    senders: Senders,
    exit_codes: list[int],
    left: int,
    took: float,
) -> dict[str, Any]:
    received = Counter(mid for mid, _at in server.received)
    missing = expected - set(received)
    foreign = set(received) - expected
    duplicated = {mid for mid, n in received.items() if n > 1}
    # One copy, and one more for each kill it was in flight at (a message taken over
    # after a kill can be in flight at a second kill).
    copies = Counter(mid for kill in senders.kills for mid in kill.in_flight)
    allowed = set(copies)
    too_many = {mid for mid, n in received.items() if n > 1 + copies[mid]}
    bad_in_flight = [k for k in senders.kills if len(k.in_flight) not in IN_FLIGHT[k.point]]
    kills = Counter(k.point for k in senders.kills)
    counts = server.counts
    ok = not (
        missing
        or foreign
        or left
        or too_many
        or bad_in_flight
        or senders.bad_exits
        or any(exit_codes)
    )
    print(
        f"  {backend:<6} {len(expected)} mails in {took:.1f} s ({len(expected) / took:.0f}/s), "
        f"{senders.started} sender processes, kills: "
        + ", ".join(f"{p} {kills[p]}" for p in POINTS)
        + f"; server: {counts['attempts']} attempts, {counts['refused']} refused 451, "
        f"{counts['dropped']} dropped, {counts['accepted']} accepted",
        flush=True,
    )
    print(
        f"  {'':<6} delivered {len(expected) - len(missing)}/{len(expected)}, not sent in the "
        f"database {left}, duplicates {len(duplicated)} (allowed: {len(allowed)}, the messages "
        f"in flight at a kill after the 250), max copies {max(received.values(), default=0)}"
        f" ({len(too_many)} with more copies than kills it was in flight at), "
        f"senders stopped on SIGTERM with {sorted(set(exit_codes))}; "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    for kill in bad_in_flight:
        print(f"  {'':<6} kill at {kill.point}:{kill.count} had {len(kill.in_flight)} delivered")
    for line in senders.bad_exits:
        print(f"  {'':<6} {line}")
    if senders.unkilled:
        print(
            f"  {'':<6} plans never reached: {[f'{k.point}:{k.count}' for k in senders.unkilled]}"
        )
    if missing or too_many:
        print(f"  {'':<6} missing {sorted(missing)[:5]}, too many copies {sorted(too_many)[:5]}")
    return {"ok": ok, "took": took}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,pg", help="comma-separated: sqlite, pg")
    parser.add_argument("--fail-rate", type=float, default=0.10, help="share answered 451")
    parser.add_argument("--drop-rate", type=float, default=0.02, help="share dropped, no reply")
    parser.add_argument("--kills-per-point", type=int, default=2)
    parser.add_argument("--lease", type=float, default=5.0, help="MAIL_LEASE_SECONDS")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this long")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= set(bs.BACKENDS):
        raise SystemExit(f"--backends: choose from {', '.join(bs.BACKENDS)}")
    print(
        f"{bs.machine_now()}  {args.mails} mails, "
        f"{SENDER_SLOTS} senders, {args.kills_per_point} kills per point, "
        f"{args.fail_rate:.0%} refused, {args.drop_rate:.0%} dropped",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="fault-mail-"))
    try:
        results = [one_backend(b, args, work, ls.own_port()) for b in backends]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r["ok"] for r in results)
    print(
        "PASS: every mail delivered, duplicates only at a kill after the 250"
        if ok
        else "FAIL: see above"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
