"""Benchmark: import a 10,000-row key-figure CSV, against a bare sqlite3 executemany.

The file is what Excel on a Flemish PC writes: semicolon-separated,
Windows-1252, Dutch headers, names with accents.  It is imported into a
fresh, migrated SQLite database through ``import_key_figures``, the function
the command line and the upload page use (decoding, header mapping, every
row checked, e-mails normalised, bulk insert of key figures and their links,
one transaction).  Beside it, in the same run, the floor of what storing the
same rows costs: a plain ``sqlite3`` executemany of the 10,000 already-split
rows into a bare table with the same columns.

    ratio = import time / baseline time   (lower is better)

Goal: the import itself under 2 s on a 2-core machine.

Run: .venv/bin/python bench/bench_import.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.contacts.services import import_key_figures  # noqa: E402
from campaign.definitions.loader import read_campaign_file  # noqa: E402
from campaign.definitions.services import load_campaign  # noqa: E402
from campaign.extensions import db  # noqa: E402
from campaign.models import KeyFigure, Link  # noqa: E402

EXAMPLE = ROOT / "examples" / "eerste-hulp-digitale-vragen.yaml"
GOAL_SECONDS = 2.0
FIRST = ["Joëlle", "Frédéric", "Anaïs", "Zoë", "Jef", "Mieke", "Noël", "Hélène", "Rik", "Inès"]
LAST = ["Vanhoutte", "Demeulemeester", "Çelik", "Dewaële", "Lefèvre", "Vandamme", "Peeters"]
SECTORS = ["onderwijs", "arbeidsmarkt", "lokaal_bestuur", "welzijn", "integratie", "andere"]
DOMAINS = [f"organisatie{i}.example.org" for i in range(60)]


def make_rows(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            [
                f"{first} {last}",
                f"sleutelfiguur{i}@{rng.choice(DOMAINS)}",
                f"Vereniging {last} {i % 300}",
                rng.choice(SECTORS),
                f"Netwerk {rng.choice(LAST)} West-Vlaanderen",
                str(rng.randint(5, 400)),
            ]
        )
    return rows


def make_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Naam", "E-mail", "Organisatie", "Sector", "Netwerk", "Bereik"])
    writer.writerows(rows)
    return buffer.getvalue().encode("cp1252")


def time_import(data: bytes, folder: Path) -> tuple[float, int, int]:
    """Seconds to import into a fresh migrated database; and the key figures and links made."""
    path = folder / "campaign.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret-key-long-enough-for-the-check",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        }
    )
    with app.app_context():
        upgrade()
        campaign = load_campaign(read_campaign_file(EXAMPLE)).campaign
        db.session.commit()
        start = time.perf_counter()
        report = import_key_figures(campaign, data)
        elapsed = time.perf_counter() - start
        assert report.written and not report.problems, report.summary()
        key_figures = db.session.scalar(select(func.count()).select_from(KeyFigure))
        links = db.session.scalar(select(func.count()).select_from(Link))
        db.session.remove()
        db.engine.dispose()
    return elapsed, key_figures or 0, links or 0


def time_baseline(rows: list[list[str]], folder: Path) -> float:
    """A bare sqlite3 executemany of the same rows, same pragmas, one transaction."""
    connection = sqlite3.connect(folder / "baseline.sqlite3", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE key_figures (id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE,"
        " organisation TEXT, sector TEXT, network TEXT, reach INTEGER)"
    )
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO key_figures (name, email, organisation, sector, network, reach)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    data = make_csv(rows)
    ours, floor = [], []
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            elapsed, key_figures, links = time_import(data, Path(folder))
            assert key_figures == args.rows and links == args.rows, (key_figures, links)
            ours.append(elapsed)
            floor.append(time_baseline(rows, Path(folder)))
        print(f"run {run + 1}: import {ours[-1]:.3f} s, baseline {floor[-1]:.3f} s")
    ours_median, floor_median = statistics.median(ours), statistics.median(floor)
    print(
        f"{args.rows} rows ({len(data) / 1024:.0f} KiB, Windows-1252, ';'): "
        f"import {ours_median:.3f} s (median of {args.repeat}), "
        f"baseline sqlite3 executemany {floor_median:.3f} s, "
        f"ratio {ours_median / floor_median:.1f}x; "
        f"goal < {GOAL_SECONDS:.1f} s: {'met' if ours_median < GOAL_SECONDS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
