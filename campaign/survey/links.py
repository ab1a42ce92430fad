"""Finding tracked survey links ``/s/<code>`` (links are made in ``campaign.attribution``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import contains_eager, joinedload

from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign, Link, Response
from campaign.survey.definition import questionnaire_text_column

#: Longer input is no link code (codes are 14 characters).
MAX_CODE_LENGTH = 40


def clean_code(code: str) -> str | None:
    """The code as stored (codes are lower case), or None for input that cannot be one."""
    code = (code or "").strip().lower()
    return code if code and len(code) <= MAX_CODE_LENGTH else None


def find_link(code: str) -> Link | None:
    """The link with this code, or None (also for input that cannot be a code)."""
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    return db.session.scalar(select(Link).where(Link.code == cleaned))


class Visit(NamedTuple):
    """What a survey request starts from, read in one query."""

    link: Link
    campaign: Campaign
    #: The questionnaire's stored JSON text (the key of its parsed form).
    questionnaire_text: str
    #: The browser session's response in this campaign, if it remembers one.
    response: Response | None


def _visit_query(several: bool, *options: Any) -> Select[Any]:
    """The visit's statement; ``several``: the session remembers responses in several
    campaigns (an expanding IN, whose SQL is rendered again on each execution), else at
    most one (a plain comparison)."""
    remembered = (
        Response.id.in_(bindparam("responses", expanding=True))
        if several
        else Response.id == bindparam("response")
    )
    return (
        select(Link, Campaign, questionnaire_text_column(), Response)
        .join(Link.campaign)
        .outerjoin(Response, and_(Response.campaign_id == Campaign.id, remembered))
        .where(Link.code == bindparam("code"))
        .options(contains_eager(Link.campaign), *options)
    )


#: The statements of ``find_visit`` by what they load besides (welcome texts, the key
#: figure) and by (one response id, several), built once: every survey request runs one,
#: and building a statement (and its cache key) cost more than SQLite's work.
_VISITS = {
    (load, several): _visit_query(several, *options)
    for load, options in (
        ("", ()),
        ("texts", (contains_eager(Link.campaign).undefer_group("texts"),)),
        ("key_figure", (joinedload(Link.key_figure),)),
    )
    for several in (False, True)
}

#: Longer input is no response id (ids are 32 characters at most).
MAX_RESPONSE_ID_LENGTH = 32


def find_visit(
    code: str,
    response_ids: Iterable[Any] = (),
    *,
    texts: bool = False,
    key_figure: bool = False,
    write: bool = False,
) -> Visit | None:
    """The link with this code, its campaign, the questionnaire's stored JSON text and,
    among ``response_ids`` (what the browser session remembers), the response in this
    campaign: one query, which every survey request starts with.  None for an unknown code.

    ``texts`` loads the campaign's welcome texts too (deferred otherwise), ``key_figure``
    the link's key figure (whose sector a new response starts with).  ``write``: the
    request goes on to write, so its one transaction starts as a write transaction
    (``begin_write``) and the read and the write share it, instead of a read
    transaction committed and a second one begun for the write.
    """
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    ids = [
        rid
        for rid in response_ids
        if isinstance(rid, str) and rid and len(rid) <= MAX_RESPONSE_ID_LENGTH
    ]
    load = "texts" if texts else "key_figure" if key_figure else ""
    several = len(ids) > 1
    # No id: ``= NULL``, which no response matches.
    params = {"responses": ids} if several else {"response": ids[0] if ids else None}
    if write:
        begin_write()
    row = db.session.execute(_VISITS[load, several], {"code": cleaned, **params}).first()
    return Visit(row[0], row[1], row[2], row[3]) if row else None
