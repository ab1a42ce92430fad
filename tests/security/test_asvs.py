"""OWASP ASVS 5.0 requirements that no other test showed (docs/security.md cites each).

Real parts only: the app on a migrated SQLite file (and PostgreSQL when configured), its
own services to make data, the test client for HTTP.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, inspect, select, text

from campaign import uploads
from campaign.auth.services import create_coordinator
from campaign.contacts.services import save_key_figure
from campaign.contacts.views import CSV_UPLOADS
from campaign.definitions.loader import DefinitionError, parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.definitions.uploads import KIND as CAMPAIGN_FILES
from campaign.extensions import db
from campaign.mailing.services import key_figure_page_url
from campaign.models import Coordinator, KeyFigure
from campaign.tokens import SET_PASSWORD, make_token
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, EXAMPLE_CAMPAIGN
from tests.survey.conftest import EXAMPLE_FORMS, form, next_address, start_survey

HOSTILE_NAME = "<script>alert('naam')</script>"
HOSTILE_ORGANISATION = '"><img src=x onerror=alert(1)>'


def login(client, email: str = COORDINATOR_EMAIL, password: str = COORDINATOR_PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def cookies_of(reply) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in reply.headers.getlist("Set-Cookie")}


# --- V1 Encoding and Sanitization ----------------------------------------------------------


def test_hostile_names_are_shown_as_text_on_every_page_that_shows_them(client, auth, open_campaign):
    """V1.2.1, V3.2.2: markup in a key figure's name or organisation is escaped for its
    context (element text and attribute values) on the dashboard and on their own page."""
    hostile = save_key_figure(
        open_campaign,
        name=HOSTILE_NAME,
        email="hostile@example.org",
        organisation=HOSTILE_ORGANISATION,
        sector_code="welzijn",
    )
    auth.login()
    slug = open_campaign.slug
    pages = [
        f"/dashboard/{slug}/sleutelfiguren/",
        f"/dashboard/{slug}/sleutelfiguren/{hostile.id}/",
        f"/dashboard/{slug}/sleutelfiguren/{hostile.id}/overzicht",
        urlsplit(key_figure_page_url(hostile)).path,
    ]
    for path in pages:
        reply = client.get(path)
        assert reply.status_code == 200, path
        html = reply.text
        assert HOSTILE_NAME not in html, path
        assert HOSTILE_ORGANISATION not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_sql_metacharacters_are_plain_data(client, coordinator, open_campaign):
    """V1.2.4: input is bound as a parameter, never spliced into SQL: a quote trick with the
    right password logs no one in, finds no link, and every table is still there."""
    for email in ("' OR '1'='1", "x' OR email LIKE '%' --", "x'; DROP TABLE coordinators; --"):
        reply = login(client, email, COORDINATOR_PASSWORD)
        assert reply.status_code == 200, email
        assert "horen niet bij elkaar" in reply.text, email
    assert client.get("/s/' OR '1'='1").status_code == 404
    assert client.get("/trekking/x' OR 'x'='x").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Coordinator)) == 1


def test_a_campaign_file_cannot_make_python_objects(tmp_path):
    """V1.5.2: the campaign file's YAML is read with the safe loader: a tag that would build
    a Python object (and run a command) is refused as invalid YAML, and nothing runs."""
    marker = tmp_path / "ran"
    hostile = f"slug: x\ntitle: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(DefinitionError) as refused:
        parse_campaign_text(hostile, "kwaad.yaml")
    assert "geen geldige YAML" in str(refused.value.problems[0].message)
    assert not marker.exists()


HOSTILE_SCRIPT = "</script><script>alert('sector')</script>"


def test_data_for_scripts_cannot_end_its_script_element(app, client, auth):
    """V1.2.3: the charts' data reach the dashboard's script as JSON inside
    ``<script type="application/json">``, encoded so that a hostile sector name cannot end
    that element: the page holds no second script, and the JSON gives the name back."""
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"))
    spec.sectors[0].name = HOSTILE_SCRIPT
    campaign = load_campaign(spec).campaign
    auth.login()
    html = client.get(f"/dashboard/{campaign.slug}/").text
    assert "<script>alert(" not in html
    block = html.split('<script type="application/json" id="grafieken">', 1)[1]
    data = json.loads(block.split("</script>", 1)[0])
    assert HOSTILE_SCRIPT in json.dumps(data, ensure_ascii=False)


# --- V3 Web Frontend Security ----------------------------------------------------------------


def test_session_cookies_are_httponly_and_samesite_lax(client, coordinator):
    """V3.3.2, V3.3.4: the session and remember cookies are out of reach of scripts and
    are not sent with cross-site subrequests or POSTs."""
    reply = login(client, remember="y")
    assert reply.status_code == 302
    cookies = cookies_of(reply)
    for name in ("session", "remember_token"):
        assert "; HttpOnly" in cookies[name], name
    assert "; SameSite=Lax" in cookies["session"]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/",
        "//evil.example.org/",
        "/\\evil.example.org",
        "/\t/evil.example.org",
        "///evil.example.org",
        "javascript:alert(1)",
    ],
)
def test_the_login_never_sends_anyone_off_site(client, coordinator, target):
    """V3.7.2, V1.2.2: whatever ``next`` says, the login redirects to a path of our own site."""
    reply = client.post(
        "/login",
        query_string={"next": target},
        data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD},
    )
    assert reply.status_code == 302
    location = urlsplit(reply.headers["Location"])
    assert not location.scheme and not location.netloc, reply.headers["Location"]
    assert location.path.startswith("/") and not location.path.startswith("//")
    assert "\\" not in location.path


def test_no_response_allows_cross_origin_reads(client, auth, open_campaign, key_link):
    """V3.4.2: no response carries an Access-Control-Allow-Origin header field, whatever
    Origin the request names, so no other site's script can read a page or a JSON file."""
    auth.login()
    slug = open_campaign.slug
    for path in (
        f"/s/{key_link.code}",
        f"/trekking/{slug}.json",
        f"/dashboard/{slug}/cijfers.json",
        f"/dashboard/{slug}/mails/status.json",
    ):
        for origin in ("https://evil.example.org", "null", "http://campagne.example.org"):
            reply = client.get(path, headers={"Origin": origin})
            assert reply.status_code == 200, path
            assert not any(
                k.lower().startswith("access-control-") for k, _ in reply.headers.items()
            )
        preflight = client.options(path, headers={"Origin": "https://evil.example.org"})
        assert "Access-Control-Allow-Origin" not in preflight.headers, path


