"""Where mail goes: an SMTP relay over one reused connection, or ``.eml`` files.

Both transports raise ``TransientError`` (try again later: SMTP 4xx, a
dropped or refused connection, a timeout) or ``PermanentError`` (SMTP 5xx:
the server's reason is kept), so the sender needs to know nothing else.
"""

from __future__ import annotations

import binascii
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

from campaign.mailing.render import one_line

log = logging.getLogger(__name__)

#: Seconds an SMTP connect or reply may take before it counts as a transient failure.
DEFAULT_SMTP_TIMEOUT = 30


class TransientError(Exception):
    """Sending failed in a way that may work on a later try."""


class PermanentError(Exception):
    """The server refused the message for good (SMTP 5xx)."""


class ServerUnavailable(Exception):
    """No connection to the mail server could be opened; nothing was sent."""


_HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_ADDRESS_HEADERS = {"From", "To", "Reply-To", "Cc"}
CRLF = b"\r\n"


def _encode_header(name: str, value: str) -> str:
    """One header value, ASCII-only and without line breaks of its own (RFC 2047 words)."""
    value = one_line(value)
    if value.isascii() and (
        name in _ADDRESS_HEADERS or len(name) + len(value) < 76 or " " not in value
    ):
        # Stored address headers were formatted (and quoted) at queue time; a long value
        # without spaces (a URL) cannot be folded and stays on one line (limit 998).
        return value
    return _encode_special(name, value)


@lru_cache(maxsize=512)
def _encode_special(name: str, value: str) -> str:
    """Encoded words for non-ASCII text, folding for long lines; cached because the
    From, Reply-To and Subject headers repeat in every mail of a batch."""
    if name in _ADDRESS_HEADERS:
        pairs = getaddresses([value])
        if not pairs or not all("@" in address for _name, address in pairs):
            raise ValueError(f"ongeldig adres in {name}: {value!r}")
        return ", ".join(formataddr(pair, charset="utf-8") for pair in pairs)
    if value.isascii() and len(name) + len(value) < 76:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def _part(content_type: str, text: str) -> bytes:
    body = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    head = f'Content-Type: {content_type}; charset="utf-8"\r\n'
    head += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    return head.encode("ascii") + body.replace(b"\n", CRLF)


def build_message(row: Any, moment: datetime) -> tuple[str, bytes]:
    """The envelope sender and the raw bytes of an outbox row: stored headers, the
    stored Message-ID, text and HTML alternatives (quoted-printable UTF-8).

    Built by hand rather than with ``email.message.EmailMessage``, which costs
    about 2 ms a message; tests parse the result with the stdlib parser.
    Raises ``ValueError`` for a header that cannot be encoded.
    """
    headers = dict(row.headers or {})
    headers.update(
        {
            "Subject": row.subject,
            "Date": format_datetime(moment),
            "Message-ID": row.message_id,
            "MIME-Version": "1.0",
        }
    )
    lines = []
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"ongeldige header {name!r}")
        lines.append(f"{name}: {_encode_header(name, value)}")
    # "=_" never occurs in quoted-printable text, so the boundary cannot clash.
    boundary = f"=_{secrets.token_hex(12)}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    mark = f"--{boundary}\r\n".encode("ascii")
    raw = b"".join(
        [
            head,
            mark,
            _part("text/plain", row.body_text),
            CRLF,
            mark,
            _part("text/html", row.body_html),
            CRLF,
            f"--{boundary}--\r\n".encode("ascii"),
        ]
    )
    return _envelope_sender(headers.get("From", "")), raw


@lru_cache(maxsize=64)
def _envelope_sender(from_header: str) -> str:
    """The address of a From header; cached because every mail of a batch has the same."""
    return parseaddr(from_header)[1]


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


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


def _by_code(code: int, text: str) -> Exception:
    return PermanentError(text) if 500 <= code < 600 else TransientError(text)


#: Called before the message is committed to the server; False abandons it.
Gate = Callable[[], bool] | None
#: Work to do while the server handles a command, before its reply is read.
Meanwhile = Callable[[], None] | None


class Transport(Protocol):
    def ready(self) -> None: ...
    def send(
        self,
        sender: str,
        recipient: str,
        raw: bytes,
        filename: str,
        gate: Gate = None,
        meanwhile: Meanwhile = None,
    ) -> bool: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


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
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.server, self.port, timeout=self.timeout, context=context
                )
            else:
                connection = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
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

    def send(
        self,
        sender: str,
        recipient: str,
        raw: bytes,
        filename: str,
        gate: Gate = None,
        meanwhile: Meanwhile = None,
    ) -> bool:
        """One SMTP transaction; False when ``gate()`` said no (nothing was sent).

        Our own work runs while the server works on a command, instead of after it:
        ``gate()`` (the claim's commit) while it handles MAIL FROM, so the message
        is only sent once the claim holds; ``meanwhile()`` while it handles RCPT TO.
        """
        self.ready()
        assert self.connection is not None
        try:
            if not self._envelope(sender, recipient, gate, meanwhile):
                self.reset()
                return False
            # Dot-stuffed content and the final dot in one write, as smtplib.sendmail does.
            payload = smtplib._quote_periods(raw)  # type: ignore[attr-defined]
            payload = payload if payload.endswith(CRLF) else payload + CRLF
            self.connection.send(payload + b"." + CRLF)
            code, reply = self.connection.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise classify(exc) from exc
        if code != 250:
            raise _by_code(code, _reply_text(code, reply))
        return True

    def _envelope(self, sender: str, recipient: str, gate: Gate, meanwhile: Meanwhile) -> bool:
        """MAIL, RCPT and DATA; False (after reading the MAIL reply) when the gate said no."""
        assert self.connection is not None
        connection = self.connection
        connection.ehlo_or_helo_if_needed()
        connection.putcmd("mail", f"from:{smtplib.quoteaddr(sender)}")
        go = self._gate(gate)
        code, reply = connection.getreply()
        if not go:
            return False
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        connection.putcmd("rcpt", f"to:{smtplib.quoteaddr(recipient)}")
        if meanwhile is not None:
            meanwhile()
        code, reply = connection.getreply()
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        connection.putcmd("data")
        code, reply = connection.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        return True

    def _gate(self, gate: Gate) -> bool:
        try:
            return gate() if gate is not None else True
        except BaseException:
            self._drop()  # a command is outstanding: only closing leaves a clean state
            raise

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()

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
    """Writes each message as ``<directory>/<filename>`` (the default without MAIL_SERVER)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ready(self) -> None:
        pass

    def send(
        self,
        sender: str,
        recipient: str,
        raw: bytes,
        filename: str,
        gate: Gate = None,
        meanwhile: Meanwhile = None,
    ) -> bool:
        if gate is not None and not gate():
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / filename
            partial = target.with_suffix(".part")
            partial.write_bytes(raw)
            os.replace(partial, target)  # a reader never sees half a file
        except OSError as exc:
            raise TransientError(f"kan {filename} niet schrijven: {exc}") from exc
        if meanwhile is not None:
            meanwhile()
        return True

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def outbox_dir(app: Flask) -> Path:
    """``OUTBOX_DIR``, or ``instance/outbox/``."""
    configured = app.config.get("OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def transport_for(app: Flask) -> Transport:
    if app.config.get("MAIL_SERVER"):
        return SMTPTransport(app)
    return DirectoryTransport(outbox_dir(app))
