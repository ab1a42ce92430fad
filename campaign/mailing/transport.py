"""Where mail goes: an SMTP relay over one reused connection, or ``.eml`` files.

Messages are standard-library ``EmailMessage`` objects built from a stored
outbox row.  Both transports raise ``TransientError`` (try again later: SMTP
4xx, a dropped or refused connection, a timeout) or ``PermanentError`` (SMTP
5xx: the server's reason is kept), so the sender needs to know nothing else.
"""

from __future__ import annotations

import email.policy
import functools
import logging
import os
import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

from campaign.failpoints import failpoint

log = logging.getLogger(__name__)

#: Seconds an SMTP connect or reply may take before it counts as a transient failure.
DEFAULT_SMTP_TIMEOUT = 30


class ReusingHeaderRegistry(HeaderRegistry):
    """The standard header factory, minus the work it repeats for every message.

    ``HeaderRegistry.__getitem__`` builds a new class for a header name on every call
    (twice per header set: once for ``header_max_count``, once to parse); here each
    name's class is built once.  And a (name, value) pair seen recently returns the
    header object parsed then: From, Reply-To, Subject, MIME-Version and the
    Content-Type/-Transfer-Encoding lines that ``set_content`` writes are the same in
    every mail of a batch.  Header objects are immutable ``str`` subclasses (parse
    tree, defects and parameters are read-only), ``Message`` only ever replaces them,
    and ``header_store_parse`` documents storing a header object unchanged, so one
    object may sit in many messages.  The cache is bounded: per-recipient values
    (To, Message-ID, List-Unsubscribe) pass through it without piling up.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parse = functools.lru_cache(maxsize=256)(super().__call__)

    def map_to_type(self, name: str, cls: type) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()
        self._parse.cache_clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: str) -> BaseHeader:
        # Keyed on the exact name: a header object writes the name it was made with.
        header: BaseHeader = self._parse(name, value)
        return header


#: SMTP line endings and encoding; lines up to RFC 5322's hard limit of 998 characters,
#: because folding at 78 turns a long List-Unsubscribe URL (which has no space to fold
#: at) into encoded words that mail clients do not recognise as a URL.
POLICY = email.policy.SMTP.clone(max_line_length=998, header_factory=ReusingHeaderRegistry())

#: The multipart boundary of this process's mails.  Given up front, the generator
#: takes it as it is instead of drawing one and compiling a regular expression per
#: mail to prove it absent.  The proof here: a part's body is its text as it is
#: (7bit/8bit, checked to not contain the boundary, see ``_boundary_for``), or
#: quoted-printable, which never has "==" ("=" is always followed by two hex digits
#: or a line end), or base64, which never has "-".  So no line of a part can be
#: "--" + boundary.  Random per process, like the standard library's own.
BOUNDARY = f"=={secrets.token_hex(12)}=="


class TransientError(Exception):
    """Sending failed in a way that may work on a later try."""


class PermanentError(Exception):
    """The server refused the message for good (SMTP 5xx)."""


class ServerUnavailable(Exception):
    """No connection to the mail server could be opened; nothing was sent."""


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: the envelope and the message itself."""

    #: The outbox row's id (names the ``.eml`` file).
    row_id: int
    sender: str
    recipient: str
    message: EmailMessage


def build_message(row: Any, moment: datetime) -> Outgoing:
    """The message of an outbox row: its stored headers and Message-ID, ``Date`` set to
    ``moment``, the text body and (when there is one) the HTML alternative.

    Raises ``ValueError`` for a header the email package refuses (a line break in a
    value, a malformed address): such a row can never be sent.
    """
    message = EmailMessage(policy=POLICY)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message["Subject"] = row.subject
    message["Date"] = format_datetime(moment)
    message["Message-ID"] = row.message_id
    message.set_content(row.body_text)
    if row.body_html:
        message.make_alternative(boundary=_boundary_for(row.body_text, row.body_html))
        message.add_alternative(row.body_html, subtype="html")
    sender = envelope_sender(str(message["From"] or ""))
    if not sender:
        raise ValueError("geen afzender (From)")
    return Outgoing(row.id, sender, row.recipient_email, message)


def _boundary_for(*bodies: str) -> str | None:
    """``BOUNDARY``, unless a body holds it (then the generator draws one, as usual)."""
    return None if any(BOUNDARY in body for body in bodies) else BOUNDARY


