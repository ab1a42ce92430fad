"""The reminder's "Nu versturen" asks first: to how many, what happens, once only; a
confirmation whose number no longer holds is shown again instead of sending."""

from __future__ import annotations

import re

from campaign.schedule import reminder
from tests.conftest import COORDINATOR_EMAIL
from tests.schedule.test_reminder_rule import TEN_DAYS_IN, load, make_people, reminders_in_outbox


def text_of(reply) -> str:
    html = reply.get_data(as_text=True).split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def test_send_now_asks_first_then_sends_to_the_number_shown(app, client, auth):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load()
    make_people(campaign)
    auth.login()
    url = f"/dashboard/{campaign.slug}/herinnering/versturen"
    page_html = client.get(f"/dashboard/{campaign.slug}/herinnering/").get_data(as_text=True)
    assert f'href="{url}">Nu versturen (3)</a>' in page_html
    page = text_of(client.get(url))
    assert "De herinnering nu versturen naar 3 sleutelfiguren?" in page
    assert "Dat kan maar één keer" in page
    assert "5 sleutelfiguren krijgen ze niet" in page
    assert "Ja, 3 herinneringen versturen" in page
    assert reminders_in_outbox(campaign) == []
    done = client.post(url, data={"aantal": 3})
    assert done.status_code == 302
    assert len(reminders_in_outbox(campaign)) == 3


def test_a_changed_plan_shows_the_confirmation_again(app, client, auth):
    app.config["CLOCK"] = lambda: TEN_DAYS_IN
    campaign = load()
    people = make_people(campaign)
    auth.login()
    url = f"/dashboard/{campaign.slug}/herinnering/versturen"
    assert "naar 3 sleutelfiguren?" in text_of(client.get(url))
    reminder.set_choice(campaign, people["Hilde"].id, False, actor=COORDINATOR_EMAIL)
    again = client.post(url, data={"aantal": 3})
    assert again.status_code == 409
    assert "De herinnering nu versturen naar 2 sleutelfiguren?" in text_of(again)
    assert reminders_in_outbox(campaign) == []
