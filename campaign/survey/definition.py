"""A campaign's questionnaire and sectors as the survey uses them, parsed once per process.

Every survey request needs the questionnaire (tens of kB of JSON) and the
sector list to validate a page.  Decoding them on every request was most of
the cost of a page submission, so each worker process keeps the parsed
``Definition`` in a small cache.

The cache needs no invalidation: its key changes whenever the content
does.  The questionnaire part is keyed by ``questionnaire_hash`` (the
SHA-256 of the questionnaire that ``flask campaign load`` stores beside it),
and the sector part by ``sectors_stamp``, which is replaced in the same
transaction as any change to one of the campaign's sectors (a flush event
on ``Sector``).  The survey reads both with the campaign on every request,
so every worker uses a reloaded questionnaire or sector list on its next
request.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select

from campaign.extensions import db
from campaign.models import Campaign, Sector
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


#: (campaign id, questionnaire hash, sectors version) -> Definition, most recently used last.
_cache: OrderedDict[tuple[int, str, int], Definition] = OrderedDict()
#: gunicorn's sync workers are single-threaded, but `flask run` and tests use threads.
_lock = threading.Lock()


def definition_for(campaign_id: int, questionnaire_hash: str, sectors_stamp: int) -> Definition:
    """The definition of a campaign whose stored hash and sectors version were just read.

    Reads the questionnaire and the sectors only when this process has no
    definition under this key yet.  A campaign without a hash (not loaded
    through ``load_campaign``) is never cached, since nothing would tell a
    change apart.
    """
    key = (campaign_id, questionnaire_hash, sectors_stamp)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    read_key, definition = _load_definition(campaign_id)
    if questionnaire_hash and read_key == key:
        # Only under the key read with the content (a reload may have come in between).
        with _lock:
            _cache[key] = definition
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return definition


#: The questionnaire, its key and the sectors in one statement, so that they agree.
_DEFINITION = (
    select(
        Campaign.questionnaire_hash,
        Campaign.sectors_stamp,
        Campaign.questionnaire,
        Sector.id,
        Sector.code,
        Sector.name,
        cast(Sector.examples, Text),
    )
    .outerjoin(Sector, Sector.campaign_id == Campaign.id)
    .order_by(Sector.position)
)


def _load_definition(campaign_id: int) -> tuple[tuple[int, str, int], Definition]:
    rows = db.session.execute(_DEFINITION.where(Campaign.id == campaign_id)).all()
    questionnaire_hash, sectors_stamp, questionnaire = rows[0][:3]
    sectors = tuple(
        SectorOption(id_, code, name, tuple(json.loads(examples) if examples else ()))
        for *_campaign, id_, code, name, examples in rows
        if id_ is not None
    )
    key = (campaign_id, questionnaire_hash, sectors_stamp)
    return key, Definition(questionnaire or {}, sectors)


def clear_cache() -> None:
    """Forget every cached definition (tests use it to start from a cold process)."""
    with _lock:
        _cache.clear()
