"""Mailing tests: every app sends through the real loopback SMTP server of ``smtp_server``.

``app`` is overridden here so that the shared fixtures built on it
(``example_campaign``, ``client``, ``runner``, ``auth``) use that same app.
A test of the ``.eml`` default sets ``app.config["MAIL_SERVER"] = None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.models import Campaign, KeyFigure


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_server) -> Iterator[Flask]:
    _sink, port = smtp_server
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        # Retries at once, given up after 5 tries: the tests of other promises stay quick.
        # The retry schedule itself is tested with the defaults (test_greylisting.py).
        MAIL_RETRY_BASE_SECONDS=0.0,
        MAIL_MAX_ATTEMPTS=5,
        MAIL_CONNECT_RETRY_SECONDS=0.0,
        MAIL_TIMEOUT=10,
    )
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def add_key_figures(example_campaign: Campaign) -> Callable[..., list[KeyFigure]]:
    """Create ``count`` key figures in the example campaign, as a CSV import would."""

    def add(count: int, prefix: str = "persoon") -> list[KeyFigure]:
        return [
            save_key_figure(
                example_campaign,
                name=f"Persoon {i}",
                email=f"{prefix}{i}@example.org",
                organisation="Ligo Voorbeeldregio",
                sector_code="onderwijs",
            )
            for i in range(count)
        ]

    return add
