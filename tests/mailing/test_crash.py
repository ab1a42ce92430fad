"""Real ``flask mail send-queued`` processes against the real SMTP server: killed with
SIGKILL at each named failpoint, and several at once.

A kill loses no mail and duplicates at most the message in flight (with its
Message-ID); three senders at once deliver every mail exactly once; a killed
sender's claim is taken over only once its lease has ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign import clock
from campaign.extensions import db
from campaign.mailing.render import campaign_context
from campaign.mailing.services import Recipient, queue_messages
from campaign.models import Message, MessageStatus

ROOT = Path(__file__).resolve().parents[2]


def sender(app, port: int, *args: str, **env: str) -> subprocess.Popen:
    """``flask mail send-queued`` in a process of its own, on the test's database."""
    inherited = {k: v for k, v in os.environ.items() if k != "CAMPAIGN_FAILPOINTS"}
    environment = {
        **inherited,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "CAMPAIGN_MAIL_SERVER": "127.0.0.1",
        "CAMPAIGN_MAIL_PORT": str(port),
        "CAMPAIGN_SECRET_KEY": "a-long-enough-secret-for-the-crash-test",
        "CAMPAIGN_BASE_URL": "http://campagne.example.org",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send-queued", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen) -> int:
    _out, err = process.communicate(timeout=300)
    assert process.returncode in (0, -signal.SIGKILL), err.decode()
    return process.returncode


def queue_winner_mails(campaign, count: int) -> set[str]:
    shared = campaign_context(campaign)
    recipients = [
        Recipient(
            email=f"winnaar{i}@example.org",
            name=f"Winnaar {i}",
            context={**shared, "name": f"Winnaar {i}", "prize": "een hartige box"},
        )
        for i in range(count)
    ]
    assert queue_messages(campaign, "winner", recipients).queued == count
    ids = set(db.session.scalars(select(Message.message_id)))
    db.session.remove()  # the senders are other processes: hold no transaction open
    return ids


def wait_out_leases() -> None:
    """Sleep until every claim left in ``sending`` has expired."""
    latest = db.session.scalar(select(func.max(Message.lease_until)))
    db.session.remove()
    if latest is not None:
        time.sleep(max((latest - clock.now()).total_seconds(), 0) + 0.1)


def all_sent() -> bool:
    db.session.expire_all()
    statuses = set(db.session.scalars(select(Message.status)))
    db.session.remove()
    return statuses == {MessageStatus.SENT.value}


#: (failpoint, whether the message in flight at the kill reached the server)
POINTS = [
    ("after_claim_commit", False),
    ("after_data", False),
    ("after_250", True),
    ("before_record", True),
]


@pytest.mark.slow
def test_sigkill_at_each_failpoint_duplicates_only_the_message_in_flight(
    app, smtp_server, example_campaign
):
    sink, port = smtp_server
    expected = queue_winner_mails(example_campaign, 120)
    in_flight = set()
    for number, (point, delivered) in enumerate(POINTS, start=2):
        process = sender(
            app, port, CAMPAIGN_FAILPOINTS=f"{point}:{number}", CAMPAIGN_MAIL_LEASE_SECONDS="1"
        )
        assert finish(process) == -signal.SIGKILL, point
        if delivered:  # the server has it, our database does not know
            in_flight.add(str(sink.messages[-1]["Message-ID"]))
    wait_out_leases()
    final = sender(app, port, CAMPAIGN_MAIL_LEASE_SECONDS="1")
    assert finish(final) == 0

    received = Counter(str(m["Message-ID"]) for m in sink.messages)
    assert set(received) == expected  # every message arrived, nothing foreign
    duplicated = {message_id for message_id, count in received.items() if count > 1}
    assert duplicated == in_flight
    assert max(received.values()) == 2
    assert all_sent()


@pytest.mark.slow
def test_three_senders_at_once_deliver_every_mail_exactly_once(app, smtp_server, example_campaign):
    sink, port = smtp_server
    expected = queue_winner_mails(example_campaign, 1000)
    processes = [sender(app, port) for _ in range(3)]
    assert [finish(process) for process in processes] == [0, 0, 0]
    received = Counter(str(m["Message-ID"]) for m in sink.messages)
    assert set(received) == expected
    assert set(received.values()) == {1}
    claims = db.session.execute(select(Message.claimed_by, Message.attempts, Message.status)).all()
    assert {(attempts, status) for _by, attempts, status in claims} == {(1, "sent")}
    assert all(by for by, _attempts, _status in claims)  # each claimed once, by one sender
    print("mails per sender:", Counter(by for by, _a, _s in claims))


@pytest.mark.slow
def test_a_killed_senders_claim_is_taken_over_only_after_its_lease(
    app, smtp_server, example_campaign
):
    sink, port = smtp_server
    expected = queue_winner_mails(example_campaign, 300)
    killed = sender(
        app, port, CAMPAIGN_FAILPOINTS="before_record:3", CAMPAIGN_MAIL_LEASE_SECONDS="8"
    )
    assert finish(killed) == -signal.SIGKILL
    in_flight = str(sink.messages[-1]["Message-ID"])
    held = db.session.execute(
        select(Message.id, Message.lease_until).where(Message.status == "sending")
    ).all()
    db.session.remove()
    assert held  # the rest of the killed sender's batch, under a live lease
    lease_until = max(until for _id, until in held)
    live = [sender(app, port) for _ in range(2)]
    assert [finish(process) for process in live] == [0, 0]
    wait_out_leases()
    assert finish(sender(app, port)) == 0

    received = Counter(str(m["Message-ID"]) for m in sink.messages)
    assert set(received) == expected
    assert {message_id for message_id, count in received.items() if count > 1} == {in_flight}
    sent_at = dict(
        db.session.execute(
            select(Message.id, Message.sent_at).where(Message.id.in_([i for i, _ in held]))
        ).all()
    )
    # whoever sent the killed sender's messages did so after its lease had ended
    assert all(moment >= lease_until for moment in sent_at.values())
    assert all_sent()


@pytest.mark.slow
def test_a_watching_sender_stops_cleanly_on_sigterm(app, smtp_server, example_campaign):
    sink, port = smtp_server
    queue_winner_mails(example_campaign, 5)
    watcher = sender(app, port, "--watch")
    deadline = time.monotonic() + 60
    while len(sink.messages) < 5:
        assert time.monotonic() < deadline, "the watching sender sent nothing"
        time.sleep(0.05)
    watcher.send_signal(signal.SIGTERM)
    _out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err.decode()
    assert all_sent()