# --- V4 API and Web Service ----------------------------------------------------------------


def test_every_text_response_names_its_type_and_charset(client, auth, open_campaign, key_link):
    """V4.1.1: pages, stylesheets, scripts, JSON and CSV downloads say what they are and
    that they are UTF-8."""
    expected = {
        f"/s/{key_link.code}": "text/html",
        "/login": "text/html",
        "/s/bestaat-niet": "text/html",
        "/static/css/app.css": "text/css",
        "/static/js/survey.js": "text/javascript",
        f"/trekking/{open_campaign.slug}.json": "application/json",
    }
    auth.login()
    slug = open_campaign.slug
    expected |= {
        f"/dashboard/{slug}/": "text/html",
        f"/dashboard/{slug}/cijfers.json": "application/json",
        f"/dashboard/{slug}/export/antwoorden.csv": "text/csv",
        f"/dashboard/{slug}/sleutelfiguren/sjabloon.csv": "text/csv",
    }
    for path, mimetype in expected.items():
        with client.get(path) as reply:
            assert reply.status_code in (200, 404), path
            content_type = reply.headers["Content-Type"].lower()
            assert content_type.startswith(mimetype), (path, content_type)
            if not mimetype.startswith("application/json"):  # JSON is UTF-8 by definition
                assert "charset=utf-8" in content_type, (path, content_type)


# --- V5 File Handling ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../geheim", "..%2Fgeheim", "../../uploads/geheim", "/etc/passwd"])
def test_kept_uploads_and_mail_copies_take_no_path_from_input(
    app, client, auth, open_campaign, key
):
    """V5.3.2: a kept upload is found by its random key and a mail's copy by its number:
    a path in their place reads nothing, not even a well-formed file it points to (a
    Dutch message, or a 404)."""
    secret = {"filename": "geheim.csv", "data": base64.b64encode(b"naam;e-mail\n").decode()}
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "geheim.json").write_text(json.dumps(secret))
    auth.login()
    slug = open_campaign.slug
    for kind in (CSV_UPLOADS, CAMPAIGN_FILES):
        assert uploads.read(kind, key) is None
    reply = client.post(
        f"/dashboard/{slug}/sleutelfiguren/importeren/gecontroleerd",
        data={"bestand": key},
        follow_redirects=True,
    )
    assert "niet meer beschikbaar" in reply.text
    reply = client.post(
        "/dashboard/campagnebestand/toepassen", data={"upload": key}, follow_redirects=True
    )
    assert "niet meer beschikbaar" in reply.text
    assert client.get(f"/dashboard/{slug}/mails/bestanden/{key}").status_code == 404


