"""The progress indicator keeps its page count while show-if rules hide or show pages."""

from __future__ import annotations

from campaign.survey import display
from campaign.survey.definition import definition_of
from tests.survey.conftest import EXAMPLE_FORMS, form, start_survey


def test_the_page_count_stays_the_same_whatever_is_hidden(open_campaign):
    definition = definition_of(open_campaign)
    pages = len(definition.questionnaire["pages"])
    first = display.build_page(definition, 0, {})
    # Nothing answered yet: pages whose condition is still open are counted all the same.
    assert (first.number, first.total, first.approximate) == (1, pages, True)
    answered = {"frequentie_hulpvragen": "nooit"}  # hides the pages about the questions
    later = display.build_page(definition, 0, answered)
    assert later.total == pages


def test_the_page_says_about_when_pages_may_be_skipped(client, key_link):
    url = start_survey(client, key_link.code)
    first = client.get(url)
    assert "Pagina 1 van ongeveer 7" in first.text
    page = client.post(url, data=form(EXAMPLE_FORMS[0]), follow_redirects=True)
    assert "Pagina 2 van ongeveer 7" in page.text