@functools.lru_cache(maxsize=64)
def envelope_sender(from_header: str) -> str:
    """The address of a From header ("" when there is none); the same in every mail."""
    return parseaddr(from_header)[1]


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


def _by_code(code: int, text: str) -> Exception:
    return PermanentError(text) if 500 <= code < 600 else TransientError(text)


def classify(error: Exception) -> Exception:
    """Map an smtplib/socket error to ``TransientError`` or ``PermanentError``."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (550, b"recipient refused"))
        return _by_code(code, _reply_text(code, reply))
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, _reply_text(error.smtp_code, error.smtp_error))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientError(f"verbinding verbroken: {error}")
    return TransientError(f"{type(error).__name__}: {error}")


class Transport(Protocol):
    def ready(self) -> None: ...
    def send(self, outgoing: Outgoing) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


class _DataFailpoint:
    """smtplib's client with the crash tests' ``after_data`` point: right after the
    server accepted DATA (354), before the content and its final dot are sent."""

    def getreply(self) -> tuple[int, bytes]:
        code, reply = super().getreply()  # type: ignore[misc]
        if code == 354:
            failpoint("after_data")
        return code, reply


class _SMTP(_DataFailpoint, smtplib.SMTP):
    pass


class _SMTPSSL(_DataFailpoint, smtplib.SMTP_SSL):
    pass


class SMTPTransport:
    """One SMTP connection, opened on first use and reused for every message.

    After any error the connection is reset (RSET) or, when that fails too,
    closed, so the next message starts on a clean connection.
    """

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.server = config["MAIL_SERVER"]
        self.port = int(config.get("MAIL_PORT") or 25)
        self.use_ssl = bool(config.get("MAIL_USE_SSL"))
        self.use_tls = bool(config.get("MAIL_USE_TLS"))
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.timeout = float(config.get("MAIL_TIMEOUT") or DEFAULT_SMTP_TIMEOUT)
        self.connection: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect (and log in); raise ``ServerUnavailable`` with the reason."""
        try:
            if self.use_ssl:
                context = ssl.create_default_context()
                connection: smtplib.SMTP = _SMTPSSL(
                    self.server, self.port, timeout=self.timeout, context=context
                )
            else:
                connection = _SMTP(self.server, self.port, timeout=self.timeout)
            if self.use_tls:
                connection.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                connection.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"{self.server}:{self.port}: {exc}") from exc
        # Every write is followed by a wait for the server's reply: without TCP_NODELAY,
        # Nagle's algorithm could hold back the tail of a message for a delayed ACK.
        if connection.sock is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection = connection

    def ready(self) -> None:
        """Open the connection unless it is open; ``ServerUnavailable`` when that fails."""
        if self.connection is None:
            self.open()

    def send(self, outgoing: Outgoing) -> None:
        """One SMTP transaction; returns once the server replied 250 to the content."""
        self.ready()
        assert self.connection is not None
        try:
            self.connection.sendmail(
                outgoing.sender, [outgoing.recipient], outgoing.message.as_bytes()
            )
        except (OSError, smtplib.SMTPException) as exc:
            raise classify(exc) from exc

    def reset(self) -> None:
        """Make the connection clean after an error: RSET, else reconnect on next use."""
        if self.connection is None:
            return
        try:
            self.connection.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


class DirectoryTransport:
    """Writes each message as ``<directory>/<row id>.eml`` (the default without MAIL_SERVER)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ready(self) -> None:
        pass

    def send(self, outgoing: Outgoing) -> None:
        target = eml_path(self.directory, outgoing.row_id)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(outgoing.message.as_bytes())
            os.replace(partial, target)  # a reader never sees half a file
        except OSError as exc:
            raise TransientError(f"kan {target.name} niet schrijven: {exc}") from exc

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def eml_path(directory: Path, row_id: int) -> Path:
    """Where ``DirectoryTransport`` writes the message of outbox row ``row_id``."""
    return directory / f"{int(row_id)}.eml"


def outbox_dir(app: Flask) -> Path:
    """``OUTBOX_DIR``, or ``instance/outbox/``."""
    configured = app.config.get("OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def transport_for(app: Flask) -> Transport:
    if app.config.get("MAIL_SERVER"):
        return SMTPTransport(app)
    return DirectoryTransport(outbox_dir(app))