# --- V6 Authentication ---------------------------------------------------------------------


def test_a_fresh_installation_has_no_account(app, client):
    """V6.3.2: the migrated database holds no account, so no default one can log in."""
    assert db.session.scalar(select(func.count()).select_from(Coordinator)) == 0
    for email, password in (("admin", "admin"), ("admin@example.org", "admin"), ("root", "root")):
        reply = login(client, email, password)
        assert reply.status_code == 200
        assert "horen niet bij elkaar" in reply.text


def test_the_password_is_checked_exactly_as_typed(app, client):
    """V6.2.5, V6.2.8, V6.2.9: any characters, 64 and more of them, checked as typed: not
    trimmed, not truncated, not case-folded."""
    password = "  Één lang wachtwoord, met spaties én hoofdletters: " + "x" * 80 + " "
    assert len(password) > 128
    create_coordinator("lang@example.org", password)
    create_coordinator("eenvoudig@example.org", "alleenkleineletters")  # no composition rule
    for wrong in (password.strip(), password.lower(), password.upper(), password[:72]):
        assert login(client, "lang@example.org", wrong).status_code == 200
    assert login(client, "lang@example.org", password).status_code == 302
    client.post("/logout")
    assert login(client, "eenvoudig@example.org", "alleenkleineletters").status_code == 302


def test_password_fields_are_masked_and_password_managers_welcome(app, client, coordinator):
    """V6.2.6, V6.2.7: every password field is ``type=password``, names what a password
    manager should fill (no ``autocomplete=off``) and blocks no paste."""
    coordinator.token_nonce = "eenmalig-stukje-van-de-link"
    db.session.commit()
    token = make_token(SET_PASSWORD, {"c": coordinator.id, "n": coordinator.token_nonce})
    pages = {"/login": {"current-password"}, f"/wachtwoord/{token}": {"new-password"}}
    for path, wanted in pages.items():
        html = client.get(path).text
        fields = re.findall(r"<input[^>]*>", html)
        secret = [f for f in fields if 'name="password"' in f or 'name="confirmation"' in f]
        assert secret, path
        for field in secret:
            assert 'type="password"' in field, (path, field)
            assert re.search(r'autocomplete="([^"]+)"', field)[1] in wanted, (path, field)
        assert "onpaste" not in html.lower() and 'autocomplete="off"' not in html, path


# --- V7 Session Management -----------------------------------------------------------------


def test_a_session_cookie_from_before_the_login_gives_no_access(app, coordinator, key_link):
    """V7.2.4: logging in issues a new session cookie; the one the browser had before (which
    someone could have planted) does not give access to the dashboard."""
    browser = app.test_client()
    before = browser.get(f"/s/{key_link.code}")
    old_value = cookies_of(before)["session"].split(";", 1)[0].split("=", 1)[1]
    assert old_value
    logged_in = login(browser)
    assert logged_in.status_code == 302
    new_value = cookies_of(logged_in)["session"].split(";", 1)[0].split("=", 1)[1]
    assert new_value != old_value
    assert browser.get("/dashboard/").status_code == 200

    planted = app.test_client()
    planted.set_cookie("session", old_value)
    reply = planted.get("/dashboard/")
    assert reply.status_code == 302
    assert urlsplit(reply.headers["Location"]).path == "/login"


def test_a_tampered_or_forged_session_cookie_is_ignored(app, coordinator):
    """V7.2.1, V9.1.1: the server checks the session cookie's signature on every request:
    a changed signature, or a cookie made without the secret key, is no session at all."""
    browser = app.test_client()
    value = cookies_of(login(browser))["session"].split(";", 1)[0].split("=", 1)[1]
    assert browser.get("/dashboard/").status_code == 200
    payload, _timestamp, signature = value.rsplit(".", 2)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    forged = URLSafeTimedSerializer("een-geraden-sleutel", salt="cookie-session").dumps(
        {"_user_id": str(coordinator.id), "_fresh": True}
    )
    for cookie in (value.rsplit(".", 1)[0] + "." + flipped, forged):
        other = app.test_client()
        other.set_cookie("session", cookie)
        reply = other.get("/dashboard/")
        assert reply.status_code == 302, cookie
        assert urlsplit(reply.headers["Location"]).path == "/login"


