"""Who gets credit for a response: its sector, the key figure at the root of its link.

The one owner of these rules.  The survey asks it which sector a response
counts for; the dashboard, the key-figure page, ``flask campaign stats`` and
the reminder ask it for counts (per sector, per key figure, per channel, opens) and for the
projection of a sector's completions to the close.  Links are made here too (a
key figure's own link, a channel's, a forwarded one, and the own links of many
key figures at once), so that every link credits the key figure or the channel
(a website, a newsletter, a poster) at the root of its chain.

Nobody else counts responses: a second copy of these queries is how the
dashboard and the key-figure page would start to disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, case, func, insert, select

from campaign import clock
from campaign.extensions import db
from campaign.models import (
    Campaign,
    Channel,
    KeyFigure,
    Link,
    Response,
    new_link_code,
    new_random_id,
    today_utc,
)

# --- the sector a response counts for -------------------------------------------------------


def response_sector_id(
    sector_ids: Mapping[str, int],
    sector_questions: Iterable[str],
    answers: Mapping[str, Any],
    link: Link | None,
) -> int | None:
    """The sector of a response: the respondent's own answer to a sector question
    (``sector_ids`` maps a sector code to its id), else the sector of the key figure
    credited by ``link``; None when neither is known.

    People know where they work, and a key figure's network can cross sectors: the
    answer wins over the key figure's sector.
    """
    for question_id in sector_questions:
        code = answers.get(question_id)
        if isinstance(code, str) and code in sector_ids:
            return sector_ids[code]
    key_figure = link.key_figure if link is not None else None
    return key_figure.sector_id if key_figure is not None else None


# --- links ---------------------------------------------------------------------------------


def root_link(key_figure: KeyFigure) -> Link:
    """The key figure's own link, made (added to the session, not committed) when missing."""
    link = db.session.scalar(
        select(Link).where(Link.key_figure_id == key_figure.id, Link.parent_id.is_(None))
    )
    if link is None:
        link = Link(campaign_id=key_figure.campaign_id, key_figure=key_figure)
        db.session.add(link)
    return link


def preview_link(campaign: Campaign) -> Link:
    """The campaign's preview link, made (added to the session, not committed) when missing.

    It credits nobody: what is answered through it are test responses
    (``counted_responses`` leaves them out), and its openings are not counted.
    """
    link = db.session.scalar(
        select(Link).where(Link.campaign_id == campaign.id, Link.preview.is_(True))
    )
    if link is None:
        link = Link(campaign_id=campaign.id, preview=True)
        db.session.add(link)
    return link


def forward_link(parent: Link) -> str:
    """The code of a new link for a respondent to forward (inserted in the session's
    transaction, not committed).

    It credits the same key figure (or channel) as ``parent``, so a chain of forwards
    still credits the key figure or channel at its root.
    """
    code = new_link_code()
    # A Core INSERT through the session: it runs as a respondent completes, and the
    # ORM's unit of work for one new object cost more than the insert (nothing reads the
    # object: the respondent gets the code).
    db.session.execute(
        insert(cast(Table, Link.__table__)),
        {
            "id": new_random_id(),
            "code": code,
            "campaign_id": parent.campaign_id,
            "key_figure_id": parent.key_figure_id,
            "channel_id": parent.channel_id,
            "parent_id": parent.id,
            "open_count": 0,
            "preview": False,
            "created_at": today_utc(),
        },
    )
    return code


def channel_link(channel: Channel) -> Link:
    """The channel's own link, made (added to the session, not committed) when missing."""
    link = None
    if channel.id is not None:
        link = db.session.scalar(
            select(Link).where(Link.channel_id == channel.id, Link.parent_id.is_(None))
        )
    if link is None:
        link = Link(campaign_id=channel.campaign_id, channel=channel)
        db.session.add(link)
    return link


def add_root_links(campaign_id: int, key_figure_ids: list[int]) -> int:
    """Give each of these key figures (of one campaign) its own link, in bulk; how many made.

    For imports of thousands of rows: one executemany in the caller's transaction.
    The caller passes key figures that have no root link yet.
    """
    if not key_figure_ids:
        return 0
    codes: set[str] = set()
    while len(codes) < len(key_figure_ids):
        codes.add(new_link_code())
    day = today_utc()
    rows = [
        {
            "code": code,
            "campaign_id": campaign_id,
            "key_figure_id": key_figure_id,
            "parent_id": None,
            "open_count": 0,
            "created_at": day,
        }
        for key_figure_id, code in zip(key_figure_ids, codes, strict=True)
    ]
    # A Core INSERT through the session: the ORM's bulk-insert bookkeeping per row cost
    # more than the insert itself for an import of thousands of key figures.
    db.session.execute(insert(cast(Table, Link.__table__)), rows)
    return len(rows)


