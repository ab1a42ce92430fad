"""The browser session: Flask's signed cookie, with its serializer built once per key.

Flask builds a new ``URLSafeTimedSerializer`` for every request, and
itsdangerous checks each new one by serialising an empty dict and re-derives
the signing key (an HMAC) on every load.  On a survey page submission that
was a tenth of the request's own work, for the same result every time.  The
cookie format, signature and key rotation (``SECRET_KEY_FALLBACKS``) are
Flask's own: only the objects are kept.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class _KeyCachingSigner(TimestampSigner):
    """A timestamp signer that derives each (secret, salt) key once per process."""

    _derived: dict[tuple[Any, ...], bytes] = {}
    _lock = threading.Lock()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cache_key = (
            secret_key,
            self.secret_keys[-1],
            self.salt,
            self.key_derivation,
            self.digest_method,
        )
        derived = self._derived.get(cache_key)
        if derived is None:
            derived = super().derive_key(secret_key)
            with self._lock:
                if len(self._derived) > 32:  # a few keys and salts at most
                    self._derived.clear()
                self._derived[cache_key] = derived
        return derived


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """``SecureCookieSessionInterface`` that reuses its serializer while the keys stay."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is None:
                return None
            serializer.signer = _KeyCachingSigner
            self._serializers = {keys: serializer}  # the keys changed: forget the old one
        return serializer
