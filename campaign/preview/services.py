"""Preview and test mode: coordinators walk the questionnaire before (and while) it runs.

The campaign's preview link (``attribution.preview_link``) opens the survey for a
logged-in coordinator whatever the dates; what is answered through it is a test
response (``Response.is_test``), which ``attribution.counted_responses`` leaves out
of every count, the results and the exports, and which gets no draw ticket and no
link to forward.  Test responses can be cleared here.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

from campaign import attribution
from campaign.database import begin_write
from campaign.extensions import db
from campaign.history import record_event
from campaign.models import Campaign, Response

log = logging.getLogger(__name__)


def preview_code(campaign: Campaign) -> str:
    """The code of the campaign's preview link, made (and committed) the first time."""
    link = attribution.preview_link(campaign)
    if link.id is None:
        begin_write()
        link = attribution.preview_link(campaign)  # again, under the write lock
        db.session.commit()
        log.info("preview link made for campaign %s", campaign.slug)
    return link.code


def test_response_counts(campaign: Campaign) -> tuple[int, int]:
    """Test responses of ``campaign``: (started, completed)."""
    started, completed = db.session.execute(
        select(func.count(), func.count(Response.completed_at)).where(
            Response.campaign_id == campaign.id, Response.is_test.is_(True)
        )
    ).one()
    return int(started), int(completed)


def clear_test_responses(campaign: Campaign) -> int:
    """Delete every test response of ``campaign`` (and nothing else); how many."""
    begin_write()
    result = db.session.execute(
        delete(Response).where(Response.campaign_id == campaign.id, Response.is_test.is_(True))
    )
    deleted = int(cast(CursorResult[Any], result).rowcount or 0)
    record_event(campaign, "test_responses_cleared", count=deleted)
    db.session.commit()
    log.info("%s test responses cleared in campaign %s", deleted, campaign.slug)
    return deleted
