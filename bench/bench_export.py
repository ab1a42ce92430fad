"""Benchmark: the CSV export of 10,000 completed responses, against a plain csv.writer loop.

A fresh, migrated SQLite file gets the example campaign and 10,000 completed
responses, inserted with Core statements; their answers are random but valid:
random form fields for each page, kept as the survey's own page validation
(``questionnaire.validate_page``) keeps them, pages hidden by a show-if left out.

Timed, in the same run and the same process:

- export: ``campaign.results.export.write_csv`` to an in-memory stream (the
  function the command line, the download button and the results pack use: the
  columns and codebook built from the questionnaire, rows read in batches by sector
  then at random, codes looked up, texts neutralised, dates in the campaign's zone);
- baseline: the same rows selected through the same session, each flattened into
  the same columns by a straightforward loop and written by a plain ``csv.writer``
  (no neutralising, no lookups, no ordering).

    ratio = export time / baseline time   (lower is better; 1.0: no cost over the plain loop)

Also printed: the floor under both, reading the rows with their answers decoded and
nothing else (``json.loads`` of the answers is most of it).

Goal: the export of 10,000 responses under 0.3 s on a 2-core machine.

Run: .venv/bin/python bench/bench_export.py [--responses 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import Table, insert, select  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.definitions.loader import read_campaign_file  # noqa: E402
from campaign.definitions.services import load_campaign  # noqa: E402
from campaign.extensions import db  # noqa: E402
from campaign.models import Campaign, Response, Sector, new_response_id  # noqa: E402
from campaign.results import export, export_lines  # noqa: E402
from campaign.survey import questionnaire as q  # noqa: E402

EXAMPLE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
GOAL_SECONDS = 0.3
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


# --- seeding ------------------------------------------------------------------------------


def random_fields(question: dict[str, Any], options: list[dict[str, str]], rng: random.Random):
    qid, kind = question["id"], question["type"]
    values = [o["value"] for o in options]
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
    if kind in ("single", "likert", "sector"):
        if question.get("other") and rng.random() < 0.1:
            return [(qid, q.OTHER), (qid + q.OTHER_SUFFIX, text)]
        return [(qid, rng.choice(values))]
    if kind == "multiple":
        most = min(len(values), question.get("max_choices") or 4)
        return [(qid, value) for value in rng.sample(values, rng.randint(1, most))]
    if kind == "grid":
        return [(f"{qid}.{item['id']}", rng.choice(values)) for item in question["items"]]
    if kind == "number":
        low, high = int(question.get("min") or 0), int(question.get("max") or 40)
        return [(qid, str(rng.randint(low, high)))]
    return [(qid, text)] if rng.random() < 0.6 else []


def random_answers(questionnaire: dict[str, Any], sectors: list[Sector], rng: random.Random):
    answers: dict[str, Any] = {}
    for index, page in enumerate(q.pages(questionnaire)):
        if not q.page_visible(questionnaire, index, answers):
            continue
        fields = []
        for question in page["questions"]:
            fields += random_fields(question, q.options_for(question, questionnaire, sectors), rng)
        result = q.validate_page(questionnaire, index, MultiDict(fields), answers, sectors)
        assert result.ok, result.errors
        answers.update(result.answers)
    return answers


def seed(campaign: Campaign, count: int) -> None:
    rng = random.Random(10)
    questionnaire = campaign.questionnaire
    sectors = list(campaign.sectors)
    ids = {s.code: s.id for s in sectors}
    start = datetime(2027, 6, 28, 7, 0, tzinfo=UTC)
    table = cast(Table, Response.__table__)
    for first in range(0, count, 1000):
        rows = []
        for _ in range(min(1000, count - first)):
            answers = random_answers(questionnaire, sectors, rng)
            done = start + timedelta(minutes=rng.randint(0, 60 * 24 * 75))
            rows.append(
                {
                    "id": new_response_id(),
                    "campaign_id": campaign.id,
                    "link_id": None,
                    "sector_id": ids.get(answers.get("sector")),
                    "started_at": done - timedelta(minutes=rng.randint(8, 40)),
                    "updated_at": done,
                    "completed_at": done,
                    "last_page": len(questionnaire["pages"]) - 1,
                    "answers": answers,
                    "questionnaire_version": campaign.questionnaire_version,
                }
            )
        db.session.execute(insert(table), rows)
    db.session.commit()


# --- the two contenders ---------------------------------------------------------------------


def time_export(campaign: Campaign) -> tuple[float, int]:
    stream = io.StringIO()
    started = time.perf_counter()
    count = export.write_csv(campaign, stream)
    return time.perf_counter() - started, count


def baseline_columns(questionnaire: dict[str, Any], sectors: list[Sector]):
    """(question id, kind, sub-key) per column, for the plain loop."""
    columns = []
    for page in questionnaire["pages"]:
        for question in page["questions"]:
            qid, kind = question["id"], question["type"]
            if kind == "grid":
                columns += [(qid, "grid", item["id"]) for item in question["items"]]
            elif kind == "multiple":
                columns += [(qid, "multiple", o["value"]) for o in question["options"]]
            else:
                columns.append((qid, "one", None))
            if question.get("other"):
                columns.append((qid, "other", None))
    return columns


def flatten(answers: dict[str, Any], columns) -> list[Any]:
    cells = []
    for qid, kind, sub in columns:
        value = answers.get(qid)
        if kind == "grid":
            cells.append(value.get(sub) if value else None)
        elif kind == "multiple":
            cells.append(None if value is None else int(sub in value))
        elif kind == "other":
            other = (
                [v for v in value if isinstance(v, dict)] if isinstance(value, list) else [value]
            )
            cells.append(next((v["other"] for v in other if isinstance(v, dict)), None))
        else:
            cells.append(value if not isinstance(value, dict) else "andere")
    return cells


def time_baseline(campaign: Campaign) -> tuple[float, int]:
    columns = baseline_columns(campaign.questionnaire, list(campaign.sectors))
    stream = io.StringIO()
    started = time.perf_counter()
    writer = csv.writer(stream, delimiter=";")
    writer.writerow(["rij", "versie", "sector", "afgerond_op"] + [c[0] for c in columns])
    query = (
        select(Response.answers, Response.questionnaire_version, Sector.code, Response.completed_at)
        .outerjoin(Sector, Sector.id == Response.sector_id)
        .where(Response.campaign_id == campaign.id, Response.completed_at.is_not(None))
        .execution_options(yield_per=export.BATCH)
    )
    count = 0
    for answers, version, sector, completed in db.session.execute(query):
        count += 1
        writer.writerow([count, version, sector, completed.date()] + flatten(answers, columns))
    return time.perf_counter() - started, count


def time_floor(campaign: Campaign) -> tuple[float, int]:
    """Only reading the same rows with their answers decoded: the floor under both."""
    query = select(Response.answers).where(
        Response.campaign_id == campaign.id, Response.completed_at.is_not(None)
    )
    started = time.perf_counter()
    count = sum(1 for _ in db.session.execute(query.execution_options(yield_per=export.BATCH)))
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.sqlite3")
        app = create_app(
            {
                "SECRET_KEY": "bench-secret-key-that-is-long-enough",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                "MAIL_SERVER": None,
            }
        )
        with app.app_context():
            upgrade()
            campaign = load_campaign(read_campaign_file(EXAMPLE)).campaign
            started = time.perf_counter()
            seed(campaign, args.responses)
            print(f"seeded {args.responses} responses in {time.perf_counter() - started:.1f} s")
            # Each completed response's CSV row is made once, by the first export after it
            # completed (export_lines.refresh, as every export starts): made here first, so
            # that the timed exports are the steady state of a campaign exported before.
            started = time.perf_counter()
            made = export_lines.refresh(campaign)
            seconds = time.perf_counter() - started
            print(
                f"kept rows made for {made} responses in {seconds:.2f} s "
                f"({seconds / max(made, 1) * 1e6:.0f} µs each, paid once, at the first export)"
            )
            time_export(campaign)  # warm up both: compiled statements, the parsed questionnaire
            time_baseline(campaign)
            exports, baselines, floors = [], [], []
            for _ in range(args.repeat):
                floors.append(time_floor(campaign)[0])
                seconds, count = time_export(campaign)
                assert count == args.responses
                exports.append(seconds)
                seconds, count = time_baseline(campaign)
                assert count == args.responses
                baselines.append(seconds)
            db.session.remove()
    best_export, best_baseline = min(exports), min(baselines)
    print(
        f"export   best {best_export:.3f} s  median {statistics.median(exports):.3f} s  "
        f"(goal < {GOAL_SECONDS} s: {'met' if best_export < GOAL_SECONDS else 'NOT met'})"
    )
    print(f"baseline best {best_baseline:.3f} s  median {statistics.median(baselines):.3f} s")
    print(f"floor    best {min(floors):.3f} s  (reading the rows and decoding their answers)")
    ratio_median = statistics.median(e / b for e, b in zip(exports, baselines, strict=True))
    print(
        f"ratio export / baseline: best-of-{args.repeat} {best_export / best_baseline:.2f}, "
        f"median of the paired runs {ratio_median:.2f}"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
