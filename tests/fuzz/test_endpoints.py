"""A bounded, seeded fuzz run of every endpoint of the app against a live server.

The app is served on a loopback port (``live_server``: real HTTP through werkzeug's
server, a real database) and every rule of ``app.url_map`` is walked, logged out and
logged in as a coordinator: its path parameters filled with valid values (the seeded
campaign's slug, link code and tokens) and hostile ones (huge and negative numbers,
%-encoded NUL and control characters, a forged log line, invalid UTF-8, unicode, very
long text); a GET of each, and the rule's POSTs with the form fields of the real page
(and others) given hostile values, with the page's own CSRF token and without one.

Every answer must be below 500 and hold no traceback, and the log must hold no error
and no traceback.  The same requests on every run (``random.Random(SEED)``); a few
thousand per database.
"""

from __future__ import annotations

import html
import http.client
import logging
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from werkzeug.routing import Rule

from campaign.channels.services import ChannelValues, create_channel
from campaign.extensions import db
from campaign.mailing.services import queue_invitations
from campaign.models import Coordinator, Message
from campaign.security import VALUE_CONTROL
from campaign.survey import services as survey
from campaign.survey.resume import resume_token
from campaign.tokens import KEY_FIGURE_PAGE, SET_PASSWORD, UNSUBSCRIBE, make_token
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD

#: The run's seed; CAMPAIGN_FUZZ_SEED=N explores other requests (CI keeps 13).
SEED = int(os.environ.get("CAMPAIGN_FUZZ_SEED", "13"))
#: Hostile values tried per path parameter, of those below.
PATH_TRIES = 3
#: Values put in a path parameter, already %-encoded as a client sends them.
HOSTILE_PATH = [
    "0", "-1", "2147483647", "2147483648", "99999999999999999999999", "1e9", "%00",
    "%00abc", "%01", "%1b%5b31m", "%7f", "%0d%0a2026-12-01%20ERROR%20forged", "%09",
    "%C3%A9t%C3%A9", "%F0%9F%98%80", "%E2%80%AE", "%FF%FE", "%C0%AF", "x" * 3000,
    "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a%2Fb", "%27%20OR%201%3D1--", "%3Cscript%3E",
    "%25", "%20", "null",
]  # fmt: skip
#: Tried in every whole-number parameter: past PostgreSQL's integer, past SQLite's.
ALWAYS_NUMBER = ["2147483648", "99999999999999999999999"]
#: Values put in form fields and queries.
HOSTILE_VALUES = [
    "", " ", "0", "-1", "1", "2147483648", "9" * 40, "1e308", "nan", "-0", "1,5",
    "\x00", "a\x01b", "\x1b[31m", "\x7f", "\r\n2026-12-01 ERROR forged", "\t", "é" * 50,
    "😀", "\u202e", "x" * 20_000, "' OR 1=1--", "<script>alert(1)</script>", "{{7*7}}",
    "../../etc/passwd", "a@b", "coordinator@example.org", "2027-02-30", "2027-06-28T09:00",
    "9999-12-31", "ja", "on", "__other__", "csv", "welzijn",
]  # fmt: skip
PRINTABLE_VALUES = [v for v in HOSTILE_VALUES if not VALUE_CONTROL.search(v)]
#: POSTs that would end the walk's use of the logged-in session or of the campaign:
#: sent once, at the end of the walk.
LAST = {"auth.logout", "auth.set_active", "dashboard.close", "draw_dashboard.purge"}
#: Query keys tried on every GET (the app's own plus any).
QUERY_KEYS = ["pagina", "page", "q", "sector", "status", "next", "opnieuw", "sort", "x"]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class Client:
    """One browser: its cookies, and the CSRF token of the last page that had one."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    sent: int = 0
    #: Log in again whenever the app sends this browser to the login page (a POST that
    #: ended the session, e.g. a new password link for oneself), so the walk goes on
    #: logged in.
    stay_logged_in: bool = False
    logins: int = 0

    def request(self, method: str, path: str, body: bytes = b"", kind: str = "") -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body or method == "POST":
            headers["Content-Type"] = kind or "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        self.sent += 1
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        if token:
            self.csrf = token.group(1)
        location = urlsplit(answer.headers.get("Location", "")).path
        if self.stay_logged_in and location == "/login" and path != "/login":
            log_in(self)
        return Reply(answer.status, answer.headers, text)


@dataclass
class Forms:
    """Field names and option values seen on the app's pages, by the form's action."""

    fields: dict[str, set[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)

    def read(self, path: str, text: str) -> None:
        for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", text, re.S | re.I):
            action = re.search(r'action="([^"]*)"', form.group(1))
            target = urlsplit(html.unescape(action.group(1)) if action else path).path or path
            names = set(re.findall(r'name="([^"]+)"', form.group(2))) - {"csrf_token"}
            self.fields.setdefault(target, set()).update(names)
            if 'type="file"' in form.group(2):
                self.files.add(target)
            self.values.update(v for v in re.findall(r'value="([^"]{0,60})"', form.group(2)))


def valid_values(app: Flask, campaign, key_link, coordinator) -> dict[tuple[str, str], str]:
    """(endpoint or "*", argument) -> a valid value, from data seeded the way users make it."""
    response = survey.start_response(key_link)
    channel = create_channel(campaign, ChannelValues(name="Nieuwsbrief"))
    queue_invitations(campaign)
    message = db.session.query(Message).first()
    account = db.session.get(Coordinator, coordinator.id)
    values = {
        ("*", "slug"): campaign.slug,
        ("*", "code"): key_link.code,
        ("*", "number"): "1",
        ("*", "key_figure_id"): str(key_link.key_figure_id),
        ("*", "channel_id"): str(channel.id),
        ("*", "message_id"): str(message.id if message else 1),
        ("*", "account_id"): str(account.id),
        ("*", "question_id"): "moeilijke_hulpvraag",
        ("*", "file_format"): "csv",
        ("*", "kind"): "png",
        ("*", "name"): "bericht.eml",
        ("*", "filename"): "css/app.css",
        ("mailing.key_figure", "token"): make_token(KEY_FIGURE_PAGE, {"k": key_link.key_figure_id}),
        ("mailing.key_figure_qr", "token"): make_token(
            KEY_FIGURE_PAGE, {"k": key_link.key_figure_id}
        ),
        ("mailing.unsubscribe", "token"): make_token(UNSUBSCRIBE, {"k": key_link.key_figure_id}),
        ("survey.resume", "token"): resume_token(response),
        ("auth.set_password", "token"): make_token(
            SET_PASSWORD, {"c": account.id, "n": account.token_nonce}
        ),
    }
    db.session.commit()
    return values


def is_number(rule: Rule, argument: str) -> bool:
    return f"<int:{argument}>" in rule.rule


def placeholder(rule: Rule, argument: str) -> str:
    """A value the rule's converter takes, unlike anything else in a URL."""
    return "987654321" if is_number(rule, argument) else f"zzfuzz{argument}zz"


