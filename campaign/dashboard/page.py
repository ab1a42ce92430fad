"""What the campaign dashboard page and its JSON endpoint get: one call each.

Both first let the results' catch-up (``tally.catch_up``) add the responses completed
since it last ran to the kept counts: the counts are exact without it (they add what
is not kept yet), but it keeps that remainder small.  So a database that refuses the
catch-up's write (read-only, full) still shows the page, from the same exact counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import InternalError, OperationalError

from campaign import clock
from campaign.channels.services import ChannelRow, channel_rows
from campaign.dashboard import charts, tables
from campaign.dashboard.coverage import Coverage, coverage
from campaign.dashboard.figures import Dashboard, dashboard
from campaign.dashboard.queries import Closing, closing, one_decimal
from campaign.extensions import db
from campaign.models import Campaign
from campaign.results import tally

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DashboardPage:
    figures: Dashboard
    charts: dict[str, dict[str, Any]]
    table: tables.KeyFigureTable
    networks: list[tables.NetworkRow]
    coverage: Coverage
    closing: Closing
    channels: list[ChannelRow]


def dashboard_page(
    campaign: Campaign,
    chosen: tables.TableFilter,
    now: datetime | None = None,
    partner: str | None = None,
) -> DashboardPage:
    """Everything the campaign's dashboard shows, for the key-figure table as ``chosen``;
    with ``partner`` (an account limited to it) only that partner's key figures, networks
    and channels beside the campaign-wide totals."""
    now = now or clock.now()
    catch_up(campaign)
    figures = dashboard(campaign, now)
    return DashboardPage(
        figures=figures,
        charts=charts.charts(figures),
        table=tables.key_figure_table(campaign, chosen, partner),
        networks=tables.network_table(campaign, partner),
        coverage=coverage(campaign, figures.completed),
        closing=closing(campaign, now, figures.totals),
        channels=channel_rows(campaign, partner),
    )


def live_figures(campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """The figures the page refreshes every 30 s without a reload: the funnel, the
    sectors, the totals and the charts (the tables follow when these changed)."""
    catch_up(campaign)
    figures = dashboard(campaign, now)
    median = figures.median_completion
    return {
        "funnel": figures.funnel,
        "key_figures": figures.key_figures,
        "median_minutes": round(median.total_seconds() / 60) if median else None,
        "projected": one_decimal(figures.projection.projected),
        "sectors": [
            {
                "code": s.code,
                "completed": s.completed,
                "started": s.started,
                "target": s.target,
                "key_figures": s.key_figures,
                "projected": one_decimal(s.projected),
                "on_track": s.on_track,
            }
            for s in figures.sectors
        ],
        "stopped": [stop.stopped for stop in figures.stops],
        "charts": charts.charts(figures),
    }


def catch_up(campaign: Campaign) -> None:
    """``tally.catch_up``, or nothing when the database refuses its write: the counts add
    what is not kept yet, so they stay exact; the next view catches up."""
    try:
        tally.catch_up(campaign)
    except (OperationalError, InternalError) as error:
        db.session.rollback()
        log.warning("the dashboard's counts were not caught up: %s", type(error.orig).__name__)
