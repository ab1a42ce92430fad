"""Uploaded files kept on the server between a check and its confirmation.

A coordinator uploads a file, sees what it would do, and confirms: the confirmation
uses the very file that was checked, read back from ``UPLOAD_DIR`` (default
``instance/uploads/``) under a random name, not from the cookie and not uploaded a
second time.  Each kind of upload (campaign files, key-figure CSVs) has its own
folder; a kept file is removed once used and after a day at the latest.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.utils import secure_filename

#: How long an upload waits for its confirmation.
KEEP_SECONDS = 24 * 3600
_KEY = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Kept:
    key: str
    filename: str
    data: bytes


def display_name(filename: str | None, default: str = "bestand") -> str:
    """The uploaded file's own name, made safe to show (``campagne.yaml``)."""
    return secure_filename(filename or "") or default


def _folder(kind: str) -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    root = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep(kind: str, filename: str, data: bytes) -> Kept:
    """Store ``data`` under a random key; returns it with its key."""
    _forget_old(kind)
    key = secrets.token_urlsafe(24)
    kept = Kept(key, filename, data)
    payload = {"filename": filename, "data": base64.b64encode(data).decode("ascii")}
    (_folder(kind) / f"{key}.json").write_text(json.dumps(payload), encoding="utf-8")
    return kept


def read(kind: str, key: str) -> Kept | None:
    """The kept upload with this key, or None (unknown, malformed or expired)."""
    if not _KEY.match(key or ""):
        return None
    path = _folder(kind) / f"{key}.json"
    try:
        if time.time() - path.stat().st_mtime > KEEP_SECONDS:
            path.unlink(missing_ok=True)
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
        return Kept(key, str(payload["filename"]), base64.b64decode(payload["data"]))
    except (OSError, ValueError, KeyError):
        return None


def forget(kind: str, key: str) -> None:
    if _KEY.match(key or ""):
        (_folder(kind) / f"{key}.json").unlink(missing_ok=True)


def _forget_old(kind: str) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in _folder(kind).glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue
