"""Benchmark: queue and send invitations to 5,000 key figures, against a plain smtplib loop.

Both push the same number of messages over one SMTP connection to the same
local aiosmtpd sink (a separate process, started here), in the same run, so
the ratio is meaningful on a shared, noisy machine:

    ratio = plain smtplib time / our time   (throughput ratio; goal >= 0.7)

"Our time" covers everything a coordinator waits for: rendering and queueing
5,000 personalised invitations (tokens, links, both bodies) in a fresh SQLite
database, then sending them: batch claims with leases, one ``EmailMessage`` built
and one status update per message.

Run: .venv/bin/python bench/bench_invitations.py [--count 5000]
"""

from __future__ import annotations

import argparse
import secrets
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.definitions.loader import parse_campaign_text  # noqa: E402
from campaign.definitions.services import load_campaign  # noqa: E402
from campaign.extensions import db  # noqa: E402
from campaign.mailing.sender import send_queued  # noqa: E402
from campaign.mailing.services import queue_invitations  # noqa: E402
from campaign.mailing.transport import build_message  # noqa: E402
from campaign.models import KeyFigure, Link, Message, new_link_code, utcnow  # noqa: E402

EXAMPLE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
GOAL = 0.7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    """aiosmtpd's discarding Sink handler in its own process, like a real relay would be."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


def make_campaign(app, count: int):
    spec = parse_campaign_text(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    campaign = load_campaign(spec).campaign
    sector = campaign.sectors[0]
    # Set-up only (not timed): bulk rows instead of 5,000 single saves.
    now = utcnow()
    db.session.execute(
        insert(KeyFigure),
        [
            {
                "campaign_id": campaign.id,
                "name": f"Sleutelfiguur Nr {i} Vandenbroucke",
                "email": f"sleutelfiguur{i}@example.org",
                "organisation": "Ligo Voorbeeldregio",
                "sector_id": sector.id,
                "network": "",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ],
    )
    ids = db.session.scalars(select(KeyFigure.id).where(KeyFigure.campaign_id == campaign.id))
    db.session.execute(
        insert(Link),
        [
            {
                "campaign_id": campaign.id,
                "key_figure_id": kf_id,
                "code": new_link_code(),
                "open_count": 0,
                "created_at": now,
            }
            for kf_id in ids
        ],
    )
    db.session.commit()
    return campaign


def plain_loop(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as connection:
        for sender, recipient, data in messages:
            connection.sendmail(sender, [recipient], data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(
                {
                    "SECRET_KEY": secrets.token_urlsafe(32),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                    "MAIL_SERVER": "127.0.0.1",
                    "MAIL_PORT": port,
                    "BASE_URL": "https://enquete.example.org",
                }
            )
            with app.app_context():
                upgrade()
                campaign = make_campaign(app, args.count)
                ours, plain_times = run_both(campaign, port)
                db.session.remove()
                db.engine.dispose()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    report(args.count, ours, plain_times)


def run_both(campaign, port: int) -> tuple[float, list[float]]:
    """Plain loop, ours, plain loop again: the plain figure is the mean of the two."""
    started = time.perf_counter()
    queued = queue_invitations(campaign).queued
    queue_time = time.perf_counter() - started
    # Pre-render the plain loop's messages from the rows just queued (not timed), then
    # put the rows back to 'queued' state is unnecessary: ours sends them below.
    rows = db.session.execute(select(Message.__table__)).all()
    now = utcnow()
    built = [build_message(row, now) for row in rows]
    prepared = [(out.sender, out.recipient, out.message.as_bytes()) for out in built]
    plain_before = plain_loop(port, prepared)
    started = time.perf_counter()
    result = send_queued()
    send_time = time.perf_counter() - started
    plain_after = plain_loop(port, prepared)
    if result.sent != queued or not result.ok:
        raise SystemExit(f"only {result.sent} of {queued} sent: {result}")
    print(f"queue {queued} invitations: {queue_time:.2f} s; send: {send_time:.2f} s")
    return queue_time + send_time, [plain_before, plain_after]


def report(count: int, ours: float, plain_times: list[float]) -> None:
    plain = sum(plain_times) / len(plain_times)
    ratio = plain / ours
    print(
        f"plain smtplib loop, {count} pre-rendered messages: "
        + ", ".join(f"{t:.2f} s" for t in plain_times)
        + f" (mean {plain:.2f} s)"
    )
    print(f"ours, queue + send {count} invitations: {ours:.2f} s")
    print(
        f"ratio (plain / ours): {ratio:.2f}  goal >= {GOAL}: {'met' if ratio >= GOAL else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
