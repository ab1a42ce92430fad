"""Benchmark: queue and send invitations to 5,000 key figures, against a plain smtplib loop.

All loops push the same messages over one SMTP connection to the same local
aiosmtpd sink (a separate process, started here), in the same run, so the
ratios are meaningful on a shared, noisy machine.

The baseline is the loop a person would write with the standard library: for
each message, from subject, bodies and headers rendered beforehand (not timed),
a default ``EmailMessage(policy=email.policy.SMTP)`` with the same headers,
``set_content(text)``, ``add_alternative(html, subtype="html")``, and
``SMTP.send_message`` over one connection:

    ratio = plain EmailMessage loop time / our time   (throughput ratio; goal >= 0.7)

Also printed: a loop that only pushes the same messages as bytes rendered
beforehand (``sendmail``), the floor of the SMTP exchange alone, and its ratio.

"Our time" covers everything a coordinator waits for: rendering and queueing
5,000 personalised invitations (tokens, links, both bodies) in a fresh SQLite
database, then sending them: batch claims with leases, one ``EmailMessage`` built
and one status update per message.

Run: .venv/bin/python bench/bench_invitations.py [--count 5000]
"""

from __future__ import annotations

import argparse
import email.policy
import secrets
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Rendered:
    """One message as the plain loop gets it: everything rendered, nothing built."""

    sender: str
    recipient: str
    headers: list[tuple[str, str]]
    text: str
    html: str


def rendered(row: Any, date: str) -> Rendered:
    """The same headers our sender sets: the stored ones, Subject, Date, Message-ID."""
    headers = [*row.headers.items(), ("Subject", row.subject), ("Date", date)]
    headers.append(("Message-ID", row.message_id))
    sender = parseaddr(row.headers["From"])[1]
    return Rendered(sender, row.recipient_email, headers, row.body_text, row.body_html)


def plain_message_loop(port: int, messages: list[Rendered]) -> float:
    """The baseline: a default EmailMessage per message, sent with send_message."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as connection:
        for item in messages:
            message = EmailMessage(policy=email.policy.SMTP)
            for name, value in item.headers:
                message[name] = value
            message.set_content(item.text)
            if item.html:
                message.add_alternative(item.html, subtype="html")
            connection.send_message(message, item.sender, [item.recipient])
    return time.perf_counter() - started


def bytes_loop(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    """The floor: the SMTP exchange alone, for messages rendered to bytes beforehand."""
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
                ours, plain_times, bytes_times = run_all(campaign, port)
                db.session.remove()
                db.engine.dispose()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    report(args.count, ours, plain_times, bytes_times)


def run_all(campaign, port: int) -> tuple[float, list[float], list[float]]:
    """Both plain loops, ours, both plain loops again: their figures are the means."""
    started = time.perf_counter()
    queued = queue_invitations(campaign).queued
    queue_time = time.perf_counter() - started
    # The plain loops' input, from the rows just queued (not timed); ours sends them below.
    rows = db.session.execute(select(Message.__table__)).all()
    now = utcnow()
    messages = [rendered(row, format_datetime(now)) for row in rows]
    prepared = [
        (out.sender, out.recipient, out.message.as_bytes())
        for out in (build_message(row, now) for row in rows)
    ]
    plain_before, bytes_before = plain_message_loop(port, messages), bytes_loop(port, prepared)
    started = time.perf_counter()
    result = send_queued()
    send_time = time.perf_counter() - started
    bytes_after, plain_after = bytes_loop(port, prepared), plain_message_loop(port, messages)
    if result.sent != queued or not result.ok:
        raise SystemExit(f"only {result.sent} of {queued} sent: {result}")
    print(f"queue {queued} invitations: {queue_time:.2f} s; send: {send_time:.2f} s")
    return queue_time + send_time, [plain_before, plain_after], [bytes_before, bytes_after]


def _times(label: str, times: list[float]) -> float:
    mean = sum(times) / len(times)
    print(f"{label}: " + ", ".join(f"{t:.2f} s" for t in times) + f" (mean {mean:.2f} s)")
    return mean


def report(count: int, ours: float, plain_times: list[float], bytes_times: list[float]) -> None:
    plain = _times(f"plain loop, {count} EmailMessage built and sent (baseline)", plain_times)
    floor = _times(f"bytes loop, {count} messages rendered beforehand (SMTP floor)", bytes_times)
    print(f"ours, queue + send {count} invitations: {ours:.2f} s")
    ratio = plain / ours
    print(
        f"ratio (plain EmailMessage loop / ours): {ratio:.2f}  goal >= {GOAL}: "
        + ("met" if ratio >= GOAL else "MISSED")
    )
    print(
        f"floor ratio (bytes loop / ours): {floor / ours:.2f}  "
        "(the SMTP exchange alone, nothing built: not the goal's baseline)"
    )


if __name__ == "__main__":
    main()