# --- counts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Responses credited to someone: ``started`` counts every response (completed ones
    too), ``completed`` those that were submitted."""

    started: int = 0
    completed: int = 0


def counted_responses(campaign_id: int) -> list[Any]:
    """The conditions every count puts on ``Response``: the campaign's own responses,
    test responses (made through the preview link) never."""
    return [Response.campaign_id == campaign_id, Response.is_test.is_(False)]


def _counts(group: Any, *conditions: Any, through_links: bool = False) -> dict[Any, Counts]:
    """Started and completed responses grouped by ``group``, in one grouped query."""
    # count(*) rather than count(id): the same rows, and it lets an index answer alone.
    query = select(group, func.count(), func.count(Response.completed_at))
    if through_links:
        query = query.join(Link, Link.id == Response.link_id)
    rows = db.session.execute(query.where(*conditions).group_by(group))
    return {key: Counts(int(started), int(completed)) for key, started, completed in rows}


def response_totals(campaign: Campaign) -> Counts:
    """All of the campaign's counted responses."""
    query = select(func.count(), func.count(Response.completed_at)).where(
        *counted_responses(campaign.id)
    )
    started, completed = db.session.execute(query).one()
    return Counts(int(started or 0), int(completed or 0))


def counts_by_sector(campaign: Campaign) -> dict[int | None, Counts]:
    """Counts per sector id (``None``: no sector known); a sector without responses is absent.

    A response's sector is ``Response.sector_id``, which the survey sets through
    ``response_sector_id`` each time a page is saved.
    """
    return _counts(Response.sector_id, *counted_responses(campaign.id))


def counts_by_key_figure(campaign: Campaign) -> dict[int | None, Counts]:
    """Counts per key figure id, through the key figure's own link and every link
    forwarded from it (forwards carry the root's ``key_figure_id``).  ``None``: links
    of no key figure (one deleted since); responses without a link are absent."""
    return _counts(Link.key_figure_id, *counted_responses(campaign.id), through_links=True)


def answers_through_key_figure(key_figure: KeyFigure) -> tuple[int, int]:
    """(started, completed) through the key figure's link and its forwards: what the
    key figure's own page shows."""
    counts = _counts(
        Link.key_figure_id,
        *counted_responses(key_figure.campaign_id),
        Link.key_figure_id == key_figure.id,
        through_links=True,
    ).get(key_figure.id, Counts())
    return counts.started, counts.completed


@dataclass(frozen=True)
class KeyFigureCounts:
    """What the dashboard's page of one key figure shows: openings of the survey and
    responses through the key figure's own link and through links forwarded from it."""

    opened: int = 0
    started: int = 0
    completed: int = 0
    #: Of ``started`` and ``completed``: those that came through a forwarded link.
    forwarded_started: int = 0
    forwarded_completed: int = 0
    #: Respondents who took a link to forward (each forward is a link of its own).
    forwards: int = 0


def key_figure_counts(key_figure: KeyFigure) -> KeyFigureCounts:
    """``KeyFigureCounts`` of one key figure (the same rules as ``counts_by_key_figure``)."""
    through = case((Link.parent_id.is_(None), "own"), else_="forwarded")
    counts = _counts(
        through,
        *counted_responses(key_figure.campaign_id),
        Link.key_figure_id == key_figure.id,
        through_links=True,
    )
    own, forwarded = counts.get("own", Counts()), counts.get("forwarded", Counts())
    opened, forwards = db.session.execute(
        select(func.coalesce(func.sum(Link.open_count), 0), func.count(Link.parent_id)).where(
            Link.key_figure_id == key_figure.id
        )
    ).one()
    return KeyFigureCounts(
        opened=int(opened),
        started=own.started + forwarded.started,
        completed=own.completed + forwarded.completed,
        forwarded_started=forwarded.started,
        forwarded_completed=forwarded.completed,
        forwards=int(forwards),
    )


def counts_by_channel(campaign: Campaign) -> dict[int | None, Counts]:
    """Counts per channel id, through the channel's own link and every link forwarded from
    it (as ``counts_by_key_figure`` for key figures).  ``None``: links of no channel."""
    return _counts(Link.channel_id, *counted_responses(campaign.id), through_links=True)


