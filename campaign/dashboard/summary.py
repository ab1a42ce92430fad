"""What the dashboard computes over completed responses alone, kept while it holds.

Answers per day, the median completion time and the coverage matrix's counts
need every completed response (the last one parses the answers' JSON of each).
A completed response never changes, so these figures hold until a response is
completed or deleted: ``attribution.completed_fingerprint`` (the count and
the latest completion, read from an index) says when, and is read on every
call.  So the cache cannot be forgotten: a new completion is a new key.  It
lives on the app (one per process, and a fresh one per test app).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app

from campaign import attribution
from campaign.models import Campaign

#: The key of ``current_app.extensions`` holding {campaign id: (key, summary)}.
EXTENSION = "dashboard_completed_summary"


@dataclass(frozen=True)
class CompletedSummary:
    days: dict[date, int]
    median_seconds: float | None
    #: ``attribution.completed_by_profile`` for ``question_ids``.
    profile: dict[tuple[Any, ...], int]
    question_ids: tuple[str, ...]


def completed_summary(
    campaign: Campaign,
    question_ids: tuple[str, ...],
    fingerprint: tuple[int, Any] | None = None,
) -> CompletedSummary:
    """The figures over ``campaign``'s completed responses, computed again only when the
    completed responses (or the questions asked for, or the campaign's timezone) changed
    (``fingerprint``: ``attribution.completed_fingerprint`` when the caller read it)."""
    if fingerprint is None:
        fingerprint = attribution.completed_fingerprint(campaign)
    key = (fingerprint, question_ids, campaign.timezone)
    cache: dict[int, tuple[Any, CompletedSummary]] = current_app.extensions.setdefault(
        EXTENSION, {}
    )
    found = cache.get(campaign.id)
    if found is not None and found[0] == key:
        return found[1]
    summary = CompletedSummary(
        days=attribution.completions_by_day(campaign),
        median_seconds=attribution.median_completion_seconds(campaign),
        profile=attribution.completed_by_profile(campaign, question_ids),
        question_ids=question_ids,
    )
    cache[campaign.id] = (key, summary)
    return summary
