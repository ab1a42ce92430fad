"""The HTML invitation fits a 360 px phone without sideways scrolling, with the layout's
phone styles and without them (mail clients that drop <style>), long names and addresses
included."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.mailing.services import queue_invitations
from campaign.models import Message

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def test_the_invitation_fits_a_360_px_phone(example_campaign, phone_page, app):
    app.config["BASE_URL"] = "https://enquete.voorbeeld-organisatie.example.org"
    save_key_figure(
        example_campaign,
        name="Joëlle Vanhoutte-Éléonore",
        email="joelle.vanhoutte-eleonore@een-organisatie-met-een-lange-naam.example.org",
        organisation="Centrum voor Leerlingenbegeleiding Noord-West-Vlaanderen",
    )
    queue_invitations(example_campaign)
    html = db.session.scalar(select(Message.body_html).where(Message.kind == "invitation"))
    without_style = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    for name, body in (("styled", html), ("inline-only", without_style)):
        phone_page.set_content(body)
        phone_page.wait_for_load_state()
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (name, width)
        if SHOTS:
            phone_page.screenshot(
                path=str(Path(SHOTS) / f"invitation-360-{name}.png"), full_page=True
            )