def opens_by_channel(campaign: Campaign) -> dict[int, int]:
    """Openings of the survey per channel id (its own link and its forwards)."""
    rows = db.session.execute(
        select(Link.channel_id, func.coalesce(func.sum(Link.open_count), 0))
        .where(Link.campaign_id == campaign.id, Link.channel_id.is_not(None))
        .group_by(Link.channel_id)
    )
    return {channel_id: int(opens) for channel_id, opens in rows if channel_id is not None}


def opens_by_key_figure(campaign: Campaign) -> dict[int | None, int]:
    """Openings of the survey per key figure id: the sum of ``Link.open_count`` over the
    key figure's own link and its forwards."""
    rows = db.session.execute(
        select(Link.key_figure_id, func.coalesce(func.sum(Link.open_count), 0))
        .where(Link.campaign_id == campaign.id)
        .group_by(Link.key_figure_id)
    )
    return {key_figure_id: int(opens) for key_figure_id, opens in rows}


def total_opens(campaign: Campaign) -> int:
    """Openings of the survey through any link of the campaign (the sum of
    ``opens_by_key_figure`` and the channels' links, as one aggregate)."""
    query = select(func.coalesce(func.sum(Link.open_count), 0)).where(
        Link.campaign_id == campaign.id
    )
    return int(db.session.scalar(query) or 0)


# --- progress against a target -----------------------------------------------------------


def elapsed_share(campaign: Campaign, now: datetime | None = None) -> float:
    """How much of the open period [opens_at, effective close] has passed, in [0, 1]."""
    now = now or clock.now()
    period = (campaign.effective_close - campaign.opens_at).total_seconds()
    if period <= 0:
        return 1.0 if now >= campaign.effective_close else 0.0
    share = (now - campaign.opens_at).total_seconds() / period
    return min(max(share, 0.0), 1.0)


def expected_by_now(target: int, campaign: Campaign, now: datetime | None = None) -> float:
    """The completions a sector should have by now to reach ``target`` at an even pace:
    the target times the elapsed share of the open period (what the reminder compares)."""
    return target * elapsed_share(campaign, now)


def projected(completed: int, campaign: Campaign, now: datetime | None = None) -> float:
    """``completed`` extrapolated linearly to the close: 0 before opening, ``completed``
    itself once the survey is closed."""
    share = elapsed_share(campaign, now)
    if share <= 0:
        return 0.0
    return completed / share


def on_track(completed: int, target: int, campaign: Campaign, now: datetime | None = None) -> bool:
    """Whether the projection to the close reaches the target."""
    return _reaches(projected(completed, campaign, now), target)


def _reaches(projection: float, target: int) -> bool:
    return projection >= target


@dataclass(frozen=True)
class SectorProgress:
    """One sector's completions against its target, at ``now``."""

    sector_id: int
    code: str
    name: str
    target: int
    started: int
    completed: int
    #: The completions expected by now at an even pace (see ``expected_by_now``).
    expected: float
    #: Completions extrapolated to the close (see ``projected``).
    projected: float

    @property
    def on_track(self) -> bool:
        return _reaches(self.projected, self.target)


def sector_progress(campaign: Campaign, now: datetime | None = None) -> list[SectorProgress]:
    """Every sector of the campaign, in file order, with its counts and projection."""
    now = now or clock.now()
    counts = counts_by_sector(campaign)
    progress = []
    for sector in campaign.sectors:
        sector_counts = counts.get(sector.id, Counts())
        progress.append(
            SectorProgress(
                sector_id=sector.id,
                code=sector.code,
                name=sector.name,
                target=sector.target,
                started=sector_counts.started,
                completed=sector_counts.completed,
                expected=expected_by_now(sector.target, campaign, now),
                projected=projected(sector_counts.completed, campaign, now),
            )
        )
    return progress


# --- what the dashboard adds: activity per key figure, per day, drop-off, coverage -------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


@dataclass(frozen=True)
class Activity(Counts):
    """``Counts`` of a key figure and the latest completion credited to them."""

    last_completed: datetime | None = None


