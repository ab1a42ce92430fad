"""A real SMTP server that greylists: every invitation still gets through, with the default
retry settings on a clock the test moves, and with a real sender process on real short
delays; an address that is never accepted is given up only after the window.  And no web
request waits on the mail server, even one that hangs.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from campaign.extensions import db
from campaign.mailing.reasons import TRY_LATER, explain_failure
from campaign.mailing.sender import count_due, run_sender, seconds_to_next_retry, send_queued
from campaign.mailing.services import queue_invitations
from campaign.mailing.settings import DEFAULTS, setting
from campaign.models import Message, MessageStatus
from tests.conftest import free_port
from tests.mailing.test_crash import finish, sender

#: In the example campaign's open period.
T0 = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
GREYLIST_REPLY = "451 4.7.1 Greylisted, please try again later"


class Clock:
    """The test's clock: it moves only when the test (or the sender's sleep) moves it."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class Greylister:
    """An aiosmtpd handler that answers 451 to every RCPT of an address until that address
    was first seen ``delay`` ago (by ``now``), then accepts it.  Addresses in ``never``
    are refused for ever."""

    def __init__(self, now: Callable[[], Any], delay: Any, never: tuple[str, ...] = ()) -> None:
        self.now, self.delay, self.never = now, delay, never
        self.lock = threading.Lock()
        self.first_seen: dict[str, Any] = {}
        self.refused: dict[str, list[Any]] = defaultdict(list)
        self.accepted: dict[str, list[Any]] = defaultdict(list)

    async def handle_RCPT(self, _server, _session, envelope, address, _options) -> str:
        moment = self.now()
        with self.lock:
            first = self.first_seen.setdefault(address, moment)
            if address in self.never or moment - first < self.delay:
                self.refused[address].append(moment)
                return GREYLIST_REPLY
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            for address in envelope.rcpt_tos:
                self.accepted[address].append((self.now(), str(message["Message-ID"])))
        return "250 Message accepted for delivery"


@pytest.fixture
def serve() -> Iterator[Callable[[Greylister], int]]:
    """Start a real aiosmtpd server on loopback with the given handler; returns its port."""
    controllers: list[Controller] = []

    def start(handler: Greylister) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def use_default_retry_settings(app, port: int, clock: Clock) -> None:
    """Undo the quick-retry settings of tests/mailing/conftest.py; pin the clock."""
    for name in DEFAULTS:
        app.config.pop(name, None)
    app.config.update(MAIL_PORT=port, CLOCK=clock.now)
    assert setting("MAIL_RETRY_BASE_SECONDS") == 300.0
    assert setting("MAIL_GIVE_UP_HOURS") == 48.0
    assert setting("MAIL_MAX_ATTEMPTS") == 0


class FastForward(threading.Event):
    """``run_sender``'s stop event: its waits move the test clock instead of sleeping.
    When nothing is due it jumps to the next retry (nothing else happens meanwhile),
    and it stops the sender once nothing is left to send or ``limit`` is passed."""

    def __init__(self, clock: Clock, limit: datetime) -> None:
        super().__init__()
        self.clock, self.limit = clock, limit

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.advance(timeout or 0)
        if not count_due(now=self.clock.now()):
            waiting = seconds_to_next_retry(None, self.clock.now())
            if waiting is None:
                self.set()  # the queue is empty: every mail was sent or given up
            else:
                self.clock.advance(waiting)
        db.session.commit()
        if self.clock.now() > self.limit:
            self.set()
        return self.is_set()


def statuses() -> dict[str, Message]:
    db.session.expire_all()
    rows = db.session.scalars(select(Message))
    return {m.recipient_email: m for m in rows}


def test_greylisting_of_15_minutes_is_passed_with_the_default_settings(
    app, serve, example_campaign, add_key_figures
):
    clock = Clock(T0)
    greylist = Greylister(clock.now, timedelta(minutes=15))
    use_default_retry_settings(app, serve(greylist), clock)
    add_key_figures(30)
    assert queue_invitations(example_campaign, now=clock.now()).queued == 30

    run_sender(now=clock.now, stop=FastForward(clock, limit=T0 + timedelta(days=3)))

    messages = statuses()
    assert {m.status for m in messages.values()} == {MessageStatus.SENT.value}
    assert set(greylist.accepted) == set(messages)  # every invitation arrived ...
    assert all(len(deliveries) == 1 for deliveries in greylist.accepted.values())  # ... once
    for address, [(accepted_at, message_id)] in greylist.accepted.items():
        assert greylist.refused[address]  # it was greylisted first
        assert accepted_at - greylist.first_seen[address] >= timedelta(minutes=15)
        assert message_id == messages[address].message_id
    # comfortably: the third or fourth try, within the first hour
    assert max(m.attempts for m in messages.values()) <= 4
    assert clock.now() - T0 < timedelta(hours=1)


