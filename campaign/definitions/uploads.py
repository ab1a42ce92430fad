"""Uploaded campaign files kept on the server between the diff and the confirmation.

The coordinator uploads a file, sees what it would change, and confirms: the
confirmation applies the very file that was checked, read back from
``instance/campaign-uploads/<random name>.json`` (or ``UPLOAD_DIR``; not from the cookie, not
uploaded twice).  A kept upload is removed once applied and after a day at the latest.
"""

from __future__ import annotations

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
#: The largest campaign file accepted (the example is about 30 KB).
MAX_BYTES = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Upload:
    key: str
    filename: str
    text: str


def _folder() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    folder = (
        Path(configured) if configured else Path(current_app.instance_path) / "campaign-uploads"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def display_name(filename: str | None) -> str:
    """The uploaded file's own name, made safe to show and log (``campagne.yaml``)."""
    return secure_filename(filename or "") or "campagnebestand.yaml"


def keep_upload(filename: str, text: str) -> Upload:
    """Store the uploaded text under a random name; returns it with its key."""
    _forget_old()
    key = secrets.token_urlsafe(24)
    upload = Upload(key, display_name(filename), text)
    path = _folder() / f"{key}.json"
    path.write_text(json.dumps({"filename": upload.filename, "text": text}), encoding="utf-8")
    return upload


def read_upload(key: str) -> Upload | None:
    """The kept upload with this key, or None (unknown, malformed or expired)."""
    if not _NAME.match(key or ""):
        return None
    path = _folder() / f"{key}.json"
    try:
        if time.time() - path.stat().st_mtime > KEEP_SECONDS:
            path.unlink(missing_ok=True)
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Upload(key, str(data["filename"]), str(data["text"]))


def forget_upload(key: str) -> None:
    if _NAME.match(key or ""):
        (_folder() / f"{key}.json").unlink(missing_ok=True)


def _forget_old() -> None:
    limit = time.time() - KEEP_SECONDS
    for path in _folder().glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue
