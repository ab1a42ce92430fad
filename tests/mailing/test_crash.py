"""A sender killed with SIGKILL at random points loses no mail and duplicates at most
the one message in flight at each kill (with the same Message-ID)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.mailing.render import campaign_context
from campaign.mailing.services import Recipient, queue_messages
from campaign.models import Message, MessageStatus

ROOT = Path(__file__).resolve().parents[2]
MAILS = 1000
KILLS = 20


def sender_process(app, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "CAMPAIGN_MAIL_SERVER": "127.0.0.1",
        "CAMPAIGN_MAIL_PORT": str(port),
        "CAMPAIGN_SECRET_KEY": "a-long-enough-secret-for-the-crash-test",
        "CAMPAIGN_BASE_URL": "http://campagne.example.org",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send-queued"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_after(process: subprocess.Popen, sink, more: int) -> None:
    """SIGKILL the sender as soon as the server has accepted ``more`` further messages."""
    target = len(sink.messages) + more
    deadline = time.monotonic() + 30
    while len(sink.messages) < target and process.poll() is None:
        assert time.monotonic() < deadline, "the sender made no progress"
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


@pytest.mark.slow
def test_sigkill_mid_send_loses_nothing_and_duplicates_at_most_one_per_kill(
    app, smtp_server, example_campaign
):
    sink, port = smtp_server
    shared = campaign_context(example_campaign)
    recipients = [
        Recipient(
            email=f"winnaar{i}@example.org",
            name=f"Winnaar {i}",
            context={**shared, "name": f"Winnaar {i}", "prize": "een hartige box"},
        )
        for i in range(MAILS)
    ]
    assert queue_messages(example_campaign, "winner", recipients).queued == MAILS
    expected = set(db.session.scalars(select(Message.message_id)))
    db.session.remove()

    chance = random.Random()
    for _kill in range(KILLS):
        # At least 2: a restarted sender first resends the message the last kill left in
        # flight; killing right after that resend would put the same message in flight at
        # two kills (a third copy), which "at most one duplicate per kill" allows but the
        # "no Message-ID more than twice" check below would not.
        kill_after(sender_process(app, port), sink, more=chance.randint(2, 40))
    final = sender_process(app, port)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()

    received = Counter(str(m["Message-ID"]) for m in sink.messages)
    assert set(received) == expected  # every message arrived, nothing foreign
    assert max(received.values()) <= 2
    duplicates = sum(count - 1 for count in received.values())
    print(f"{KILLS} kills, {len(sink.messages)} deliveries, {duplicates} duplicates")
    assert duplicates <= KILLS
    sent = db.session.scalar(select(func.count()).where(Message.status == MessageStatus.SENT.value))
    assert sent == MAILS