def test_an_address_that_is_never_accepted_is_given_up_only_after_the_window(
    app, client, auth, serve, example_campaign, add_key_figures
):
    clock = Clock(T0)
    stubborn = "persoon0@example.org"
    greylist = Greylister(clock.now, timedelta(minutes=15), never=(stubborn,))
    use_default_retry_settings(app, serve(greylist), clock)
    add_key_figures(3)
    queue_invitations(example_campaign, now=clock.now())

    run_sender(now=clock.now, stop=FastForward(clock, limit=T0 + timedelta(days=5)))

    messages = statuses()
    given_up = messages.pop(stubborn)
    assert {m.status for m in messages.values()} == {MessageStatus.SENT.value}
    assert given_up.status == MessageStatus.FAILED.value
    tries = greylist.refused[stubborn]
    window = timedelta(hours=48)
    assert tries[-1] - tries[0] >= window  # the last try, after which it was given up
    assert tries[-2] - tries[0] < window  # tried again until the window was over
    assert len(tries) == given_up.attempts > 20  # many tries, hours apart at most
    assert max(b - a for a, b in zip(tries, tries[1:], strict=False)) <= timedelta(hours=2.5)
    hours = round((tries[-1] - T0).total_seconds() / 3600)
    assert 48 <= hours <= 51  # the first failure past the window (tries are <= 2.5 h apart)
    assert given_up.last_error == (
        f"opgegeven na {len(tries)} pogingen over {hours} uur: {GREYLIST_REPLY}"
    )
    explained = explain_failure(given_up.last_error)
    assert explained == f"{TRY_LATER} Opgegeven na {len(tries)} pogingen over {hours} uur."
    # and the mail page says it in those words, with the server's reply in small print
    auth.login()
    page = client.get(f"/dashboard/{example_campaign.slug}/mails/?status=mislukt").text
    assert stubborn in page and TRY_LATER in page and GREYLIST_REPLY in page


class RealTimeGreylister(Greylister):
    def __init__(self, seconds: float) -> None:
        super().__init__(time.monotonic, seconds)


@pytest.mark.slow
def test_a_real_sender_process_gets_every_invitation_past_a_real_greylist(
    app, serve, example_campaign, add_key_figures
):
    greylist = RealTimeGreylister(2.0)
    port = serve(greylist)
    add_key_figures(30)
    queue_invitations(example_campaign)
    db.session.remove()  # the sender is another process: hold no transaction open
    process = sender(
        app,
        port,
        "--watch",
        CAMPAIGN_MAIL_RETRY_BASE_SECONDS="0.5",
        CAMPAIGN_MAIL_POLL_SECONDS="0.2",
    )
    deadline = time.monotonic() + 90
    while len(greylist.accepted) < 30 and process.poll() is None:
        assert time.monotonic() < deadline, f"only {len(greylist.accepted)} of 30 arrived"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert finish(process) == 0
    assert len(greylist.accepted) == 30
    for address, deliveries in greylist.accepted.items():
        assert len(deliveries) == 1 and greylist.refused[address]
        assert deliveries[0][0] - greylist.first_seen[address] >= 2.0
    assert {m.status for m in statuses().values()} == {MessageStatus.SENT.value}


def test_the_invite_button_returns_while_the_mail_server_hangs(
    app, client, auth, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    stalled, release = threading.Event(), threading.Event()
    entered: list[str] = []

    def hang(envelope) -> None:
        entered.extend(envelope.rcpt_tos)
        stalled.set()
        release.wait(30)

    sink.refuse = hang
    auth.login()
    add_key_figures(1, prefix="eerst")
    queue_invitations(example_campaign)
    db.session.remove()

    def send_in_background() -> None:
        with app.app_context():
            send_queued()

    background = threading.Thread(target=send_in_background)
    background.start()
    try:
        assert stalled.wait(10)  # a sender is stuck in the middle of an SMTP transaction
        add_key_figures(2, prefix="daarna")
        response = client.post(f"/dashboard/{example_campaign.slug}/mails/uitnodigen")
        # the answer came back while the server still hung, and it never talked to it
        assert background.is_alive() and not release.is_set()
        assert response.status_code == 302
        assert entered == ["eerst0@example.org"]
    finally:
        release.set()
        background.join(30)
    send_queued()  # whatever the background sender left
    assert len(sink.messages) == 3
    assert {m.status for m in statuses().values()} == {MessageStatus.SENT.value}
