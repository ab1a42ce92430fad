"""The per-process cache of questionnaires and sectors: a reload is used at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.schema import CampaignSpec, Option, SectorSpec
from campaign.definitions.services import load_campaign
from campaign.extensions import db
from campaign.models import Link, Response, Sector
from campaign.survey.queries import survey_campaign
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.survey.conftest import EXAMPLE_FORMS, form


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
    assert client.post(f"/s/{key_link.code}/start").status_code == 302
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
    assert client.post(f"/s/{key_link.code}/start").status_code == 302
    assert post_page_one(client, key_link, sector="cultuur").status_code == 422
    spec = example_spec()
    spec.sectors.append(SectorSpec(code="cultuur", name="Cultuur", target=10))
    before = survey_campaign(key_link.campaign_id).definition.questionnaire
    load_campaign(spec)

    reply = post_page_one(client, key_link, sector="cultuur")

    assert reply.status_code == 302
    cultuur = db.session.scalar(select(Sector).where(Sector.code == "cultuur"))
    assert stored_response().sector_id == cultuur.id
    assert survey_campaign(key_link.campaign_id).definition.questionnaire == before


def test_a_renamed_sector_is_shown_at_once(client, key_link):
    assert client.post(f"/s/{key_link.code}/start").status_code == 302
    assert "Onderwijs" in client.get(f"/s/{key_link.code}/vraag/1").text
    spec = example_spec()
    next(s for s in spec.sectors if s.code == "onderwijs").name = "Onderwijs en vorming"
    load_campaign(spec)

    assert "Onderwijs en vorming" in client.get(f"/s/{key_link.code}/vraag/1").text


def test_an_unchanged_campaign_shares_one_parsed_definition(key_link):
    first = survey_campaign(key_link.campaign_id).definition
    db.session.commit()

    assert survey_campaign(key_link.campaign_id).definition is first


def test_a_sector_changed_outside_a_reload_is_shown_at_once(client, key_link):
    """Any ORM change to a sector counts (a flush event), not only ``flask campaign load``."""
    assert client.post(f"/s/{key_link.code}/start").status_code == 302
    assert "Onderwijs en vorming" not in client.get(f"/s/{key_link.code}/vraag/1").text
    sector = db.session.scalar(select(Sector).where(Sector.code == "onderwijs"))
    sector.name = "Onderwijs en vorming"
    db.session.commit()

    assert "Onderwijs en vorming" in client.get(f"/s/{key_link.code}/vraag/1").text


def test_a_removed_sector_is_no_longer_offered(client, key_link):
    assert client.post(f"/s/{key_link.code}/start").status_code == 302
    assert post_page_one(client, key_link).status_code == 302  # the cache holds all five
    db.session.delete(db.session.scalar(select(Sector).where(Sector.code == "integratie")))
    db.session.commit()

    assert post_page_one(client, key_link, sector="integratie").status_code == 422
