"""The results report (one printable document) and the summary per sector."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campaign import attribution, clock
from campaign.formatting import format_number
from campaign.models import Campaign
from campaign.results import queries
from campaign.results.services import (
    MIN_GROUP,
    SUPPRESSED,
    Results,
    campaign_results,
    question_by_id,
)
from campaign.survey.questionnaire import options_for

#: Text answers printed per question in the report (all of them are in the data files).
REPORT_TEXTS = 100


@dataclass
class Report:
    campaign: Campaign
    made_at: datetime
    sectors: list[attribution.SectorProgress]
    #: Completed responses without a known sector.
    without_sector: int
    results: Results

    @property
    def organisers(self) -> str:
        """``A, B en C``."""
        names = list(self.campaign.organisers)
        return " en ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)

    @property
    def completed(self) -> int:
        return sum(s.completed for s in self.sectors) + self.without_sector

    @property
    def target(self) -> int:
        return sum(s.target for s in self.sectors)


def report(campaign: Campaign) -> Report:
    """Everything the report shows: dates, response per sector against target, and every
    question's results over all completed responses."""
    counts = attribution.counts_by_sector(campaign)
    return Report(
        campaign=campaign,
        made_at=campaign.local(clock.now()),
        sectors=attribution.sector_progress(campaign),
        without_sector=counts.get(None, attribution.Counts()).completed,
        results=campaign_results(campaign, {}, text_limit=REPORT_TEXTS),
    )


SUMMARY_HEADER = ["sector", "naam", "doel", "afgerond", "% van het doel"]


def _positive_figures(campaign: Campaign) -> list[dict[str, Any]]:
    """The decision figures with declared positive answers, for questions with one answer
    per respondent or a list (grids have one share per row and stay on the decision page)."""
    decision = campaign.results_settings.get("decision") or {}
    figures = []
    for item in [*decision.get("demand", []), *decision.get("offer", [])]:
        question = question_by_id(campaign, item["question"])
        if question and item.get("positive") and question["type"] != "grid":
            figures.append({**item, "type": question["type"], "question_spec": question})
    return figures


def sector_summary(campaign: Campaign) -> tuple[list[str], Iterator[list[str]]]:
    """The summary per sector: header and rows (one per sector, then ``totaal``) with the
    completed responses against the target and, per decision figure with positive answers,
    the share of positive answers; a sector with fewer than ``MIN_GROUP`` respondents (or
    answers to that question) gets the suppression note instead of a share."""
    figures = _positive_figures(campaign)
    header = list(SUMMARY_HEADER)
    for figure in figures:
        options = options_for(figure["question_spec"], campaign.questionnaire, campaign.sectors)
        labels = {o["value"]: o["label"] for o in options}
        chosen = " of ".join(labels.get(v, v) for v in figure["positive"])
        header.append(f"{figure['question']}: % {chosen}")
    return header, _summary_rows(campaign, figures)


def _summary_rows(campaign: Campaign, figures: list[dict[str, Any]]) -> Iterator[list[str]]:
    progress = attribution.sector_progress(campaign)
    groups: list[tuple[str, str, int, int, dict[str, str]]] = [
        (s.code, s.name, s.target, s.completed, {"sector": s.code}) for s in progress
    ]
    total = attribution.response_totals(campaign).completed
    groups.append(("totaal", "Alle sectoren", sum(s.target for s in progress), total, {}))
    for code, name, target, completed, selection in groups:
        share = format_number(round(100 * completed / target, 1)) if target else ""
        row = [code, name, str(target), str(completed), share]
        conditions = queries.base_conditions(campaign, selection)
        for figure in figures:
            row.append(_share_cell(figure, conditions))
        yield row


def _share_cell(figure: dict[str, Any], conditions: list[Any]) -> str:
    """The share, or the suppression note when fewer than ``MIN_GROUP`` answered (which
    covers a sector with fewer respondents)."""
    hits, answered = queries.positive_share(
        figure["question"], figure["type"], [str(v) for v in figure["positive"]], conditions
    )
    if answered < MIN_GROUP:
        return SUPPRESSED
    return format_number(round(100 * hits / answered, 1))
