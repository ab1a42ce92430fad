"""Public addresses, as put in mails and shown to people: built on ``BASE_URL``.

Pages reached from a coordinator's browser may run under another host name
than the one respondents use (an internal address, a tunnel), and mails are
queued from commands and jobs with no request at all, so public links never
come from the current request: they are Flask's ``url_for`` routes, built for
the host, path prefix and scheme of ``BASE_URL``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute public address of ``endpoint`` (as for ``url_for``) under ``BASE_URL``."""
    base = urlsplit(str(current_app.config["BASE_URL"]))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
