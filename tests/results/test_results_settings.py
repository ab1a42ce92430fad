"""The campaign file's ``results`` section: validated against the questionnaire, stored in
``Campaign.results_settings``."""

from __future__ import annotations

import pytest

from campaign.definitions.loader import DefinitionError, parse_campaign_text
from campaign.definitions.services import load_campaign
from tests.conftest import EXAMPLE_CAMPAIGN

EXAMPLE = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")


def problems_of(text: str) -> str:
    with pytest.raises(DefinitionError) as caught:
        parse_campaign_text(text, "campagne.yaml")
    return str(caught.value)


def test_example_results_section_is_stored_on_the_campaign(example_campaign):
    settings = example_campaign.results_settings
    assert settings["profile"] == ["sector", "organisatietype", "regio", "rol"]
    decision = settings["decision"]
    assert decision["demand"][0] == {"question": "digiwijzer_nut", "positive": ["4", "5"]}
    assert decision["demand"][2] == {"question": "digiwijzer_functies"}
    assert decision["catalogue"]["take_part"] == "aanbod_in_digiwijzer"
    assert decision["catalogue"]["fields"][-2:] == ["aanbod_vorm", "aanbod_beschrijving"]


def test_campaign_without_results_section_stores_an_empty_mapping(app):
    start = EXAMPLE.index("\nresults:")
    spec = parse_campaign_text(EXAMPLE[:start] + "\n", "campagne.yaml")
    assert load_campaign(spec).campaign.results_settings == {}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            "profile: [sector, organisatietype, regio, rol]",
            "profile: [sector, ervaring_jaren]",
            "results: profile: vraag 'ervaring_jaren' is van type number; hier past enkel",
        ),
        (
            "profile: [sector, organisatietype, regio, rol]",
            "profile: [sector, sector]",
            "results: profile: een vraag staat er twee keer in",
        ),
        (
            "profile: [sector, organisatietype",
            "profile: [sectoor, organisatietype",
            "results: profile: 'sectoor' is geen vraag van de vragenlijst",
        ),
        (
            "- digiwijzer_functies",
            "- digiwijzer_verwachtingen",
            "results: decision.demand: vraag 'digiwijzer_verwachtingen' is van type textarea",
        ),
        (
            'positive: ["4", "5"]',
            'positive: ["4", "6"]',
            "'6' is geen antwoordoptie van vraag 'digiwijzer_nut'",
        ),
        (
            "take_part_values: [ja, misschien]",
            "take_part_values: [ja, zeker]",
            "'zeker' is geen antwoordoptie van vraag 'aanbod_in_digiwijzer'",
        ),
        (
            "take_part: aanbod_in_digiwijzer",
            "take_part: aanbod_vorm",
            "results: decision.catalogue.take_part: vraag 'aanbod_vorm' is van type multiple",
        ),
        (
            "fields: [organisatietype,",
            "fields: [bestaat_niet,",
            "results: decision.catalogue.fields: 'bestaat_niet' is geen vraag",
        ),
        ("  decision:\n", "  decisions:\n", "decisions"),
    ],
)
def test_each_mistake_in_the_results_section_gets_a_dutch_message(before, after, expected):
    assert before in EXAMPLE
    message = problems_of(EXAMPLE.replace(before, after, 1))
    assert expected in message
    # the line of the results section (or inside it), not the top of the file
    results_line = EXAMPLE[: EXAMPLE.index("\nresults:")].count("\n") + 2
    line = int(message.split("regel ", 1)[1].split(":", 1)[0])
    assert line >= results_line
