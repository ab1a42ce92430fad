"""The public mail pages in a real phone-sized browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from campaign.contacts.services import save_key_figure
from campaign.extensions import db
from campaign.mailing.services import key_figure_page_url, unsubscribe_url
from campaign.models import KeyFigure

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> bool:
    page.wait_for_load_state()  # measured once the stylesheets are in
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_key_figure_page_works_on_a_phone(live_server, phone_page, example_campaign):
    kf = save_key_figure(example_campaign, name="Annelies Vandenbussche", email="a@example.org")
    phone_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    phone_page.goto(key_figure_page_url(kf))
    assert phone_page.get_by_role("heading", name="Dag Annelies", exact=True).is_visible()
    assert phone_page.locator(".qr svg").is_visible()
    assert no_horizontal_scroll(phone_page)
    button = phone_page.get_by_role("button", name="Kopieer link")
    button.click()
    expect(phone_page.get_by_role("button", name="Gekopieerd ✓")).to_be_visible()


def test_unsubscribe_and_back_on_a_phone(live_server, phone_page, example_campaign):
    kf = save_key_figure(example_campaign, name="A", email="a@example.org")
    phone_page.goto(unsubscribe_url(kf))
    assert no_horizontal_scroll(phone_page)
    phone_page.get_by_role("button", name="Afmelden").click()
    expect(phone_page.get_by_role("heading", name="Je bent afgemeld")).to_be_visible()
    db.session.remove()  # a fresh session: the server wrote in its own
    assert db.session.get(KeyFigure, kf.id).opted_out
    phone_page.get_by_role("button", name="Opnieuw mails ontvangen").click()
    expect(phone_page.get_by_role("heading", name="Je bent opnieuw aangemeld")).to_be_visible()
    db.session.remove()  # a fresh session: the server wrote in its own
    assert not db.session.get(KeyFigure, kf.id).opted_out
