"""Benchmark: the campaign dashboard and the stats JSON at 1,000 and 100,000 answers.

For each database (SQLite, and PostgreSQL when reachable) and each size, a
fresh database is migrated, the example campaign is loaded, and then seeded
with Core bulk inserts of valid rows: 10,000 key figures with their own
links, an invitation per key figure (sent), N completed responses (answers
taken from real demo respondents, their profile answers drawn again), one
forward link per completed response, a fifth of the responses arriving
through a forward, and a tenth more responses left unfinished on some page.
The counting indexes come with the migrations (0004, 0012).  Then ``ANALYZE``,
and, in the same run, timed (median of ``--repeat`` after a
warm-up):

- the dashboard page ``GET /dashboard/<slug>/`` through the Flask test client,
  logged in;
- ``campaign_stats`` (what ``flask campaign stats --json`` prints);
- the results page (``results.page``) and the CSV export
  (``campaign.results.export.write_csv``) when the app has them.

It prints the times and the ratio 100k / 1k per measure.  Goals: that ratio at
most 3 for the dashboard and the stats; the dashboard page under 300 ms at
100,000 on SQLite.

Run: .venv/bin/python bench/bench_dashboard.py [--sizes 1000 100000] [--repeat 5]
     [--pg postgresql+psycopg://postgres@127.0.0.1:5432] [--no-pg] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.auth.services import create_coordinator  # noqa: E402
from campaign.dashboard.queries import campaign_stats  # noqa: E402
from campaign.definitions.loader import parse_campaign_text  # noqa: E402
from campaign.definitions.services import load_campaign  # noqa: E402
from campaign.extensions import db  # noqa: E402
from campaign.models import (  # noqa: E402
    Campaign,
    KeyFigure,
    Link,
    Message,
    Response,
    new_link_code,
    new_random_id,
    new_response_id,
)
from campaign.results import export_lines, tally  # noqa: E402
from campaign.survey import questionnaire as q  # noqa: E402

EXAMPLE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
KEY_FIGURES = 10_000
#: Mid-way through the example campaign (28 June to mid-September 2027).
NOW = datetime(2027, 8, 10, 10, 0, tzinfo=UTC)
PASSWORD = "een-lang-wachtwoord"
PROFILE = ("organisatietype", "regio", "rol")


def config(url: str, folder: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key-that-is-long-enough",
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": None,
        "OUTBOX_DIR": str(folder / "outbox"),
        "SQLALCHEMY_DATABASE_URI": url,
        "BASE_URL": "http://campagne.example.org",
        "CLOCK": lambda: NOW,
    }


def demo_answers(folder: Path) -> list[dict[str, Any]]:
    """Answers of completed made-up respondents (``flask demo``'s), as the survey stored
    them: the templates of the seeded responses."""
    from campaign.demo import load_demo

    app = create_app(config(f"sqlite:///{folder / 'demo.sqlite3'}", folder))
    with app.app_context():
        upgrade()
        load_demo(now=NOW, respondents=120)
        rows = db.session.scalars(
            select(Response.answers).where(Response.completed_at.is_not(None))
        )
        answers = [dict(row) for row in rows]
        db.session.remove()
        db.engine.dispose()
    return answers


def load_example() -> Campaign:
    spec = parse_campaign_text(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    return load_campaign(spec).campaign


def _options(campaign: Campaign) -> dict[str, list[str]]:
    questions = {
        question["id"]: question
        for page in q.pages(campaign.questionnaire)
        for question in page["questions"]
    }
    return {qid: [str(o["value"]) for o in questions[qid]["options"]] for qid in PROFILE}


def seed(campaign: Campaign, completed: int, templates: list[dict[str, Any]]) -> None:
    """Key figures, links, invitations and responses, as Core bulk inserts."""
    rng = random.Random(completed)
    sectors = [(s.id, s.code) for s in campaign.sectors]
    options = _options(campaign)
    day = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    key_figures = [
        {
            "campaign_id": campaign.id,
            "name": f"Sleutelfiguur {i}",
            "email": f"sleutelfiguur{i}@organisatie{i % 300}.example.org",
            "organisation": f"Organisatie {i % 300}",
            "sector_id": rng.choice(sectors)[0] if i % 50 else None,
            "network": f"Netwerk {i % 400}",
            "reach": rng.randint(5, 300),
            "created_at": day,
            "updated_at": day,
        }
        for i in range(KEY_FIGURES)
    ]
    db.session.execute(insert(KeyFigure), key_figures)
    ids = list(db.session.scalars(select(KeyFigure.id).where(KeyFigure.campaign_id == campaign.id)))
    roots = [_link(campaign.id, kid, None, rng.randint(0, 30), day) for kid in ids]
    messages = [_invitation(campaign.id, kid, i, day) for i, kid in enumerate(ids)]
    responses, forwards = [], []
    period = (NOW - campaign.opens_at).total_seconds()
    for number in range(completed + completed // 10):
        root = rng.choice(roots)
        link = rng.choice(forwards) if forwards and rng.random() < 0.2 else root
        started = campaign.opens_at + timedelta(seconds=rng.uniform(0, period * 0.98))
        done = number < completed
        answers = dict(rng.choice(templates))
        sector_id, code = rng.choice(sectors)
        answers["sector"] = code
        answers.update({qid: rng.choice(values) for qid, values in options.items()})
        responses.append(
            {
                "id": new_response_id(),
                "campaign_id": campaign.id,
                "link_id": link["id"],
                "sector_id": sector_id,
                "started_at": started,
                "updated_at": started + timedelta(minutes=20),
                "completed_at": started + timedelta(minutes=rng.uniform(8, 45)) if done else None,
                "last_page": 6 if done else rng.randint(0, 5),
                "answers": answers,
                "questionnaire_version": campaign.questionnaire_version,
            }
        )
        if done:  # every completion gets a link to forward, whether it is used or not
            forwards.append(_link(campaign.id, link["key_figure_id"], link["id"], 0, day))
    for rows, model in (
        (roots, Link),
        (forwards, Link),
        (messages, Message),
        (responses, Response),
    ):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    db.session.commit()


def _link(
    campaign_id: int, key_figure_id: int, parent_id: int | None, opens: int, day: datetime
) -> dict[str, Any]:
    return {
        "id": new_random_id(),
        "code": new_link_code(),
        "campaign_id": campaign_id,
        "key_figure_id": key_figure_id,
        "parent_id": parent_id,
        "open_count": opens,
        "created_at": day,
    }


def _invitation(campaign_id: int, key_figure_id: int, number: int, day: datetime) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "kind": "invitation",
        "round": 1,
        "recipient_email": f"sleutelfiguur{number}@organisatie{number % 300}.example.org",
        "key_figure_id": key_figure_id,
        "message_id": f"<bench-{number}@example.org>",
        "subject": "Help je mee?",
        "body_text": "",
        "body_html": "",
        "headers": {},
        "status": "sent",
        "attempts": 1,
        "created_at": day,
        "sent_at": day,
    }


def median_seconds(work: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``work`` after a warm-up; the median of this process's CPU
    time for it goes to ``CPU_SECONDS`` (on a shared machine the wall time includes
    waiting for a core; the CPU time does not, nor the database server's work)."""
    work()  # warm-up: caches, first compilation of statements
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_SECONDS.append(statistics.median(cpu))
    return statistics.median(times)


#: The CPU times of the measures, in the order ``median_seconds`` took them.
CPU_SECONDS: list[float] = []


def measure(app: Flask, slug: str, repeat: int) -> dict[str, float | None]:
    client = app.test_client()
    reply = client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code

    def get(path: str) -> None:
        reply = client.get(path)
        assert reply.status_code == 200, (path, reply.status_code)
        reply.get_data()
        db.session.remove()

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    assert campaign is not None
    figures: dict[str, float | None] = {
        "dashboard page": median_seconds(lambda: get(f"/dashboard/{slug}/"), repeat),
        "stats JSON": median_seconds(lambda: campaign_stats(campaign), repeat),
        "results page": None,
        "CSV export": None,
    }
    if "results.page" in app.view_functions:
        figures["results page"] = median_seconds(
            lambda: get(f"/dashboard/{slug}/resultaten/"), repeat
        )
    try:
        from campaign.results.export import write_csv
    except ImportError:
        pass
    else:
        figures["CSV export"] = median_seconds(lambda: write_csv(campaign, io.BytesIO()), repeat)
    return figures


def run_one(
    url: str,
    folder: Path,
    completed: int,
    templates: list[dict[str, Any]],
    repeat: int,
) -> dict[str, float | None]:
    app = create_app(config(url, folder))
    with app.app_context():
        upgrade()
        campaign = load_example()
        started = time.perf_counter()
        seed(campaign, completed, templates)
        seconds = time.perf_counter() - started
        # The seed's Core inserts did not complete through the survey: the results' counts,
        # the dashboard's kept counts (credit_counts) and the CSV rows are made here by the
        # same code as `flask results recount`, as the results' (and the dashboard's)
        # catch-up and the first export would make them.  The unfinished responses stay
        # outside the kept counts, as they would: every count adds them from `responses`.
        started = time.perf_counter()
        tally.rebuild(campaign)
        db.session.commit()
        export_lines.refresh(campaign)
        kept = time.perf_counter() - started
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        create_coordinator("bench@example.org", PASSWORD, "Bench")
        slug = campaign.slug
        db.session.remove()
        print(
            f"  seeded {completed:,} completed answers in {seconds:.1f} s "
            f"(kept counts and CSV rows made in {kept:.1f} s)",
            flush=True,
        )
        del CPU_SECONDS[:]
        figures = measure(app, slug, repeat)
        cpu = dict(
            zip(
                [name for name, value in figures.items() if value is not None],
                CPU_SECONDS,
                strict=True,
            )
        )
        print(
            f"  load average {os.getloadavg()[0]:.1f}; CPU of this process: "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in cpu.items()),
            flush=True,
        )
        db.session.remove()
        db.engine.dispose()
    return figures


