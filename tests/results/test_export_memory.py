"""Exports stream: the memory an export needs does not grow with the number of responses.

Thousands of responses are seeded with Core inserts of answers that passed the survey's
own page validation (``questionnaire.validate_page``): going through the web services
for each would make the test minutes long and prove nothing more about the export.
"""

from __future__ import annotations

import io
import random
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert
from werkzeug.datastructures import MultiDict

from campaign.extensions import db
from campaign.models import Campaign, Response, new_response_id
from campaign.results import export, export_lines
from campaign.survey import questionnaire as q
from campaign.survey.definition import definition_of
from tests.survey.conftest import load_example

WORDS = [
    "digitale",
    "hulp",
    "cliënt",
    "itsme",
    "formulier",
    "smartphone",
    "wachtwoord",
    "premie",
    "bank",
    "school",
]


def random_fields(question: dict[str, Any], options: list[dict[str, str]], rng) -> list:
    """Form fields for one question, as a browser would send them."""
    qid, kind = question["id"], question["type"]
    values = [o["value"] for o in options]
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f" {rng.random()}"
    if kind in ("single", "likert", "sector"):
        if question.get("other") and rng.random() < 0.1:
            return [(qid, q.OTHER), (qid + q.OTHER_SUFFIX, text)]
        return [(qid, rng.choice(values))]
    if kind == "multiple":
        chosen = rng.sample(
            values, rng.randint(1, min(len(values), question.get("max_choices") or 4))
        )
        return [(qid, value) for value in chosen]
    if kind == "grid":
        return [(f"{qid}.{item['id']}", rng.choice(values)) for item in question["items"]]
    if kind == "number":
        return [
            (qid, str(rng.randint(int(question.get("min") or 0), int(question.get("max") or 40))))
        ]
    return [(qid, text)] if rng.random() < 0.7 else []


def random_answers(questionnaire: dict[str, Any], sectors: list, rng) -> dict[str, Any]:
    """A complete, valid set of answers: random fields, kept only as the survey keeps them."""
    answers: dict[str, Any] = {}
    for index, page in enumerate(q.pages(questionnaire)):
        if not q.page_visible(questionnaire, index, answers):
            continue
        fields = []
        for question in page["questions"]:
            options = q.options_for(question, questionnaire, sectors)
            fields += random_fields(question, options, rng)
        result = q.validate_page(questionnaire, index, MultiDict(fields), answers, sectors)
        assert result.ok, result.errors
        answers.update(result.answers)
    return answers


def with_new_texts(answers: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``answers`` with every free text made unique (an export must not profit from
    repeated strings), still valid: same questions, texts as short as before."""
    fresh = dict(answers)
    for key, value in answers.items():
        if isinstance(value, str) and " " in value:
            fresh[key] = f"{value[:150]} {rng.random()}"
    return fresh


def seed(campaign: Campaign, count: int, rng: random.Random) -> None:
    """``count`` completed responses: answers drawn from a pool of validated sets."""
    questionnaire = definition_of(campaign).questionnaire
    sectors = list(campaign.sectors)
    ids = {s.code: s.id for s in sectors}
    pool = [random_answers(questionnaire, sectors, rng) for _ in range(100)]
    start = datetime(2027, 7, 1, 8, 0, tzinfo=UTC)
    rows = []
    for _ in range(count):
        answers = with_new_texts(rng.choice(pool), rng)
        done = start + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        rows.append(
            {
                "id": new_response_id(),
                "campaign_id": campaign.id,
                "link_id": None,
                "sector_id": ids.get(answers.get("sector")),
                "started_at": done - timedelta(minutes=20),
                "updated_at": done,
                "completed_at": done,
                "last_page": len(questionnaire["pages"]) - 1,
                "answers": answers,
                "questionnaire_version": campaign.questionnaire_version,
            }
        )
    db.session.execute(insert(cast(Table, Response.__table__)), rows)
    db.session.commit()


WRITERS = {
    "csv": lambda campaign, sink: export.write_csv(campaign, sink),
    "json": lambda campaign, sink: export.write_json(campaign, sink),
    "xlsx": lambda campaign, sink: export.write_xlsx(campaign, sink),
}


def peak(campaign: Campaign, file_format: str, folder: Path) -> tuple[int, int, int]:
    """(peak bytes traced during one export, rows written, bytes written)."""
    # The CSV rows of the responses seeded since are made first, in batches of a fixed
    # size (export_lines.BATCH): what is measured is the export streaming them.
    export_lines.refresh(campaign)
    db.session.expire_all()
    target = folder / f"export.{file_format}"
    with open(target, "wb") as stream:
        tracemalloc.start()
        try:
            count = WRITERS[file_format](campaign, stream)
            _current, highest = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return highest, count, target.stat().st_size


def measure(campaign: Campaign, file_format: str, sizes: tuple[int, int], folder: Path):
    """The peaks of an export at the two sizes (the second seeds the difference)."""
    rng = random.Random(10)
    seed(campaign, sizes[0], rng)
    WRITERS[file_format](campaign, io.BytesIO())  # warm up: compiled queries, imports, caches
    small = peak(campaign, file_format, folder)
    seed(campaign, sizes[1] - sizes[0], rng)
    large = peak(campaign, file_format, folder)
    assert (small[1], large[1]) == sizes
    assert large[2] > 3.5 * small[2]  # four times the data went through ...
    return small[0], large[0]


@pytest.mark.slow
@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_export_memory_does_not_grow_with_the_number_of_responses(app, tmp_path, file_format):
    small, large = measure(load_example(), file_format, (2000, 8000), tmp_path)
    # ... with about the same memory (all of it in memory would be about four times as much)
    assert large < 1.5 * small, (small, large)


@pytest.mark.slow
def test_xlsx_memory_does_not_grow_with_the_number_of_responses(app, tmp_path):
    """Fewer rows (still twice a batch at the small size): openpyxl under tracemalloc is
    slow, every cell being several objects."""
    small, large = measure(load_example(), "xlsx", (2 * export.BATCH, 8 * export.BATCH), tmp_path)
    assert large < 1.5 * small, (small, large)
