"""The CSV export's kept rows (``export_lines``): made at completion, never stale.

The export from the kept rows equals the export made from the answers (the same rows,
in a new random order within each sector), with both delimiters; after a load that
changes the questionnaire the stale rows are made from the answers until they are
made again.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import Text, cast, func, select, update

from campaign.extensions import db
from campaign.models import Campaign, ExportLine
from campaign.results import export, export_lines
from tests.results.results_seed import CAMPAIGN, DURING, PEOPLE, link_for, load, respond, seed


@pytest.fixture
def seeded(app):
    app.config["CLOCK"] = lambda: DURING
    campaign = load()
    seed(campaign)
    return campaign


def exported(campaign: Campaign, delimiter: str = ";") -> tuple[list[str], list[list[str]]]:
    """(header, rows without the row number, sorted) of the CSV export."""
    stream = io.StringIO()
    export.write_csv(campaign, stream, delimiter=delimiter)
    rows = list(csv.reader(io.StringIO(stream.getvalue().lstrip("\ufeff")), delimiter=delimiter))
    numbers = [row[0] for row in rows[1:]]
    assert numbers == [str(n) for n in range(1, len(rows))]
    return rows[0], sorted(row[1:] for row in rows[1:])


def from_answers(campaign: Campaign, delimiter: str = ";") -> tuple[list[str], list[list[str]]]:
    """The export made from the answers alone, as it was before rows were kept (no kept
    row read or made)."""
    data = export.table(campaign, export.csv_style(delimiter))
    text = "".join(export._csv_chunks(data.header, data.rows(), delimiter))
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], sorted(row[1:] for row in rows[1:])


def kept_count(campaign: Campaign) -> int:
    mark = export_lines.fingerprint(campaign)
    query = select(func.count()).where(ExportLine.fingerprint == mark)
    return int(db.session.scalar(query.where(ExportLine.campaign_id == campaign.id)) or 0)


@pytest.mark.parametrize("delimiter", [";", ","])
def test_the_export_keeps_each_completed_row_and_equals_the_answers(seeded, delimiter):
    assert kept_count(seeded) == 0  # the completions made none: the survey's hot path
    header, rows = exported(seeded, delimiter)
    assert kept_count(seeded) == len(PEOPLE)  # the unfinished respondent has none
    assert (header, rows) == from_answers(seeded, delimiter)
    assert len(rows) == len(PEOPLE)
    assert exported(seeded, delimiter) == (header, rows)  # from the kept rows this time


def test_a_changed_questionnaire_makes_the_kept_rows_stale_and_then_again(seeded, app):
    old = export_lines.fingerprint(seeded)
    changed = CAMPAIGN.replace(
        '        - {id: opmerking, type: textarea, label: "Nog iets kwijt?"}\n',
        '        - {id: opmerking, type: textarea, label: "Nog iets kwijt?"}\n'
        "        - {id: extra, type: text, label: Nog een vraag}\n",
    )
    campaign = load(changed)  # the load makes the rows again after its commit
    assert export_lines.fingerprint(campaign) != old
    assert kept_count(campaign) == len(PEOPLE)
    header, rows = exported(campaign)
    assert "extra" in header
    assert (header, rows) == from_answers(campaign)

    # stale rows (as before a refresh) are never used: the export makes them again
    db.session.execute(
        ExportLine.__table__.update().values(fingerprint=old, semicolon="verouderd\r\n")
    )
    db.session.commit()
    assert kept_count(campaign) == 0
    assert exported(campaign) == (header, rows)  # made again, never the stale ones
    assert kept_count(campaign) == len(PEOPLE)
    assert export_lines.refresh(campaign) == 0


def test_completions_after_a_load_keep_rows_for_the_new_questionnaire(seeded):
    campaign = load(CAMPAIGN.replace("title: Digitale vragen in de regio", "title: Andere titel"))
    link = link_for(campaign, "nog@example.org", "arbeid")
    respond(link, *PEOPLE[1])
    assert kept_count(campaign) == len(PEOPLE)  # the load made them; the completion none
    assert exported(campaign) == from_answers(campaign)
    assert kept_count(campaign) == len(PEOPLE) + 1


def test_a_questionnaire_changed_without_a_new_version_is_noticed_too(seeded):
    """Any change of the stored questionnaire (here a Core UPDATE adding an option, with
    the version unchanged) makes the kept rows stale: the new column is never missing."""
    exported(seeded)
    assert kept_count(seeded) == len(PEOPLE)
    questionnaire = json.loads(
        db.session.scalar(
            select(cast(Campaign.questionnaire, Text)).where(Campaign.id == seeded.id)
        )
    )
    question = next(
        q for page in questionnaire["pages"] for q in page["questions"] if q["id"] == "kanalen"
    )
    question["options"].append({"value": "chat", "label": "Chat"})
    db.session.execute(
        update(Campaign).where(Campaign.id == seeded.id).values(questionnaire=questionnaire)
    )
    db.session.commit()
    assert kept_count(seeded) == 0
    header, rows = exported(seeded)
    assert "kanalen.chat" in header
    assert (header, rows) == from_answers(seeded)
