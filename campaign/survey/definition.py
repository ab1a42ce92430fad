"""A campaign's questionnaire and sectors as the survey uses them.

The questionnaire is tens of kB of JSON that every question page needs.  Its
parsed form is cached per process, keyed by the stored JSON text itself: a
changed questionnaire is a different key, however it was changed (the campaign
file, the dashboard, a data migration, a Core UPDATE), so there is no
invalidation to forget.  The sectors are read through the session when a request
needs them (a page with a sector question), never cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Text, bindparam, cast, select

from campaign.extensions import db
from campaign.models import Campaign, Sector
from campaign.survey import questionnaire as q

#: Parsed questionnaires kept per process: a handful of campaigns and versions at most.
CACHE_SIZE = 16


@dataclass(frozen=True)
class Parsed:
    """A parsed questionnaire with what is derived from it alone.  Shared by every
    request of the process: treat it as read-only."""

    questionnaire: dict[str, Any]
    #: Ids of the questions of type ``sector``, in questionnaire order.
    sector_questions: tuple[str, ...]
    #: Indexes of the pages that hold a sector question.
    sector_pages: frozenset[int]
    #: What is drawn from this questionnaire alone (``display.blank_page``), by page and
    #: sectors: it goes with this parsed form, so a changed questionnaire never sees it.
    drawn: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@lru_cache(maxsize=CACHE_SIZE)
def parse_questionnaire(text: str) -> Parsed:
    """The questionnaire stored as ``text`` (JSON), parsed once per process and content."""
    questionnaire = json.loads(text) if text else {}
    found = [
        (index, question["id"])
        for index, page in enumerate(q.pages(questionnaire))
        for question in page["questions"]
        if question["type"] == "sector"
    ]
    return Parsed(
        questionnaire or {},
        tuple(question_id for _index, question_id in found),
        frozenset(index for index, _question_id in found),
    )


#: A campaign's sectors in their order, built once: a plain SELECT through the session costs
#: half of what the ``Campaign.sectors`` relationship's lazy load does on every request.
_SECTORS = (
    select(Sector).where(Sector.campaign_id == bindparam("campaign_id")).order_by(Sector.position)
)


@dataclass(frozen=True)
class Definition:
    """The questionnaire and the sectors of one campaign, for one request.  The sectors
    are read when first asked for: most pages have no sector question."""

    parsed: Parsed
    campaign: Campaign

    @cached_property
    def sectors(self) -> list[Sector]:
        return list(db.session.scalars(_SECTORS, {"campaign_id": self.campaign.id}))

    def sectors_for_page(self, index: int) -> list[Sector]:
        """The sectors when page ``index`` asks for one, else none (and no query)."""
        return self.sectors if index in self.parsed.sector_pages else []

    @property
    def questionnaire(self) -> dict[str, Any]:
        return self.parsed.questionnaire

    @property
    def sector_questions(self) -> tuple[str, ...]:
        return self.parsed.sector_questions

    @cached_property
    def sector_ids(self) -> dict[str, int]:
        """Sector code -> sector id, to credit a response to the sector its respondent chose."""
        return {sector.code: sector.id for sector in self.sectors}


def questionnaire_text_column() -> Any:
    """The questionnaire as its stored JSON text, to select beside a campaign."""
    return cast(Campaign.questionnaire, Text)


def definition_of(campaign: Campaign, questionnaire_text: str | None = None) -> Definition:
    """The definition of ``campaign``; pass ``questionnaire_text`` when it was selected
    with the campaign (``questionnaire_text_column``), else it is read now."""
    if questionnaire_text is None:
        questionnaire_text = db.session.scalar(
            select(questionnaire_text_column()).where(Campaign.id == campaign.id)
        )
    return Definition(parse_questionnaire(questionnaire_text or ""), campaign)
