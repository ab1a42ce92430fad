"""gunicorn's logger without client addresses (``--logger-class
campaign.gunicorn_logging.PrivateLogger``, as in the Procfile and docs/deploy/).

gunicorn writes the peer's address into its error log for a malformed request
("Invalid request from ip=203.0.113.9: ..."), access log or not.  This logger
replaces every client address in the error log's warnings and errors with ``-``
(``ip=-``), escapes control characters (a request line is the client's text), and
gives an access log, if one is switched on, ``-`` for ``%(h)s``.  The app itself stores
no IP address; with this, neither does its web server's log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

#: ``ip=ADDRESS`` as gunicorn writes it, and any IPv4 or IPv6 address in a warning/error.
ADDRESS = re.compile(
    r"(?<=ip=)\S+?(?=: |,|\s|$)"  # gunicorn's "ip={ip}: {error}"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"  # IPv4
    r"|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|[0-9a-fA-F:]*::[0-9a-fA-F:.]*"  # IPv6
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def scrub(message: str) -> str:
    """The message with client addresses as ``-`` and control characters escaped."""
    message = ADDRESS.sub("-", message)
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message)


class NoAddressFilter(logging.Filter):
    """Scrubs warnings and errors (INFO lines are gunicorn's own: its bind address)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            record.msg, record.args = scrub(record.getMessage()), ()
        return True


class PrivateLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, NoAddressFilter) for f in self.error_log.filters):
            self.error_log.addFilter(NoAddressFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["h"] = "-"
        return atoms