#: Pages behind the login without the site's header: documents made to be printed.
PRINTABLE = {"results.report_page"}


def test_every_dashboard_page_offers_the_logout(app, client, auth, open_campaign):
    """V7.4.4: every page behind the login shows the "Afmelden" button, but for the
    printable report (a document for paper or PDF, opened from the results page)."""
    auth.login()
    slug = open_campaign.slug
    seen = 0
    without: set[str] = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard/") or "GET" not in rule.methods:
            continue
        if set(rule.arguments) - {"slug"} or rule.rule.endswith(
            (".js", ".json", ".csv", ".zip", ".yaml")
        ):
            continue
        path = rule.rule.replace("<slug>", slug)
        reply = client.get(path)
        if reply.status_code != 200 or reply.mimetype != "text/html":
            continue
        seen += 1
        if 'action="/logout"' not in reply.text or "Afmelden" not in reply.text:
            without.add(rule.endpoint)
    assert without == PRINTABLE
    assert seen >= 15


# --- V13 Configuration ---------------------------------------------------------------------


def test_no_source_metadata_listing_or_trace_is_served(client):
    """V13.4.1, V13.4.3, V13.4.4: no repository metadata, source or instance file is
    served, no folder is listed, and TRACE is not a method the app answers."""
    for path in (
        "/.git/config",
        "/.git/HEAD",
        "/static/",
        "/static/css/",
        "/static/../campaign/config.py",
        "/instance/config.py",
        "/wsgi.py",
    ):
        assert client.get(path).status_code == 404, path
    for path in ("/login", "/s/abc", "/static/css/app.css"):
        assert client.open(path, method="TRACE").status_code == 405, path


# --- V16 Security Logging and Error Handling ---------------------------------------------------


def test_an_unexpected_error_is_a_dutch_page_and_a_logged_traceback(make_app, caplog):
    """V16.5.1, V16.3.4, V16.5.4: an exception no code expected is logged with its traceback
    and answered with the generic Dutch error page: no trace, no detail, the process lives."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/_kapot")
    def broken() -> str:
        raise RuntimeError("geheim-detail-uit-de-code")

    caplog.set_level(logging.ERROR)
    client = app.test_client()
    reply = client.get("/_kapot")
    assert reply.status_code == 500
    assert "Er ging iets mis" in reply.text
    for leak in ("geheim-detail", "Traceback", "RuntimeError", "campaign/"):
        assert leak not in reply.text, leak
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged, "the exception was not logged"
    assert client.get("/login").status_code == 200  # the app goes on serving


# --- privacy by design: no IP address or browser is stored -------------------------------------

CLIENT_ADDRESS = "203.0.113.77"
USER_AGENT = "AsvsProbe/9.9 (privacy test)"


def test_no_table_stores_the_client_address_or_browser(app, key_link):
    """V14.2.4 (privacy): a respondent who opens the link, answers every page and enters the
    draw leaves neither their IP address nor their browser's name in any row of any table,
    and no table has a column for either."""
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    assert browser.get(f"/s/{key_link.code}").status_code == 200
    url = start_survey(browser, key_link.code)
    for data in EXAMPLE_FORMS:
        url = next_address(browser.post(url, data=form(data)))
    page = browser.get(url).text
    ticket = page.split('name="ticket" value="')[1].split('"')[0]
    entered = browser.post(
        f"/s/{key_link.code}/wedstrijd",
        data={"ticket": ticket, "email": "deelnemer@example.org", "consent": "ja"},
        follow_redirects=True,
    )
    assert "Je doet mee aan de wedstrijd" in entered.text

    db.session.remove()
    found = []
    schema = inspect(db.engine)
    for table in schema.get_table_names():
        columns = [column["name"] for column in schema.get_columns(table)]
        found += [
            f"{table}.{name}"
            for name in columns
            if name.lower() in {"ip", "ip_address", "remote_addr", "user_agent", "client"}
        ]
        quoted = db.engine.dialect.identifier_preparer.quote(table)
        for row in db.session.execute(text(f"SELECT * FROM {quoted}")):  # our own table names
            values = " ".join(str(value) for value in row)
            if CLIENT_ADDRESS in values or "AsvsProbe" in values:
                found.append(table)
    assert found == []
    # The run did write rows: the probe looked at real data.
    assert db.session.scalar(select(func.count()).select_from(KeyFigure)) == 1
