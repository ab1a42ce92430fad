"""Responses saved page by page, completion, attribution, lifecycle and refused input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from campaign.attribution import forward_link
from campaign.definitions.services import close_campaign
from campaign.extensions import db
from campaign.models import Link, Response, Sector
from campaign.survey import services
from campaign.survey.links import find_link
from campaign.survey.questionnaire import ForeignFields
from tests.survey.conftest import EXAMPLE_FORMS, form, load_example, next_address, start_survey


def fill_all(response: Response, now: datetime | None = None) -> services.PageOutcome:
    """Answer every page of the example questionnaire through the service, as a view does."""
    outcome = None
    for index, data in enumerate(EXAMPLE_FORMS):
        outcome = services.save_page(response, index, form(data), now=now)
        assert not outcome.errors, outcome.errors
    return outcome


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- through the service functions ------------------------------------------------------


def test_response_starts_credited_to_the_link_and_its_key_figures_sector(key_link):
    response = services.start_response(key_link)
    assert response.link_id == key_link.id
    assert response.sector.code == "welzijn"
    assert response.answers == {} and response.completed_at is None


def test_own_sector_answer_wins_over_the_key_figures_sector(key_link):
    response = services.start_response(key_link)
    services.save_page(response, 0, form(EXAMPLE_FORMS[0]))
    assert db.session.get(Response, response.id).sector.code == "onderwijs"


def test_answers_are_saved_page_by_page_and_resume_at_the_next_page(key_link):
    response = services.start_response(key_link)
    outcome = services.save_page(response, 0, form(EXAMPLE_FORMS[0]))
    assert outcome.next_page == 1
    stored = db.session.get(Response, response.id)
    assert stored.answers["regio"] == "brugge" and stored.answers["ervaring_jaren"] == 7
    assert stored.last_page == 1


def test_the_session_goes_on_reading_and_writing_after_a_saved_page(key_link):
    # A saved page is a conditional UPDATE committed through the session; the session
    # must go on reading and writing after it.
    link_id, before = key_link.id, key_link.open_count
    response = services.start_response(key_link)
    response_id = response.id
    services.save_page(response, 0, form(EXAMPLE_FORMS[0]))
    services.record_open(key_link)
    db.session.remove()
    assert db.session.get(Link, link_id).open_count == before + 1
    assert db.session.get(Response, response_id).last_page == 1


def test_page_with_errors_stores_nothing(key_link):
    response = services.start_response(key_link)
    bad = {**EXAMPLE_FORMS[0], "regio": "parijs"}
    outcome = services.save_page(response, 0, form(bad))
    assert outcome.errors == {"regio": "Kies een van de antwoorden uit de lijst."}
    assert db.session.get(Response, response.id).answers == {}


def test_answers_to_questions_not_on_the_page_are_refused_and_not_stored(key_link):
    response = services.start_response(key_link)
    with pytest.raises(ForeignFields):
        services.save_page(response, 0, form({**EXAMPLE_FORMS[0], "digiwijzer_nut": "5"}))
    assert db.session.get(Response, response.id).answers == {}


def test_pages_beyond_the_furthest_reached_cannot_be_skipped_to(key_link):
    response = services.start_response(key_link)
    with pytest.raises(services.SurveyError):
        services.save_page(response, 3, form(EXAMPLE_FORMS[3]))


def test_changing_an_answer_drops_answers_it_hid(key_link):
    response = services.start_response(key_link)
    fill_all(response)
    services_response = db.session.get(Response, response.id)
    assert services_response.answers["opleiding_welke"]
    # a completed response cannot be changed any more
    assert services.save_page(response, 2, form(EXAMPLE_FORMS[2])).already_completed

    second = services.start_response(key_link)
    for index in range(3):
        services.save_page(second, index, form(EXAMPLE_FORMS[index]))
    no_training = {**EXAMPLE_FORMS[2], "opleiding_gevolgd": "nee"}
    services.save_page(second, 2, form(no_training), action="back")
    assert "opleiding_welke" not in db.session.get(Response, second.id).answers


def test_last_page_completes_once_with_a_ticket_and_a_forward_link(key_link):
    response = services.start_response(key_link)
    outcome = fill_all(response)
    completion = outcome.completion
    assert completion is not None and completion.ticket
    stored = db.session.get(Response, response.id)
    assert stored.completed_at is not None
    forward = db.session.scalar(select(Link).where(Link.code == completion.forward_code))
    assert forward.parent_id == key_link.id and forward.key_figure_id == key_link.key_figure_id
    # the same last page posted again: no second completion, no second ticket
    again = services.save_page(response, 6, form(EXAMPLE_FORMS[6]))
    assert again.already_completed and again.completion is None
    assert services.complete(response) is None
    assert count(Response) == 1


def test_answers_through_a_forwarded_link_count_for_the_same_key_figure(key_link):
    child = find_link(forward_link(key_link))
    grandchild = find_link(forward_link(child))
    db.session.commit()
    response = services.start_response(grandchild)
    assert response.sector.code == "welzijn"
    assert grandchild.key_figure_id == key_link.key_figure_id


def test_missing_required_answers_on_an_earlier_page_block_completion(key_link):
    response = services.start_response(key_link)
    fill_all_but_last = EXAMPLE_FORMS[:-1]
    for index, data in enumerate(fill_all_but_last):
        services.save_page(response, index, form(data))
    # go back to page 1 and say "never": page 2 disappears; then answer yes again
    services.save_page(response, 0, form({**EXAMPLE_FORMS[0], "frequentie_hulpvragen": "nooit"}))
    stored = db.session.get(Response, response.id)
    assert "drempels" not in stored.answers
    services.save_page(response, 0, form(EXAMPLE_FORMS[0]))
    outcome = services.save_page(response, 6, form(EXAMPLE_FORMS[6]))
    assert outcome.completion is None and outcome.next_page == 1
    assert db.session.get(Response, response.id).completed_at is None


# --- lifecycle ------------------------------------------------------------------------------


def test_before_opening_nothing_starts(app):
    campaign = load_example(opens_at=datetime(2098, 1, 1), closes_at=datetime(2099, 1, 1))
    link = Link(campaign_id=campaign.id)
    db.session.add(link)
    db.session.commit()
    assert services.survey_gate(campaign) == services.Gate.NOT_OPEN
    with pytest.raises(services.SurveyClosed):
        services.start_response(link)


def test_response_in_progress_may_finish_within_the_grace_period_only(key_link, open_campaign):
    started = services.start_response(key_link)
    services.save_page(started, 0, form(EXAMPLE_FORMS[0]))
    closed_at = datetime.now(UTC)
    close_campaign(open_campaign, now=closed_at)
    grace = timedelta(minutes=60)

    with pytest.raises(services.SurveyClosed):
        services.start_response(key_link, now=closed_at + timedelta(minutes=1))
    inside = closed_at + grace - timedelta(minutes=1)
    assert services.survey_gate(open_campaign, started, inside) == services.Gate.GRACE
    assert services.save_page(started, 1, form(EXAMPLE_FORMS[1]), now=inside).next_page == 2

    after = closed_at + grace + timedelta(seconds=1)
    with pytest.raises(services.SurveyClosed):
        services.save_page(started, 2, form(EXAMPLE_FORMS[2]), now=after)
    assert "eigen_vaardigheden" not in db.session.get(Response, started.id).answers


def test_grace_period_is_configurable(make_app):
    app = make_app(SURVEY_GRACE_MINUTES=5)
    with app.app_context():
        assert services.grace_period() == timedelta(minutes=5)
        db.session.remove()


# --- over HTTP ------------------------------------------------------------------------------


def start_over_http(client, link: Link) -> str:
    return start_survey(client, link.code)


def test_the_start_button_shows_the_first_page_and_a_second_press_creates_nothing(client, key_link):
    first = client.post(f"/s/{key_link.code}/start")
    assert first.status_code == 200
    assert "<h1>Over jou en je werk</h1>" in first.text
    assert f'action="/s/{key_link.code}/vraag/1"' in first.text
    again = client.post(f"/s/{key_link.code}/start")  # a reload, the back button, a double click
    assert again.status_code == 302 and again.headers["Location"].endswith("/vraag/1")
    assert count(Response) == 1


def test_one_browser_goes_on_with_its_own_response_in_each_of_two_campaigns(client, key_link):
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure

    other = load_example(slug="tweede-bevraging")
    someone = save_key_figure(
        other, name="Bo", email="bo@example.org", organisation="OCMW", sector_code="welzijn"
    )
    other_code, own_code = root_link(someone).code, key_link.code
    db.session.commit()
    first = next_address(client.post(start_survey(client, own_code), data=form(EXAMPLE_FORMS[0])))
    assert start_survey(client, other_code) == f"/s/{other_code}/vraag/1"
    # The session remembers a response in each campaign; each link finds its own.
    assert client.post(f"/s/{own_code}/start").headers["Location"] == first
    assert client.post(f"/s/{other_code}/start").headers["Location"].endswith("/vraag/1")
    assert count(Response) == 2


def test_opening_a_link_is_counted_once_per_browser_session(client, key_link, app):
    for _ in range(3):
        assert client.get(f"/s/{key_link.code}").status_code == 200
    app.test_client().get(f"/s/{key_link.code}")
    db.session.expire_all()
    assert db.session.get(Link, key_link.id).open_count == 2


def test_unknown_code_gets_a_dutch_404(client, open_campaign):
    response = client.get("/s/bestaatniet123")
    assert response.status_code == 404
    assert "Deze link naar de vragenlijst bestaat niet" in response.text
    assert 'lang="nl-BE"' in response.text


def test_welcome_page_before_opening_says_when_it_opens(client, app):
    campaign = load_example(opens_at=datetime(2098, 6, 28, 9, 0), closes_at=datetime(2098, 9, 15))
    link = Link(campaign_id=campaign.id)
    db.session.add(link)
    db.session.commit()
    page = client.get(f"/s/{link.code}")
    assert "nog niet geopend" in page.text and "28 juni 2098 om 09.00 u" in page.text
    assert client.post(f"/s/{link.code}/start").status_code == 403
    assert count(Response) == 0


def test_a_question_page_says_not_open_yet_when_the_opening_moved_after_someone_started(
    client, key_link
):
    url = start_over_http(client, key_link)
    load_example(opens_at=datetime(2098, 6, 28, 9, 0), closes_at=datetime(2098, 9, 15))

    for page in (client.get(url), client.get(f"/s/{key_link.code}")):
        assert "De vragenlijst is nog niet geopend" in page.text
        assert "28 juni 2098 om 09.00 u" in page.text
    posted = client.post(url, data=form(EXAMPLE_FORMS[0]))
    assert posted.status_code == 403 and "nog niet geopend" in posted.text
    assert db.session.scalar(select(Response)).answers == {}


def test_closed_survey_shows_a_closed_page_and_takes_no_new_answers(
    client, key_link, open_campaign
):
    close_campaign(open_campaign)
    page = client.get(f"/s/{key_link.code}")
    assert "De vragenlijst is afgesloten" in page.text
    assert client.post(f"/s/{key_link.code}/start").status_code == 403
    assert count(Response) == 0


def test_page_errors_are_shown_in_dutch_beside_the_field_with_a_summary(client, key_link):
    url = start_over_http(client, key_link)
    page = client.post(url, data=form({**EXAMPLE_FORMS[0], "regio": "", "ervaring_jaren": "99"}))
    assert page.status_code == 422
    html = page.text
    assert 'id="foutenoverzicht"' in html and 'href="#f-regio-0"' in html
    assert 'id="e-regio"' in html and "Deze vraag is verplicht." in html
    # the summary names the question as it reads: no colon after its question mark
    label = "In welke regio van West-Vlaanderen werk je vooral?"
    assert f"{label} Deze vraag is verplicht." in html and "?:" not in html
    assert "Vul een getal in van 0 tot en met 50." in html
    assert 'aria-describedby="h-ervaring_jaren e-ervaring_jaren"' in html
    # what the respondent typed is still there
    assert 'value="99"' in html


def test_forged_post_with_foreign_fields_is_refused_with_a_message(client, key_link):
    url = start_over_http(client, key_link)
    page = client.post(url, data=form({**EXAMPLE_FORMS[0], "digiwijzer_nut": "5"}))
    assert page.status_code == 400
    assert "Er is niets bewaard" in page.text
    assert db.session.scalar(select(Response)).answers == {}


def test_oversized_post_gets_the_dutch_413_page(make_app, key_link):
    app = make_app(MAX_CONTENT_LENGTH=10_000)
    client = app.test_client()
    with app.app_context():
        url = start_over_http(client, key_link)
        page = client.post(url, data={"moeilijke_hulpvraag": "x" * 20_000})
        assert page.status_code == 413
        assert "te groot" in page.text
        assert db.session.scalar(select(Response)).answers == {}
        db.session.remove()


def test_double_submit_of_the_last_page_stores_one_completion(client, key_link):
    url = start_over_http(client, key_link)
    for data in EXAMPLE_FORMS:
        url = next_address(client.post(url, data=form(data)))
    assert url.endswith("/bedankt")
    last = f"/s/{key_link.code}/vraag/7"
    again = client.post(last, data=form(EXAMPLE_FORMS[-1]))
    assert again.status_code == 302 and again.headers["Location"].endswith("/bedankt")
    assert count(Response) == 1
    from campaign.models import DrawTicket

    assert count(DrawTicket) == 1


def test_full_run_counts_for_the_respondents_sector(client, key_link):
    url = start_over_http(client, key_link)
    for data in EXAMPLE_FORMS:
        url = next_address(client.post(url, data=form(data)))
    stored = db.session.scalar(select(Response))
    onderwijs = db.session.scalar(select(Sector).where(Sector.code == "onderwijs"))
    assert stored.completed_at is not None and stored.sector_id == onderwijs.id
    assert stored.link_id == key_link.id


def test_csrf_protected_form_refuses_a_post_without_token(make_app, key_link):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        refused = client.post(f"/s/{key_link.code}/start")
        assert refused.status_code == 400 and "formulier is verlopen" in refused.text
        welcome = client.get(f"/s/{key_link.code}").text
        token = welcome.split('name="csrf_token" value="')[1].split('"')[0]
        accepted = client.post(f"/s/{key_link.code}/start", data={"csrf_token": token})
        assert accepted.status_code == 200
        assert count(Response) == 1
        db.session.remove()