def activity_by_key_figure(campaign: Campaign) -> dict[int, Activity]:
    """Per key figure id: started and completed responses through the key figure's own link
    and its forwards (as ``counts_by_key_figure``), and the latest completion.  Grouped per
    link first (an index holds what that needs), then per key figure over the links used."""
    per_link = (
        select(
            Response.link_id.label("link_id"),
            func.count().label("started"),
            func.count(Response.completed_at).label("completed"),
            func.max(Response.completed_at).label("last_completed"),
        )
        .where(*counted_responses(campaign.id), Response.link_id.is_not(None))
        .group_by(Response.link_id)
        .subquery("per_link")
    )
    rows = db.session.execute(
        select(
            Link.key_figure_id,
            func.sum(per_link.c.started),
            func.sum(per_link.c.completed),
            func.max(per_link.c.last_completed),
        )
        .join(per_link, per_link.c.link_id == Link.id)
        .where(Link.key_figure_id.is_not(None))
        .group_by(Link.key_figure_id)
    )
    return {
        key_figure_id: Activity(int(started), int(completed), _aware(last))
        for key_figure_id, started, completed, last in rows
    }


def _aware(value: Any) -> datetime | None:
    """A timestamp read back through an aggregate of a subquery (a string on SQLite)."""
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def completed_fingerprint(campaign: Campaign) -> tuple[int, datetime | None]:
    """(completed responses, latest completion): changes whenever a response is completed
    or a completed one is deleted.  A completed response never changes (the survey takes
    no more answers for it), so what is computed over completed responses alone holds as
    long as this does."""
    count, latest = db.session.execute(
        select(func.count(), func.max(Response.completed_at)).where(
            *counted_responses(campaign.id), Response.completed_at.is_not(None)
        )
    ).one()
    return int(count or 0), latest


def _hour_of(column: Any) -> Any:
    """The UTC hour of a timestamp as text ``YYYY-MM-DD HH`` (grouped in SQL, folded to the
    campaign's local days in Python: at most 24 rows a day, and right across summer time)."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def completions_by_day(campaign: Campaign) -> dict[date, int]:
    """Completed responses per day of the campaign's own calendar (its timezone)."""
    hour = _hour_of(Response.completed_at)
    rows = db.session.execute(
        select(hour, func.count())
        .where(*counted_responses(campaign.id), Response.completed_at.is_not(None))
        .group_by(hour)
    )
    days: dict[date, int] = {}
    for text, count in rows:
        moment = datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)
        day = campaign.local(moment).date()
        days[day] = days.get(day, 0) + int(count)
    return dict(sorted(days.items()))


def stopped_by_page(campaign: Campaign) -> dict[int, int]:
    """Responses not completed, per page index they stopped on (``Response.last_page``: the
    furthest page reached, whose answers were not sent)."""
    rows = db.session.execute(
        select(Response.last_page, func.count())
        .where(*counted_responses(campaign.id), Response.completed_at.is_(None))
        .group_by(Response.last_page)
    )
    return {int(page): int(count) for page, count in rows}


def _duration_seconds() -> Any:
    if _dialect() == "postgresql":
        return func.extract("epoch", Response.completed_at - Response.started_at)
    return (func.julianday(Response.completed_at) - func.julianday(Response.started_at)) * 86400


def median_completion_seconds(campaign: Campaign) -> float | None:
    """The median time from start to completion of completed responses, in seconds;
    None when nothing was completed.  Computed by the database (PostgreSQL's
    ``percentile_cont``; on SQLite the middle one or two of the sorted durations)."""
    conditions = [*counted_responses(campaign.id), Response.completed_at.is_not(None)]
    duration = _duration_seconds()
    if _dialect() == "postgresql":
        value = db.session.scalar(
            select(func.percentile_cont(0.5).within_group(duration)).where(*conditions)
        )
        return float(value) if value is not None else None
    total = db.session.scalar(select(func.count()).where(*conditions)) or 0
    if not total:
        return None
    middle = select(duration).where(*conditions).order_by(duration)
    values = list(db.session.scalars(middle.limit(2 - total % 2).offset((total - 1) // 2)))
    return sum(float(v) for v in values) / len(values)


def completed_by_profile(
    campaign: Campaign, question_ids: Iterable[str]
) -> dict[tuple[Any, ...], int]:
    """Completed responses per (sector id, answer to each of ``question_ids``), grouped in
    the database over the answers' JSON: the coverage matrix's counts.  An answer is its
    text as stored (a JSON text for "Andere, namelijk ..."), None when not answered."""
    columns = [Response.sector_id, *(Response.answers[qid].as_string() for qid in question_ids)]
    rows = db.session.execute(
        select(*columns, func.count())
        .where(*counted_responses(campaign.id), Response.completed_at.is_not(None))
        .group_by(*columns)
    )
    return {tuple(row[:-1]): int(row[-1]) for row in rows}
