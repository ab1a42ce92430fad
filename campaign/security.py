"""Security headers and cookie flags for every response.

One ``after_request`` hook sets the headers; its strings are made once when the app
is created, so a survey page pays one dictionary update, not string building.

- ``Content-Security-Policy``: scripts only from our own origin or an inline script
  carrying this response's nonce (``csp_nonce()`` in templates); no plugins; forms post
  and pages are framed only within our own origin (``frame-ancestors 'self'``: the
  Voorbeeld tab shows the survey in a frame of the dashboard).  Styles allow
  ``'unsafe-inline'``: templates carry ``style`` attributes (bar widths) and small
  ``<style>`` blocks, and plotly sets styles at run time; a style cannot run code.
- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: SAMEORIGIN`` (older
  browsers that ignore ``frame-ancestors``).
- ``Referrer-Policy: same-origin``: survey, key-figure and token URLs carry secrets,
  so no other site ever gets a referrer from us; our own origin still gets one, which
  Flask-WTF's CSRF check needs on https (``WTF_CSRF_SSL_STRICT``).
- ``Strict-Transport-Security`` and ``Secure`` session and remember cookies whenever
  ``BASE_URL`` is https.

Bad input never reaches the database as a server error:

- a NUL byte (which PostgreSQL refuses in text) or another control character in the
  URL's path is a 404; a control character (C0 or DEL) in a query or form value is a
  Dutch 400, but for tab, line feed and carriage return (text answers keep their lines);
- whole numbers in URLs (``<int:...>``) and in ``request.args/form.get(..., type=int)``
  stay within a 32-bit signed integer (PostgreSQL's ``integer``; SQLite overflows past
  64 bits): a bigger one is a 404 in a URL, and "no value" in a field.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Flask, Request, Response, g, request, session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

#: The biggest whole number a URL or a form field may carry (PostgreSQL's ``integer``).
MAX_INT = 2**31 - 1
#: Control characters never valid in one of our paths (the log-forging ones included).
PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Control characters never valid in a query or form value: C0 and DEL, but for tab, line
#: feed and carriage return (a text answer keeps its line breaks and a pasted tab).
VALUE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTER_MESSAGE = (
    "Je invoer bevat een ongeldig, onzichtbaar teken (een stuurteken, vaak meegekopieerd "
    "uit een ander programma). Verwijder het en probeer opnieuw."
)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that stops at ``MAX_INT``: a bigger number is a 404, not an overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def whole_number(value: str) -> int:
    """``int(value)`` within +/- ``MAX_INT``; raises ``ValueError`` otherwise."""
    number = int(value)
    if not -MAX_INT <= number <= MAX_INT:
        raise ValueError("number out of range")
    return number


class BoundedArgs(ImmutableMultiDict[str, str]):
    """Query and form values whose ``get(..., type=int)`` is ``whole_number``, so that an
    out-of-range number is "no value" (the default), as text that is no number already is."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]  # noqa: A002
        return super().get(key, default, whole_number if type is int else type)


class InvalidCharacter(BadRequest):
    """A control character (``VALUE_CONTROL``) in a query or form name or value."""


class CampaignRequest(Request):
    parameter_storage_class = BoundedArgs


#: The policy without a nonce; ``{nonce}`` is put in when a template asked for one.
POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

#: A year, the value HSTS preload lists ask for.
HSTS = "max-age=31536000"


def csp_nonce() -> str:
    """This response's script nonce (made on first use), for ``<script nonce=...>``."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def nonce_scripts(html: str) -> str:
    """Give every ``<script`` tag of generated, trusted markup (plotly's chart snippets)
    this response's nonce.  Never call it on markup holding user input."""
    return html.replace("<script", f'<script nonce="{csp_nonce()}"')


def is_https(app: Flask) -> bool:
    return str(app.config.get("BASE_URL", "")).lower().startswith("https://")


def configure_cookies(app: Flask) -> None:
    """Secure session and remember cookies when the public address is https."""
    if is_https(app):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def configure_proxy(app: Flask) -> None:
    """Trust ``PROXY_COUNT`` reverse proxies' X-Forwarded-For/-Proto/-Host (0: none)."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )


def refuse_control_characters() -> None:
    """Before every request: a control character in the path is a 404; one in a query or
    form name or value (``VALUE_CONTROL``: PostgreSQL cannot store a NUL byte, the others
    garble text, logs and exports, and no field needs them) is a 400, before any view
    reads or writes anything."""
    if PATH_CONTROL.search(request.path):
        raise NotFound()
    search = VALUE_CONTROL.search
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if search(key) or search(value):
                raise InvalidCharacter()


def keep_respondent_session() -> None:
    """A survey request that changed the session makes it outlive the browser
    (``PERMANENT_SESSION_LIFETIME``), so that "on the same device you go on through the
    same link" holds after the browser was closed.  Not for a coordinator's session
    (the Voorbeeld tab runs the survey in their browser): that stays a browser session."""
    if request.blueprint == "survey" and session.modified and "_user_id" not in session:
        session.permanent = True


def _invalid_character(_error: InvalidCharacter) -> tuple[str, int]:
    from campaign.errors import render_error

    return render_error(400, CONTROL_CHARACTER_MESSAGE)


def register(app: Flask) -> None:
    """Install the headers hook, the ``csp_nonce`` template helper, cookies and proxy,
    the bounded whole numbers and the control-character check."""
    configure_cookies(app)
    configure_proxy(app)
    app.request_class = CampaignRequest
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_control_characters)
    app.register_error_handler(InvalidCharacter, _invalid_character)
    fixed = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "same-origin",
    }
    if is_https(app):
        fixed["Strict-Transport-Security"] = HSTS
    plain_policy = POLICY.format(nonce="")
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response: Response) -> Response:
        keep_respondent_session()
        headers = response.headers
        headers.update(fixed)
        nonce = g.get("csp_nonce")
        if nonce is None:
            headers["Content-Security-Policy"] = plain_policy
        else:
            headers["Content-Security-Policy"] = POLICY.format(nonce=f" 'nonce-{nonce}'")
        return response
