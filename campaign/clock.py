"""The current time, in one place, so that tests (and a dry run) can pin it.

Every rule that depends on time takes ``now`` as an argument and defaults to
``clock.now()``.  That is the real UTC time unless the app's config holds a
``CLOCK``: a callable returning an aware datetime (tests set one to move a
whole app, pages included, to a given day).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """The current time (aware, UTC), or the app's pinned ``CLOCK`` when one is set."""
    if has_app_context():
        pinned: Callable[[], datetime] | None = current_app.config.get("CLOCK")
        if pinned is not None:
            return pinned()
    return datetime.now(UTC)
