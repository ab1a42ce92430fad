"""Security headers on every kind of page, Secure cookies and HSTS on https, no inline
script without the response's nonce in any template."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from campaign.mailing.services import key_figure_page_url
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, ROOT


def public_pages(key_link, key_figure) -> list[str]:
    code = key_link.code
    slug = key_link.campaign.slug
    return [
        f"/s/{code}",  # the survey's landing page
        f"/trekking/{slug}",  # the public draw page
        urlsplit(key_figure_page_url(key_figure)).path,  # a key figure's own page
        "/login",
        "/static/css/app.css",
        "/static/js/survey.js",
        "/s/bestaat-niet",  # a 404
    ]


def assert_secure_headers(reply, path: str) -> None:
    policy = reply.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'", path
    assert "unsafe-inline" not in directives["script-src"], path
    assert "unsafe-eval" not in directives["script-src"], path
    assert directives["frame-ancestors"] == "'self'", path
    assert directives["object-src"] == "'none'", path
    assert directives["base-uri"] == "'none'", path
    assert reply.headers["X-Content-Type-Options"] == "nosniff", path
    assert reply.headers["X-Frame-Options"] == "SAMEORIGIN", path
    assert reply.headers["Referrer-Policy"] == "same-origin", path


def test_every_kind_of_public_page_has_the_security_headers(client, key_link, key_figure):
    for path in public_pages(key_link, key_figure):
        with client.get(path) as reply:
            assert reply.status_code == (404 if path == "/s/bestaat-niet" else 200), path
            assert_secure_headers(reply, path)
            assert "Strict-Transport-Security" not in reply.headers, path  # http BASE_URL


def test_dashboard_pages_have_the_security_headers(client, auth, open_campaign):
    auth.login()
    slug = open_campaign.slug
    for path in (
        "/dashboard/",
        f"/dashboard/{slug}/",
        f"/dashboard/{slug}/resultaten/",
        f"/dashboard/{slug}/voorbeeld/",
        "/dashboard/static/plotly.min.js",
    ):
        with client.get(path) as reply:
            assert reply.status_code == 200, path
            assert_secure_headers(reply, path)


def test_https_base_url_sends_hsts_and_marks_cookies_secure(make_app, coordinator):
    app = make_app(BASE_URL="https://enquete.example.org")
    client = app.test_client()
    reply = client.get("/login")
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
    reply = client.post(
        "/login",
        data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD, "remember": "y"},
    )
    assert reply.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in reply.headers.getlist("Set-Cookie")}
    assert "; Secure" in cookies["session"]
    assert "; Secure" in cookies["remember_token"]


def test_http_base_url_leaves_cookies_unmarked_for_local_use(client, auth):
    reply = auth.login()
    cookies = {c.split("=", 1)[0]: c for c in reply.headers.getlist("Set-Cookie")}
    assert "Secure" not in cookies["session"]


def test_proxy_count_trusts_the_forwarded_address_and_scheme(make_app):
    app = make_app(PROXY_COUNT=1)
    seen = {}

    @app.get("/_wie")
    def who() -> str:
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return ""

    app.test_client().get(
        "/_wie", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_inline_scripts_carry_the_nonce_of_their_response(client, auth, open_campaign):
    auth.login()
    reply = client.get(f"/dashboard/{open_campaign.slug}/resultaten/rapport")
    html = reply.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", reply.headers["Content-Security-Policy"])
    assert nonce, reply.headers["Content-Security-Policy"]
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline, "the report prints through an inline script"
    assert all(f'nonce="{nonce.group(1)}"' in attributes for attributes in inline)


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|nonce)=)(?![^>]*application/json)[^>]*>")
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_without_nonce_or_event_handler(template: Path):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "inline <script> without nonce: the CSP refuses it"
    assert not HANDLER.search(text), "on...= attribute: the CSP refuses it"
    assert "javascript:" not in text, "javascript: link: the CSP refuses it"


def session_cookie(reply) -> str:
    return next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_a_respondents_session_outlives_the_browser(client, key_link):
    cookie = session_cookie(client.get(f"/s/{key_link.code}"))
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert 119 < (expires - datetime.now(UTC)).total_seconds() / 86400 <= 120
    # A page that does not change the session sends no cookie again.
    assert not [c for c in client.get(f"/s/{key_link.code}").headers.getlist("Set-Cookie")]


def test_a_coordinators_session_stays_a_browser_session(client, auth, key_link):
    auth.login()
    cookie = session_cookie(client.get(f"/s/{key_link.code}"))  # a survey seen while logged in
    assert "Expires=" not in cookie
