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
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

#: The policy without a nonce; ``{nonce}`` is put in when a template asked for one.
POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
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


def register(app: Flask) -> None:
    """Install the headers hook, the ``csp_nonce`` template helper, cookies and proxy."""
    configure_cookies(app)
    configure_proxy(app)
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
        headers = response.headers
        headers.update(fixed)
        nonce = g.get("csp_nonce")
        if nonce is None:
            headers["Content-Security-Policy"] = plain_policy
        else:
            headers["Content-Security-Policy"] = POLICY.format(nonce=f" 'nonce-{nonce}'")
        return response