def postgresql_database(base: str, name: str, drop: bool = False) -> str | None:
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL run
        print(f"PostgreSQL at {base} not usable ({type(exc).__name__}); skipped")
        return None
    finally:
        admin.dispose()
    return f"{base}/{name}"


def report(backend: str, sizes: list[int], results: dict[int, dict[str, float | None]]) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"\n{backend}: median seconds ({small:,} vs {large:,} completed answers)")
    print(f"  {'measure':<16}" + "".join(f"{size:>12,}" for size in sizes) + f"{'ratio':>9}")
    for measure_name in results[small]:
        values = [results[size][measure_name] for size in sizes]
        if any(value is None for value in values):
            print(f"  {measure_name:<16}  not in this app yet (not timed)")
            continue
        ratio = values[-1] / values[0]  # type: ignore[operator]
        cells = "".join(f"{value * 1000:>10.1f}ms" for value in values)  # type: ignore[operator]
        print(f"  {measure_name:<16}{cells}{ratio:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        templates = demo_answers(folder)
        print(f"{len(templates)} demo answers as templates; {KEY_FIGURES:,} key figures")
        backends = ([] if args.no_sqlite else ["sqlite"]) + ([] if args.no_pg else ["postgresql"])
        for backend in backends:
            results = {}
            for size in args.sizes:
                print(f"{backend}, {size:,} completed answers", flush=True)
                name = f"bench_dashboard_{size}_{os.getpid()}"
                if backend == "sqlite":
                    url: str | None = f"sqlite:///{folder / (name + '.sqlite3')}"
                else:
                    url = postgresql_database(args.pg, name)
                if url is None:
                    break
                try:
                    results[size] = run_one(url, folder, size, templates, args.repeat)
                finally:
                    if backend == "postgresql":
                        postgresql_database(args.pg, name, drop=True)
            if len(results) == len(args.sizes):
                report(backend, args.sizes, results)


if __name__ == "__main__":
    main()