def build(app: Flask, rule: Rule, values: dict[tuple[str, str], str], override: dict[str, str]):
    """The rule's path with valid values, but ``override``'s arguments, put in as given
    (already %-encoded): built by the URL map with a placeholder that is then replaced."""
    filled = {}
    for argument in rule.arguments:
        if argument in override:
            filled[argument] = placeholder(rule, argument)
        else:
            filled[argument] = values.get((rule.endpoint, argument), values.get(("*", argument)))
    adapter = app.url_map.bind("localhost")
    path = adapter.build(rule.endpoint, filled, method=sorted(rule.methods or {"GET"})[0])
    for argument, value in override.items():
        path = path.replace(placeholder(rule, argument), value, 1)
    return path


def paths(app: Flask, rule: Rule, values, rng: random.Random) -> Iterator[str]:
    """The rule's valid path, then each argument replaced by a few hostile values."""
    yield build(app, rule, values, {})
    for argument in sorted(rule.arguments):
        always = ALWAYS_NUMBER if is_number(rule, argument) else []
        for hostile in [*always, "%00", *rng.sample(HOSTILE_PATH, PATH_TRIES)]:
            yield build(app, rule, values, {argument: hostile})


def multipart(fields: list[tuple[str, str]], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    out = []
    for name, value in fields:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    body = "".join(out).encode("utf-8", errors="surrogatepass")
    for name, content in files.items():
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="bestand.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def form_body(
    path: str, forms: Forms, client: Client, rng: random.Random, with_token: bool
) -> tuple[bytes, str]:
    """A fuzzed body for a POST to ``path``: the fields of its form (or any seen), each
    with a hostile value or one of the page's own."""
    names = sorted(forms.fields.get(path, set()))
    if not names or rng.random() < 0.2:
        pool = sorted(set().union(*forms.fields.values()) or {"naam"})
        names += rng.sample(pool, min(3, len(pool)))
    own = sorted(forms.values) or ["x"]
    # Most bodies hold no control character, which is refused before any view runs.
    hostile = HOSTILE_VALUES if rng.random() < 0.3 else PRINTABLE_VALUES
    pairs = [
        (name, rng.choice(hostile) if rng.random() < 0.7 else rng.choice(own))
        for name in names
        for _ in range(rng.choice([1, 1, 1, 2]))
    ]
    if with_token:
        pairs.append(("csrf_token", client.csrf))
    elif rng.random() < 0.5:
        pairs.append(("csrf_token", rng.choice(["x", "", client.csrf[::-1]])))
    if path in forms.files:
        content = rng.choice(
            [
                b"",
                b"naam;e-mail\r\nAn;an@example.org\r\n",
                b'naam;e-mail\r\n"An' + b"x" * 200_000 + b"\r\n",
                b"naam;e-mail;bereik\r\nAn\x07;an@example.org;" + b"9" * 5000 + b"\r\n",
                b"slug: x\ntitle: " + b"[" * 3000 + b"\n",
                b"slug: x\nschedule:\n  opens_at: 2027-02-30\n",
                bytes(rng.randrange(256) for _ in range(300)),
            ]
        )
        return multipart(pairs, {"file": content, "bestand": content})
    return urlencode(pairs).encode(), ""


