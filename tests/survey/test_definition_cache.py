"""The per-process cache of parsed questionnaires: any change is used at once."""

from __future__ import annotations

import copy
from datetime import datetime

from sqlalchemy import select, update

from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.schema import CampaignSpec, Option, SectorSpec
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Campaign, Link, Response, Sector
from campaign.survey.definition import definition_of
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.survey.conftest import EXAMPLE_FORMS, form, start_survey


def example_spec() -> CampaignSpec:
    """The example campaign file, open now (as ``load_example`` loads it)."""
    spec = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), str(EXAMPLE_CAMPAIGN))
    spec.schedule.opens_at = datetime(2020, 1, 1, 9, 0)
    spec.schedule.reminder_at = None
    spec.schedule.closes_at = datetime(2099, 12, 31, 23, 59)
    spec.schedule.results_due = None
    return spec


def post_page_one(client, link: Link, **changes: str):
    return client.post(f"/s/{link.code}/vraag/1", data=form({**EXAMPLE_FORMS[0], **changes}))


def stored_response() -> Response:
    return db.session.scalar(select(Response))


def test_a_reloaded_questionnaire_is_used_at_once(client, key_link):
    start_survey(client, key_link.code)
    # The cache now holds the questionnaire: "gent" is not an option of "regio".
    assert post_page_one(client, key_link, regio="gent").status_code == 422
    spec = example_spec()
    regio = next(
        question
        for page in spec.questionnaire.pages
        for question in page.questions
        if question.id == "regio"
    )
    regio.options.append(Option(value="gent", label="Regio Gent"))
    assert load_campaign(spec).changes  # the questionnaire version went up

    reply = post_page_one(client, key_link, regio="gent")

    assert reply.status_code == 302
    assert stored_response().answers["regio"] == "gent"


def test_reloaded_sectors_are_used_at_once_without_a_questionnaire_change(client, key_link):
    start_survey(client, key_link.code)
    assert post_page_one(client, key_link, sector="cultuur").status_code == 422
    spec = example_spec()
    spec.sectors.append(SectorSpec(code="cultuur", name="Cultuur", target=10))
    before = definition_of(db.session.get(Campaign, key_link.campaign_id)).questionnaire
    load_campaign(spec)

    reply = post_page_one(client, key_link, sector="cultuur")

    assert reply.status_code == 302
    cultuur = db.session.scalar(select(Sector).where(Sector.code == "cultuur"))
    assert stored_response().sector_id == cultuur.id
    assert definition_of(db.session.get(Campaign, key_link.campaign_id)).questionnaire == before


def test_a_renamed_sector_is_shown_at_once(client, key_link):
    start_survey(client, key_link.code)
    assert "Onderwijs" in client.get(f"/s/{key_link.code}/vraag/1").text
    spec = example_spec()
    next(s for s in spec.sectors if s.code == "onderwijs").name = "Onderwijs en vorming"
    load_campaign(spec)

    assert "Onderwijs en vorming" in client.get(f"/s/{key_link.code}/vraag/1").text


def test_an_unchanged_campaign_shares_one_parsed_questionnaire(key_link):
    first = definition_of(db.session.get(Campaign, key_link.campaign_id))
    db.session.commit()

    assert definition_of(db.session.get(Campaign, key_link.campaign_id)).parsed is first.parsed


def test_a_questionnaire_changed_without_the_campaign_file_is_used_at_once(client, key_link):
    """The cache is keyed by the stored content, so an edit by any path counts: here a Core
    UPDATE, which fires no ORM event and leaves version and hash as they were."""
    start_survey(client, key_link.code)
    assert post_page_one(client, key_link, regio="gent").status_code == 422  # cached now
    campaign = db.session.get(Campaign, key_link.campaign_id)
    questionnaire = copy.deepcopy(campaign.questionnaire)
    regio = next(
        question
        for page in questionnaire["pages"]
        for question in page["questions"]
        if question["id"] == "regio"
    )
    regio["options"].append({"value": "gent", "label": "Regio Gent"})
    db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id).values(questionnaire=questionnaire)
    )
    db.session.commit()

    assert post_page_one(client, key_link, regio="gent").status_code == 302
    assert stored_response().answers["regio"] == "gent"


def test_a_sector_changed_outside_a_reload_is_shown_at_once(client, key_link):
    """Sectors are read with every request: any change counts, not only ``flask campaign load``."""
    start_survey(client, key_link.code)
    assert "Onderwijs en vorming" not in client.get(f"/s/{key_link.code}/vraag/1").text
    sector = db.session.scalar(select(Sector).where(Sector.code == "onderwijs"))
    sector.name = "Onderwijs en vorming"
    db.session.commit()

    assert "Onderwijs en vorming" in client.get(f"/s/{key_link.code}/vraag/1").text


def test_a_removed_sector_is_no_longer_offered(client, key_link):
    start_survey(client, key_link.code)
    assert post_page_one(client, key_link).status_code == 302  # the cache holds all five
    db.session.delete(db.session.scalar(select(Sector).where(Sector.code == "integratie")))
    db.session.commit()
    db.session.remove()  # as another process would: the next request starts a fresh session

    assert post_page_one(client, key_link, sector="integratie").status_code == 422


def test_a_new_respondents_page_drawn_once_shows_a_questionnaire_edit_at_once(client, key_link):
    """A page with nothing answered yet is drawn once per parsed questionnaire, page and
    sectors (``display.blank_page``): a label changed by a Core UPDATE is a new questionnaire,
    so the next new respondent sees it."""
    start_survey(client, key_link.code)
    campaign = db.session.get(Campaign, key_link.campaign_id)
    questionnaire = copy.deepcopy(campaign.questionnaire)
    questionnaire["pages"][0]["questions"][1]["label"] = "Een nieuwe vraagtekst"
    db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id).values(questionnaire=questionnaire)
    )
    db.session.commit()

    assert "Een nieuwe vraagtekst" in client.get(f"/s/{key_link.code}/vraag/1").text
    assert "Een nieuwe vraagtekst" in app_client(client).post(f"/s/{key_link.code}/start").text


def test_a_page_drawn_once_is_the_page_drawn_afresh(app, client, key_link):
    """The kept drawing of a new respondent's page is byte for byte what drawing it anew
    gives (templates reloading, as in debug, draw it every time)."""
    kept = client.post(f"/s/{key_link.code}/start").text
    again = app.test_client().post(f"/s/{key_link.code}/start").text
    app.jinja_env.auto_reload = True
    try:
        fresh = app.test_client().post(f"/s/{key_link.code}/start").text
    finally:
        app.jinja_env.auto_reload = False

    def questions(html: str) -> str:
        return html.split('<input type="hidden" name="csrf_token"')[1].split('class="nav-buttons"')[
            0
        ]

    assert questions(kept) == questions(again) == questions(fresh)
    assert 'id="f-sector-0"' in questions(kept)


def app_client(client):
    """A second browser of the same app as ``client``."""
    return client.application.test_client()
