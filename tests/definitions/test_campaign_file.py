"""The campaign file: loading, validation errors that point at the mistake, safe reloads."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign.definitions.loader import DefinitionError, parse_campaign_text
from campaign.definitions.services import find_campaign, load_campaign_file
from campaign.extensions import db
from campaign.models import Campaign, Response, Sector

TWO_SECTORS = """\
slug: kleine-bevraging
title: Een kleine bevraging
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-06-28 09:00
  closes_at: 2027-09-15 23:59
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
sectors:
  - code: onderwijs
    name: Onderwijs
    target: 50
  - code: welzijn
    name: Welzijn
    target: 70
questionnaire:
  scales:
    eens:
      - {value: "1", label: Oneens}
      - {value: "2", label: Eens}
  pages:
    - id: profiel
      title: Over jou
      questions:
        - id: sector
          type: sector
          label: In welke sector werk je?
          required: true
        - id: stelling
          type: likert
          scale: eens
          label: Digitale vragen nemen toe.
        - id: opmerking
          type: textarea
          label: Nog iets?
          show_if: {question: stelling, equals: "2"}
"""


def write(tmp_path: Path, text: str, name: str = "campagne.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_campaign_text(text, "c.yaml")
    return [p.describe("c.yaml") for p in caught.value.problems]


def campaign_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Campaign))


def test_hand_written_file_with_two_sectors_loads(app, runner, tmp_path):
    result = runner.invoke(args=["campaign", "load", str(write(tmp_path, TWO_SECTORS))])
    assert result.exit_code == 0, result.output
    assert "aangemaakt" in result.output
    campaign = find_campaign("kleine-bevraging")
    assert [s.code for s in campaign.sectors] == ["onderwijs", "welzijn"]
    assert [s.target for s in campaign.sectors] == [50, 70]
    # 09:00 in Brussels in summer is 07:00 UTC.
    assert campaign.opens_at.isoformat() == "2027-06-28T07:00:00+00:00"
    assert campaign.questionnaire["pages"][0]["questions"][1]["scale"] == "eens"


def test_example_campaign_loads_with_six_sectors_and_two_prizes(example_campaign):
    assert [s.code for s in example_campaign.sectors] == [
        "onderwijs",
        "arbeidsmarkt",
        "lokaal_bestuur",
        "welzijn",
        "integratie",
        "andere",
    ]
    assert len(example_campaign.prizes) == 2
    assert example_campaign.local(example_campaign.opens_at).strftime("%d/%m") == "28/06"
    assert example_campaign.reminder_at.month == 8
    assert example_campaign.local(example_campaign.closes_at).day == 15
    assert example_campaign.results_due.month == 10


def test_broken_file_points_at_the_line_and_changes_nothing(app, runner, tmp_path):
    broken = TWO_SECTORS.replace("    target: 70", "    target: zeventig")
    result = runner.invoke(args=["campaign", "load", str(write(tmp_path, broken))])
    assert result.exit_code == 1
    assert "regel 16" in result.output
    assert "sectors[1].target" in result.output
    assert "geheel getal" in result.output
    assert "niets gewijzigd" in result.output
    assert campaign_count() == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("title: Een kleine bevraging\n", ""), "title: verplicht veld ontbreekt"),
        (
            ("  closes_at: 2027-09-15 23:59", "  closes_at: 2027-06-01 23:59"),
            "closes_at moet na opens_at",
        ),
        (("  opens_at: 2027-06-28 09:00", "  opens_at: morgen"), "verwacht een datum en uur"),
        (("type: likert", "type: slider"), "moet een van deze zijn"),
        (("scale: eens", "scale: akkoord"), "schaal 'akkoord'"),
        (("code: welzijn", "code: onderwijs"), "sectorcode 'onderwijs' komt twee keer voor"),
        (('equals: "2"', 'equals: "2", question: nergens'), "show_if"),
        (("show_if: {question: stelling,", "show_if: {question: opmerking,"), "geen eerdere vraag"),
        (("sender_email: team@example.org", "sender_email: geen-adres"), "sender_email"),
        (("organisers: [Huis van het Leren]", "organisers: []"), "organisers"),
        (("slug: kleine-bevraging", "slug: Kleine Bevraging!"), "ongeldig formaat"),
        (("    name: Welzijn\n", "    name: Welzijn\n    doel: 3\n"), "onbekende sleutel"),
        (("id: opmerking", "id: stelling"), "vraag-id 'stelling' komt twee keer voor"),
        (("type: textarea", "type: single"), "heeft 'options' nodig"),
    ],
)
def test_each_mistake_gets_a_dutch_message(change, expected):
    old, new = change
    assert old in TWO_SECTORS
    problems = problems_of(TWO_SECTORS.replace(old, new, 1))
    assert any(expected in p for p in problems), problems


def test_invalid_yaml_reports_its_line():
    problems = problems_of("slug: a\ntitle: [niet gesloten\norganisers: x\n")
    assert len(problems) == 1
    assert "geen geldige YAML" in problems[0]
    assert "regel" in problems[0]


def test_file_that_is_not_a_mapping_is_refused():
    assert "begint met sleutels" in problems_of("- een\n- lijst\n")[0]


def test_missing_file_is_a_clear_error(app, runner, tmp_path):
    result = runner.invoke(args=["campaign", "load", str(tmp_path / "bestaat-niet.yaml")])
    assert result.exit_code == 1
    assert "bestand niet gevonden" in result.output


def test_reload_updates_and_keeps_collected_answers(app, tmp_path):
    campaign = load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign
    db.session.add(Response(campaign_id=campaign.id, answers={"stelling": "2"}))
    db.session.commit()
    changed = TWO_SECTORS.replace("target: 50", "target: 60").replace(
        "label: Nog iets?", "label: Wil je nog iets kwijt?"
    )
    result = load_campaign_file(write(tmp_path, changed))
    assert not result.created
    assert result.campaign.sectors[0].target == 60
    assert result.campaign.questionnaire_version == 2
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_reload_without_changes_keeps_the_questionnaire_version(app, tmp_path):
    load_campaign_file(write(tmp_path, TWO_SECTORS))
    assert load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign.questionnaire_version == 1


def test_reload_refuses_to_orphan_answers_and_changes_nothing(app, runner, tmp_path):
    campaign = load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign
    db.session.add(Response(campaign_id=campaign.id, answers={"stelling": "2", "opmerking": "x"}))
    db.session.commit()
    without_question = TWO_SECTORS.split("        - id: opmerking")[0].replace(
        "target: 50", "target: 99"
    )
    result = runner.invoke(args=["campaign", "load", str(write(tmp_path, without_question))])
    assert result.exit_code == 1
    assert "vraag 'opmerking' is verwijderd" in result.output
    db.session.expire_all()
    campaign = find_campaign("kleine-bevraging")
    assert campaign.sectors[0].target == 50
    assert "opmerking" in json.dumps(campaign.questionnaire)


def test_reload_refuses_to_remove_a_sector_in_use(app, tmp_path):
    campaign = load_campaign_file(write(tmp_path, TWO_SECTORS)).campaign
    welzijn = db.session.scalar(select(Sector).where(Sector.code == "welzijn"))
    db.session.add(Response(campaign_id=campaign.id, sector_id=welzijn.id, answers={}))
    db.session.commit()
    without_welzijn = TWO_SECTORS.replace(
        "  - code: welzijn\n    name: Welzijn\n    target: 70\n", ""
    )
    with pytest.raises(DefinitionError, match="sector 'welzijn' is verwijderd"):
        load_campaign_file(write(tmp_path, without_welzijn))


def test_reload_may_remove_an_unused_sector(app, tmp_path):
    load_campaign_file(write(tmp_path, TWO_SECTORS))
    without_welzijn = TWO_SECTORS.replace(
        "  - code: welzijn\n    name: Welzijn\n    target: 70\n", ""
    )
    result = load_campaign_file(write(tmp_path, without_welzijn))
    assert [s.code for s in result.campaign.sectors] == ["onderwijs"]
    assert "sector welzijn verwijderd" in result.changes


#: Before the example campaign opens (28 June 2027): its state must not hang on today's date.
BEFORE_OPENING = datetime(2027, 1, 1, tzinfo=UTC)


def test_list_and_stats_commands(app, runner, example_campaign):
    app.config["CLOCK"] = lambda: BEFORE_OPENING
    listed = runner.invoke(args=["campaign", "list"])
    assert listed.exit_code == 0
    assert "eerste-hulp-digitale-vragen\tdraft" in listed.output
    stats = runner.invoke(args=["campaign", "stats", "eerste-hulp-digitale-vragen", "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert {"slug", "state", "invited", "started", "completed", "sectors", "key_figures"} <= set(
        data
    )
    assert data["state"] == "draft"
    assert {"code", "name", "target", "completed", "projected", "on_track"} <= set(
        data["sectors"][0]
    )
    assert set(data["funnel"]) == {"invited", "delivered", "opened", "started", "completed"}
    # before opening nothing is projected, and no target is reached
    assert (data["sectors"][0]["projected"], data["sectors"][0]["on_track"]) == (0, False)


def test_unknown_slug_fails_with_exit_status_1(app, runner):
    for command in (["campaign", "stats", "nergens"], ["campaign", "close", "nergens"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 1
        assert "Geen campagne met slug 'nergens'" in result.output


def test_list_says_how_to_start_when_empty(app, runner):
    result = runner.invoke(args=["campaign", "list"])
    assert "Nog geen campagnes" in result.output
