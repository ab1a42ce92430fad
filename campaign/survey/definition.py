"""A campaign's questionnaire and sectors as the survey uses them, parsed once per process.

Every survey request needs the questionnaire (tens of kB of JSON) and the
sector list to validate a page.  Decoding them on every request was most of
the cost of a page submission, so each worker process keeps the parsed
``Definition`` in a small cache.

The cache needs no invalidation: its key *is* the content.  The
questionnaire part is keyed by ``questionnaire_hash`` (the SHA-256 of the
questionnaire that ``flask campaign load`` stores beside it, read in the
same statement as the questionnaire), and the sector part by the sector rows
themselves, which the survey reads on every request (a reload may change
sectors without changing the questionnaire).  A reload therefore changes the
key, and every worker uses the new questionnaire on its next request.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Campaign
from campaign.survey import questionnaire as q

#: Definitions kept per process; a handful of campaigns (and their versions) at most.
CACHE_SIZE = 16


@dataclass(frozen=True)
class SectorOption:
    """One sector as the sector question offers it (same attribute names as ``Sector``)."""

    id: int
    code: str
    name: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Definition:
    """The questionnaire and sectors of one campaign, with what is derived from them.

    Treat it as read-only: one instance is shared by every request of the process.
    """

    questionnaire: dict[str, Any]
    sectors: tuple[SectorOption, ...]
    #: Sector code -> sector id, to credit a response to the sector its respondent chose.
    sector_ids: dict[str, int] = field(init=False)
    #: Ids of the questions of type ``sector``, in questionnaire order.
    sector_questions: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        # Derived once here instead of on every request.
        object.__setattr__(self, "sector_ids", {s.code: s.id for s in self.sectors})
        sector_questions = tuple(
            question["id"]
            for page in q.pages(self.questionnaire)
            for question in page["questions"]
            if question["type"] == "sector"
        )
        object.__setattr__(self, "sector_questions", sector_questions)


#: (campaign id, questionnaire hash, raw sector rows) -> Definition, most recently used last.
_cache: OrderedDict[tuple[Any, ...], Definition] = OrderedDict()
#: gunicorn's sync workers are single-threaded, but `flask run` and tests use threads.
_lock = threading.Lock()


#: A sector row as read on every request: id, code, name, examples as JSON text.
SectorRow = tuple[int, str, str, str | None]


def definition_for(
    campaign_id: int, questionnaire_hash: str, sector_rows: tuple[SectorRow, ...]
) -> Definition:
    """The definition of a campaign whose stored hash and sector rows were just read.

    Loads (and caches) the questionnaire only when this process has not seen
    this hash for this campaign yet.  A campaign without a hash (not loaded
    through ``load_campaign``) is never cached, since nothing would tell a
    change apart.
    """
    key = (campaign_id, questionnaire_hash, sector_rows)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    stored_hash, questionnaire = _load_questionnaire(campaign_id)
    definition = Definition(questionnaire or {}, _sector_options(sector_rows))
    if stored_hash and stored_hash == questionnaire_hash:
        # Only when the questionnaire read matches the key (no reload in between).
        with _lock:
            _cache[key] = definition
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return definition


def _sector_options(rows: tuple[SectorRow, ...]) -> tuple[SectorOption, ...]:
    return tuple(
        SectorOption(id_, code, name, tuple(json.loads(examples) if examples else ()))
        for id_, code, name, examples in rows
    )


def _load_questionnaire(campaign_id: int) -> tuple[str, dict[str, Any]]:
    row = db.session.execute(
        select(Campaign.questionnaire_hash, Campaign.questionnaire).where(
            Campaign.id == campaign_id
        )
    ).one()
    return row[0], row[1]


def clear_cache() -> None:
    """Forget every cached definition (tests use it to start from a cold process)."""
    with _lock:
        _cache.clear()
