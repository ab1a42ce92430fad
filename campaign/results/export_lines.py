"""Each completed response's CSV row, made once and kept (``export_lines``).

Profiling the CSV export of 10,000 responses (0.85 s at load 1) showed the work: decoding
every response's answers (0.26 s) and turning them into 118 cells (0.5 s), again at
every export.  A completed response never changes, so its row is made once, for both
delimiters, by the export's own code (``export.Table.cells``): ``refresh`` makes the
rows that are missing, at the start of every CSV export (not in the survey's completion:
that is the respondent's hot path); an export then reads the kept rows and only writes a
row number in front of each.

A row holds only what the columns, codes and the campaign's timezone make of the
answers: the ``fingerprint`` of those.  A load that changes any of them makes every
kept row stale; the export then makes those rows from the answers as before (never a
stale row), and ``refresh`` (after a load, and ``flask results recount``) makes them
again in short transactions of ``BATCH`` responses, so respondents are not kept waiting.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, insert, select

from campaign import attribution
from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, ExportLine, Response, Sector
from campaign.results import export

#: Bumped when the way a row is made changes: every kept row is then stale.
RULES = 1
BATCH = 500
#: Makers kept per process (one per campaign and questionnaire, a handful at most).
KEPT = 16

Cells = Callable[[Any, int, str | None, datetime, int], list[Any]]


@dataclass(frozen=True)
class Maker:
    """What turns a completed response into its two rows, for one fingerprint."""

    fingerprint: str
    cells: dict[str, Cells]

    def lines(
        self, answers: Any, version: int, sector: str | None, moment: datetime
    ) -> dict[str, str]:
        found = {}
        for delimiter, cells in self.cells.items():
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
            writer.writerow(cells(answers, version, sector, moment, 0))
            found[delimiter] = buffer.getvalue()
        return found


_makers: dict[str, Maker] = {}


def fingerprint(campaign: Campaign, text: str | None = None) -> str:
    """The columns, codes and timezone the rows are made for: the stored questionnaire
    (``text``, read when not given), its version, the sectors' codes and the timezone."""
    if text is None:
        query = select(cast(Campaign.questionnaire, Text)).where(Campaign.id == campaign.id)
        text = db.session.scalar(query)
    sectors = sorted([sector.code, sector.position] for sector in campaign.sectors)
    spec = [RULES, text or "", campaign.questionnaire_version, sectors, campaign.timezone]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()


def maker(campaign: Campaign, text: str | None = None) -> Maker:
    """The maker of ``campaign``'s rows as its questionnaire (stored as ``text``) stands
    now, kept per process and fingerprint: a changed questionnaire is a new key."""
    mark = fingerprint(campaign, text)
    found = _makers.get(mark)
    if found is None:
        layout = export.layout(campaign)
        cells = {
            delimiter: export.Table(layout, campaign, export.csv_style(delimiter)).cells()
            for delimiter in export.DELIMITERS
        }
        found = Maker(mark, cells)
        if len(_makers) >= KEPT:
            _makers.clear()
        _makers[mark] = found
    return found


def _row(
    response_id: str, updated_at: datetime, campaign_id: int, made: Maker, lines: dict[str, str]
) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "response_updated_at": updated_at,
        "campaign_id": campaign_id,
        "fingerprint": made.fingerprint,
        "semicolon": lines[";"],
        "comma": lines[","],
    }


def refresh(campaign: Campaign) -> int:
    """Make the rows of the completed responses that have none for the current fingerprint,
    ``BATCH`` responses per (short) write transaction; returns how many were made."""
    made = maker(campaign)
    campaign_id = campaign.id
    total = 0
    while True:
        current = select(ExportLine.response_id).where(
            ExportLine.response_id == Response.id,
            ExportLine.fingerprint == made.fingerprint,
            ExportLine.response_updated_at == Response.updated_at,
        )
        query = (
            select(
                Response.id,
                Response.answers,
                Response.questionnaire_version,
                Sector.code,
                Response.completed_at,
                Response.updated_at,
            )
            .outerjoin(Sector, Sector.id == Response.sector_id)
            .where(*attribution.counted_responses(campaign_id), Response.completed_at.is_not(None))
            .where(~current.exists())
            .limit(BATCH)
        )
        begin_write()
        batch = db.session.execute(query).all()
        if not batch:
            db.session.commit()
            return total
        ids = [row[0] for row in batch]
        db.session.execute(delete(ExportLine).where(ExportLine.response_id.in_(ids)))
        rows = [
            _row(rid, updated, campaign_id, made, made.lines(answers, version, sector, moment))
            for rid, answers, version, sector, moment, updated in batch
        ]
        db.session.execute(insert(ExportLine), rows)
        db.session.commit()
        total += len(rows)
