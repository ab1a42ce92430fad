"""Signed tokens, one serializer per purpose.

Each purpose has its own salt, so a token made for one purpose is refused
for another, and its own maximum age.  Keys rotate through
``SECRET_KEY_FALLBACKS``: tokens signed with an old key still verify.
"""

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DAY = 24 * 3600


@dataclass(frozen=True)
class Purpose:
    salt: str
    #: Seconds a token stays valid; None means no expiry.
    max_age: int | None


#: A key figure's personal page /k/<token>: valid for the life of a campaign and after.
KEY_FIGURE_PAGE = Purpose("key-figure-page", 400 * DAY)
#: Unsubscribe /u/<token>: must keep working long after the mail was sent.
UNSUBSCRIBE = Purpose("unsubscribe", None)
#: Resume link for a survey response.
RESUME = Purpose("survey-resume", 120 * DAY)
#: An invited (or reset) coordinator's link to set a password: three days, and once only
#: (the payload's nonce must still be the account's ``token_nonce``).
SET_PASSWORD = Purpose("set-password", 3 * DAY)


class InvalidToken(Exception):
    """The token was tampered with, made for another purpose, or has expired."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    keys = [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]
    # itsdangerous signs with the last key and accepts all of them.
    return URLSafeTimedSerializer(keys, salt=purpose.salt)


def make_token(purpose: Purpose, payload: Any) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: Purpose, token: str) -> Any:
    """Return the payload of ``token``; raise ``InvalidToken`` when it does not verify."""
    try:
        return _serializer(purpose).loads(token, max_age=purpose.max_age)
    except SignatureExpired as exc:
        raise InvalidToken(expired=True) from exc
    except BadSignature as exc:
        raise InvalidToken() from exc
