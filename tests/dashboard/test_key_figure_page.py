"""A key figure's page /k/<token> before the opening, while open, and after the close."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaign.attribution import forward_link
from campaign.contacts.services import save_key_figure
from campaign.definitions.services import close_now
from campaign.extensions import db
from campaign.mailing.services import key_figure_page_url
from campaign.models import KeyFigure, Link, Response
from campaign.survey.links import find_link
from tests.dashboard.test_closing_pages import text_of

BEFORE_OPENING = datetime(2027, 1, 1, tzinfo=UTC)
JULY = datetime(2027, 7, 10, 12, 0, tzinfo=UTC)
EARLY_CLOSE = datetime(2027, 9, 1, 8, 30, tzinfo=UTC)
AFTER_CLOSE = datetime(2027, 9, 20, 12, 0, tzinfo=UTC)


def page_of(client, key_figure: KeyFigure) -> tuple[str, str]:
    response = client.get(
        key_figure_page_url(key_figure).removeprefix("http://campagne.example.org")
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, text_of(html)


def completed_through(key_figure: KeyFigure, count: int, *, forwarded: int = 0) -> None:
    """``count`` completed responses through the key figure's link, ``forwarded`` more
    through a link forwarded from it, and one response still in progress."""
    link = db.session.scalar(select(Link).where(Link.key_figure_id == key_figure.id))
    forward = find_link(forward_link(link))
    db.session.flush()
    for index in range(count + forwarded):
        db.session.add(
            Response(
                campaign_id=link.campaign_id,
                link_id=(link if index < count else forward).id,
                completed_at=JULY,
            )
        )
    db.session.add(Response(campaign_id=link.campaign_id, link_id=link.id))
    db.session.commit()


@pytest.fixture
def key_figure(example_campaign) -> KeyFigure:
    return save_key_figure(example_campaign, name="Annelies Vandenbussche", email="a@example.org")


FORWARDING = ("Kopieer link", "Tekst om door te sturen", "Kopieer tekst", "Download als PNG")


def test_before_the_opening_it_says_when_the_survey_opens(app, client, key_figure):
    app.config["CLOCK"] = lambda: BEFORE_OPENING
    html, text = page_of(client, key_figure)
    assert "De bevraging opent op 28 juni 2027 om 09.00 u" in text
    assert all(words in text for words in FORWARDING)  # the link can be prepared already
    assert "afgesloten" not in text


def test_while_open_it_asks_to_forward(app, client, key_figure):
    app.config["CLOCK"] = lambda: JULY
    completed_through(key_figure, 2)
    html, text = page_of(client, key_figure)
    assert all(words in text for words in FORWARDING)
    assert "<svg" in html and "Beste collega," in html
    assert "opent op" not in text and "afgesloten" not in text
    assert "loopt tot en met 15 september 2027" in text


def test_after_the_close_it_thanks_with_the_final_count(app, client, key_figure):
    app.config["CLOCK"] = lambda: AFTER_CLOSE
    completed_through(key_figure, 12, forwarded=2)
    html, text = page_of(client, key_figure)
    assert "De bevraging is afgesloten" in text
    assert "afgesloten sinds 15 september 2027 om 23.59 u" in text
    assert "Via jouw link vulden 14 collega's de vragenlijst in." in text
    assert "Hartelijk dank" in text
    for words in (*FORWARDING, "Download als SVG", "QR-code", "Beste collega,", "nog bezig"):
        assert words not in text
    assert "<svg" not in html and "data-copy" not in html and "qr.png" not in html


def test_after_an_early_close_it_says_since_when_with_one_colleague(app, client, key_figure):
    close_now(key_figure.campaign, actor="an@example.org", now=EARLY_CLOSE)
    app.config["CLOCK"] = lambda: EARLY_CLOSE
    completed_through(key_figure, 1)
    _html, text = page_of(client, key_figure)
    assert "afgesloten sinds 1 september 2027 om 10.30 u" in text
    assert "Via jouw link vulde 1 collega de vragenlijst in." in text


def test_after_the_close_without_answers_it_still_thanks(app, client, key_figure):
    app.config["CLOCK"] = lambda: AFTER_CLOSE
    _html, text = page_of(client, key_figure)
    assert "Via jouw link werd de vragenlijst niet ingevuld." in text
    assert "Hartelijk dank om de bevraging te verspreiden!" in text