#: The load balancer's health check says 503 when the scheduler is not running (as here).
MAY_BE_UNAVAILABLE = {"/health"}


def check(reply: Reply, method: str, path: str) -> None:
    where = f"{method} {path[:200]}"
    if not (reply.status == 503 and urlsplit(path).path in MAY_BE_UNAVAILABLE):
        assert reply.status < 500, (where, reply.status, reply.text[:500])
    assert "Traceback" not in reply.text and 'File "/' not in reply.text, where


def log_problems(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()[:300]}"
        for r in records
        if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()
    ]


def walk(app: Flask, client: Client, values, forms: Forms, rng: random.Random) -> None:
    """GET every rule's paths (reading their forms), then POST to every POST rule."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    posts = []
    for rule in rules:
        methods = rule.methods or set()
        for path in paths(app, rule, values, rng):
            if "GET" in methods:
                query = urlencode({rng.choice(QUERY_KEYS): rng.choice(HOSTILE_VALUES)})
                for target in (path, f"{path}?{query}"):
                    reply = client.request("GET", target)
                    check(reply, "GET", target)
                    if reply.status == 200 and "html" in reply.headers.get("Content-Type", ""):
                        forms.read(path, reply.text)
            if "POST" in methods:
                posts.append((rule.endpoint in LAST, rule.endpoint, path))
    for _last, _endpoint, path in sorted(posts):
        for with_token in (True, False):
            body, kind = form_body(urlsplit(path).path, forms, client, rng, with_token)
            reply = client.request("POST", path, body, kind)
            check(reply, "POST", path)


def log_in(client: Client) -> None:
    client.logins += 1
    assert client.logins < 50, "logged out again and again"
    client.stay_logged_in = False
    client.request("GET", "/login")
    body = urlencode(
        {"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD, "csrf_token": client.csrf}
    )
    reply = client.request("POST", "/login", body.encode())
    assert reply.status == 302, reply.status
    assert client.request("GET", "/dashboard/").status == 200
    client.stay_logged_in = True


@pytest.fixture
def seeded(app, open_campaign, key_link, coordinator):
    app.config["WTF_CSRF_ENABLED"] = True  # the real check, so a token from the page matters
    return valid_values(app, open_campaign, key_link, coordinator)


def test_every_endpoint_with_hostile_input_gives_no_server_error_and_no_traceback(
    app, seeded, live_server, caplog
):
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    split = urlsplit(live_server)
    forms = Forms()
    visitor = Client(split.hostname or "127.0.0.1", split.port or 80)
    # Twice: the second walk finds the question pages the first one's start opened.
    walk(app, visitor, seeded, forms, rng)
    walk(app, visitor, seeded, forms, rng)
    coordinator = Client(split.hostname or "127.0.0.1", split.port or 80)
    log_in(coordinator)
    walk(app, coordinator, seeded, forms, rng)
    assert not log_problems(caplog.records)
    assert len(forms.fields) > 20 and visitor.sent + coordinator.sent > 1000
    print(f"fuzz: {visitor.sent + coordinator.sent} requests, {coordinator.logins} logins")
