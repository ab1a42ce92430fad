"""The campaign file's draw section: validated with errors at the line, stored, and the
privacy text agreeing with it."""

from __future__ import annotations

import pytest

from campaign.definitions.loader import DefinitionError, parse_campaign_text
from tests.conftest import EXAMPLE_CAMPAIGN

EXAMPLE = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")


def with_draw(section: str) -> str:
    start = EXAMPLE.index("\ndraw:\n")
    end = EXAMPLE.index("\nquestionnaire:\n")
    return EXAMPLE[:start] + "\n" + section + EXAMPLE[end:]


def test_the_example_draw_section_is_read_and_normalised():
    spec = parse_campaign_text(
        with_draw(
            'draw:\n  exclude: ["POM.example.be", "Jan.Peeters+x@GMAIL.com"]\n  fold_domains: [GMail.com]\n'
        )
    )
    assert spec.draw.exclude == ["@pom.example.be", "janpeeters@gmail.com"]
    assert spec.draw.fold_domains == ["gmail.com"]
    assert (spec.draw.reserves, spec.draw.claim_days, spec.draw.retention_days) == (3, 14, 30)


@pytest.mark.parametrize(
    ("section", "place", "message"),
    [
        ("draw:\n  fold_domains: [gmail]\n", "draw.fold_domains", "geen domeinnaam"),
        ('draw:\n  exclude: ["jan@@pom.be"]\n', "draw", "geen geldig e-mailadres"),
        ("draw:\n  claim_days: 0\n", "draw.claim_days", "minstens 1"),
        ("draw:\n  bewaren: 30\n", "draw.bewaren", "onbekende sleutel"),
    ],
)
def test_mistakes_in_the_draw_section_point_at_their_line(section, place, message):
    text = with_draw(section)
    line = text[: text.index("\ndraw:\n")].count("\n") + 2
    with pytest.raises(DefinitionError) as caught:
        parse_campaign_text(text, "campagne.yaml")
    [problem] = caught.value.problems
    assert problem.place == place and message in problem.message
    assert line <= problem.line <= line + 1


def test_the_privacy_text_says_what_the_draw_settings_do():
    spec = parse_campaign_text(EXAMPLE)
    privacy = " ".join(spec.privacy.split())
    assert f"{spec.draw.retention_days} dagen" in privacy
    assert "ook die van de winnaars" in privacy and "overhandigd" in privacy
    assert "Na de trekking verwijderen we alle adressen" not in privacy
    thanks = (EXAMPLE_CAMPAIGN.parent.parent / "templates/survey/thanks.html").read_text()
    assert "ook die van de winnaars, worden gewist zodra elke prijs overhandigd is" in thanks
    assert "Na de trekking wordt het gewist" not in thanks
