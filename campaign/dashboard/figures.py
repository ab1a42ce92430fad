"""Everything the campaign dashboard shows above its tables, in one call.

The counts come from ``campaign.attribution`` (grouped in SQL); this module puts
them in the shape of the page: the funnel, the days with the projection to the
close, the drop-off per page and the median completion time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from campaign import attribution, clock
from campaign.contacts.queries import key_figures_by_sector
from campaign.dashboard.coverage import profile_question_ids
from campaign.dashboard.queries import (
    SectorFigures,
    Unassigned,
    funnel,
    sector_figures,
    unassigned,
)
from campaign.dashboard.summary import CompletedSummary, completed_summary
from campaign.models import Campaign
from campaign.survey import questionnaire as q
from campaign.survey.definition import definition_of


@dataclass(frozen=True)
class Day:
    day: date
    completed: int
    #: Completed up to and including this day.
    cumulative: int


@dataclass(frozen=True)
class PageStop:
    """Responses not completed that stopped on this page of the questionnaire."""

    number: int
    title: str
    stopped: int


@dataclass(frozen=True)
class Projection:
    """The campaign's completions extrapolated to the close at the pace so far."""

    #: The close day in the campaign's calendar.
    close_day: date
    #: The last day the projection starts from (today, or the close once past).
    from_day: date
    completed: int
    projected: float
    target: int

    @property
    def on_track(self) -> bool:
        return self.projected >= self.target


@dataclass(frozen=True)
class Dashboard:
    sectors: list[SectorFigures]
    #: Key figures and responses without a sector (None when there are none).
    unassigned: Unassigned | None
    key_figures: int
    funnel: dict[str, int]
    days: list[Day]
    projection: Projection
    stops: list[PageStop]
    median_completion: timedelta | None
    #: What the figures were read from, for the rest of the page (read once per request).
    totals: attribution.Counts = field(default_factory=attribution.Counts)
    completed: CompletedSummary | None = None

    @property
    def target(self) -> int:
        return sum(sector.target for sector in self.sectors)


def dashboard(campaign: Campaign, now: datetime | None = None) -> Dashboard:
    """The dashboard's figures of ``campaign`` at ``now``."""
    now = now or clock.now()
    # The per-sector counts and key figures read once, for every figure made of them.
    by_sector = attribution.activity_by_sector(campaign)
    counts = {key: attribution.Counts(c.started, c.completed) for key, c in by_sector.items()}
    key_figures = key_figures_by_sector(campaign)
    sectors = sector_figures(campaign, now, counts, key_figures)
    rest = unassigned(campaign, counts, key_figures)
    totals = attribution.totals_of(counts)
    steps = funnel(campaign, totals)
    completed = completed_summary(
        campaign, profile_question_ids(campaign), attribution.fingerprint_of(by_sector)
    )
    median = completed.median_seconds
    return Dashboard(
        sectors=sectors,
        unassigned=rest,
        key_figures=sum(s.key_figures for s in sectors) + (rest.key_figures if rest else 0),
        funnel=steps,
        days=days(completed.days),
        projection=projection(campaign, steps["completed"], now),
        stops=page_stops(campaign),
        median_completion=timedelta(seconds=round(median)) if median is not None else None,
        totals=totals,
        completed=completed,
    )


def days(per_day: dict[date, int]) -> list[Day]:
    """Completed responses per local day (``attribution.completions_by_day``), with the
    running total."""
    total = 0
    result = []
    for day, count in per_day.items():
        total += count
        result.append(Day(day, count, total))
    return result


def projection(campaign: Campaign, completed: int, now: datetime) -> Projection:
    close_day = campaign.local(campaign.effective_close).date()
    today = campaign.local(min(now, campaign.effective_close)).date()
    return Projection(
        close_day=close_day,
        from_day=today,
        completed=completed,
        projected=attribution.projected(completed, campaign, now),
        target=sum(sector.target for sector in campaign.sectors),
    )


def page_stops(campaign: Campaign) -> list[PageStop]:
    """Every page of the questionnaire, in order, with the responses that stopped there."""
    stopped = attribution.stopped_by_page(campaign)
    pages = q.pages(definition_of(campaign).questionnaire)
    return [
        PageStop(index + 1, page.get("title") or f"Pagina {index + 1}", stopped.get(index, 0))
        for index, page in enumerate(pages)
    ]
