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

The counts over many responses (per sector, key figure, channel and hour) read
kept rows, ``CreditCount``, plus the responses not in them yet, in one
statement each: the completed responses marked ``tallied`` are in the rows (the
results' catch-up, ``campaign.results.tally``, adds them with ``fold_completed``
in the transaction that marks them, and its rebuild calls ``rebuild_credits``);
every other counted response (in progress, or completed since the last
catch-up) is grouped from ``responses`` as before.  So a count is exact
whenever the catch-up last ran, and costs the kept rows plus the responses in
progress, whatever the number of completed ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Subquery,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaign import clock
from campaign.extensions import db
from campaign.models import (
    Campaign,
    Channel,
    CreditCount,
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
    """Started and completed responses grouped by ``group``, in one grouped query (for
    the responses of one key figure; the campaign-wide counts read ``_credited``)."""
    # count(*) rather than count(id): the same rows, and it lets an index answer alone.
    query = select(group, func.count(), func.count(Response.completed_at))
    if through_links:
        query = query.join(Link, Link.id == Response.link_id)
    rows = db.session.execute(query.where(*conditions).group_by(group))
    return {key: Counts(int(started), int(completed)) for key, started, completed in rows}


@dataclass(frozen=True)
class Activity(Counts):
    """``Counts`` and the latest completion among them."""

    last_completed: datetime | None = None


# --- the kept counts of completed responses ------------------------------------------------

#: What a ``CreditCount`` row counts per: the response's sector, the key figure or channel
#: at the root of its link (responses without a link have neither), its UTC hour.
SECTOR, KEY_FIGURE, CHANNEL, HOUR = "sector", "key_figure", "channel", "hour"
DIMENSIONS = (SECTOR, KEY_FIGURE, CHANNEL, HOUR)
#: The key of "no sector", "a link of no key figure" and "a link of no channel".
NONE = 0
#: In SQL as a literal, not a bound parameter: PostgreSQL matches a GROUP BY expression
#: to the selected one by its text, and two parameters are two texts.
_NONE: Any = literal_column("0")


def live_responses(campaign_id: int) -> list[Any]:
    """The counted responses the kept rows do not hold: not ``tallied`` (in progress, or
    completed since the results' catch-up last ran)."""
    return [*counted_responses(campaign_id), Response.tallied.is_(False)]


def hour_number(moment: datetime) -> int:
    """The UTC hour of ``moment`` as hours since 1970: the key of an ``HOUR`` row."""
    return int(moment.timestamp() // 3600)


def _hour_key(column: Any, dialect: str) -> Any:
    """``hour_number`` of a timestamp column, in SQL."""
    if dialect == "postgresql":
        return cast(Any, func.floor(func.extract("epoch", column) / literal_column("3600"))).cast(
            Integer
        )
    return func.cast(func.strftime("%s", column), Integer) // literal_column("3600")


def _live_key(dimension: str) -> tuple[Any, bool]:
    """What the live responses are grouped by for ``dimension``, and whether through
    their link."""
    if dimension == SECTOR:
        return Response.sector_id, False
    if dimension == KEY_FIGURE:
        return Link.key_figure_id, True
    if dimension == CHANNEL:
        return Link.channel_id, True
    return _hour_key(Response.completed_at, _dialect()), False


def credited_query(campaign_id: int, dimension: str) -> Subquery:
    """Per key of ``dimension`` (column ``key``; ``NONE`` for none): ``started``,
    ``completed`` and ``last_completed`` of the campaign's counted responses, the kept rows
    and the responses not tallied yet added up in one statement (so one snapshot: a
    catch-up committing meanwhile moves responses from one side to the other unseen)."""
    kept = select(
        CreditCount.key.label("key"),
        CreditCount.completed.label("started"),
        CreditCount.completed.label("completed"),
        CreditCount.last_completed.label("last_completed"),
    ).where(CreditCount.campaign_id == campaign_id, CreditCount.dimension == dimension)
    column, through_links = _live_key(dimension)
    key = func.coalesce(column, _NONE)
    live = select(
        key, func.count(), func.count(Response.completed_at), func.max(Response.completed_at)
    )
    if through_links:
        live = live.join(Link, Link.id == Response.link_id)
    live = live.where(*live_responses(campaign_id))
    if dimension == HOUR:
        live = live.where(Response.completed_at.is_not(None))
    both = union_all(kept, live.group_by(key)).subquery("credited_rows")
    return (
        select(
            both.c.key.label("key"),
            func.sum(both.c.started).label("started"),
            func.sum(both.c.completed).label("completed"),
            func.max(both.c.last_completed).label("last_completed"),
        )
        .group_by(both.c.key)
        .subquery(f"credited_{dimension}")
    )


def _credited(campaign_id: int, dimension: str) -> dict[int | None, Activity]:
    """``credited_query`` read: per key (None for ``NONE``)."""
    found = credited_query(campaign_id, dimension)
    return {
        (None if key == NONE else int(key)): Activity(int(started), int(completed), aware(last))
        for key, started, completed, last in db.session.execute(select(found))
    }


def _plain(credited: dict[int | None, Activity]) -> dict[int | None, Counts]:
    return {key: Counts(found.started, found.completed) for key, found in credited.items()}


def fold_completed(
    session: Session,
    campaign_id: int,
    responses: Iterable[tuple[int | None, bool, int | None, int | None, datetime]],
) -> None:
    """Add completed responses, given as (sector id, has a link, key figure id, channel id,
    completed at), to the kept rows, in the caller's transaction: the one that marks them
    ``tallied`` (``tally.catch_up``), so the reads never count one twice or not at all."""
    found: dict[tuple[str, int], list[Any]] = {}
    for sector_id, has_link, key_figure_id, channel_id, completed_at in responses:
        keys = [(SECTOR, sector_id or NONE), (HOUR, hour_number(completed_at))]
        if has_link:
            keys += [(KEY_FIGURE, key_figure_id or NONE), (CHANNEL, channel_id or NONE)]
        for key in keys:
            counted = found.setdefault(key, [0, completed_at])
            counted[0] += 1
            counted[1] = max(counted[1], completed_at)
    rows = [
        {
            "campaign_id": campaign_id,
            "dimension": dimension,
            "key": key,
            "completed": completed,
            "last_completed": last,
        }
        for (dimension, key), (completed, last) in sorted(found.items())
    ]
    if not rows:
        return
    module: Any = postgresql if _dialect_of(session) == "postgresql" else sqlite
    statement = module.insert(CreditCount)
    later = statement.excluded.last_completed
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "dimension", "key"],
        set_={
            "completed": CreditCount.completed + statement.excluded.completed,
            "last_completed": case(
                (later > CreditCount.last_completed, later), else_=CreditCount.last_completed
            ),
        },
    )
    session.execute(statement, rows)


def rebuild_credits(session: Session, campaign_id: int) -> None:
    """The campaign's kept rows counted again from its ``tallied`` responses, in the
    caller's transaction (the results' rebuild, after it marked them)."""
    session.execute(delete(CreditCount).where(CreditCount.campaign_id == campaign_id))
    dialect = _dialect_of(session)
    columns = ["campaign_id", "dimension", "key", "completed", "last_completed"]
    for dimension in DIMENSIONS:
        column, through_links = {
            SECTOR: (Response.sector_id, False),
            KEY_FIGURE: (Link.key_figure_id, True),
            CHANNEL: (Link.channel_id, True),
            HOUR: (_hour_key(Response.completed_at, dialect), False),
        }[dimension]
        key = func.coalesce(column, _NONE)
        query = select(
            literal(campaign_id),
            literal(dimension),
            key,
            func.count(),
            func.max(Response.completed_at),
        )
        if through_links:
            query = query.join(Link, Link.id == Response.link_id)
        query = query.where(
            Response.campaign_id == campaign_id,
            Response.tallied.is_(True),
            Response.completed_at.is_not(None),
        ).group_by(key)
        session.execute(insert(cast(Table, CreditCount.__table__)).from_select(columns, query))


def rebuild_all_credits(session: Session) -> None:
    """``rebuild_credits`` of every campaign (the migration's backfill)."""
    for campaign_id in session.scalars(select(Campaign.id)).all():
        rebuild_credits(session, campaign_id)


def _dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# --- counts --------------------------------------------------------------------------------


def response_totals(campaign: Campaign) -> Counts:
    """All of the campaign's counted responses."""
    return totals_of(counts_by_sector(campaign))


def totals_of(by_sector: Mapping[int | None, Counts]) -> Counts:
    """The sum of ``counts_by_sector`` (every counted response has one sector or None)."""
    counts = by_sector.values()
    return Counts(sum(c.started for c in counts), sum(c.completed for c in counts))


def activity_by_sector(campaign: Campaign) -> dict[int | None, Activity]:
    """``counts_by_sector`` with each sector's latest completion (what
    ``completed_fingerprint`` is made of: a page reads this once for both)."""
    return _credited(campaign.id, SECTOR)


def counts_by_sector(campaign: Campaign) -> dict[int | None, Counts]:
    """Counts per sector id (``None``: no sector known); a sector without responses is absent.

    A response's sector is ``Response.sector_id``, which the survey sets through
    ``response_sector_id`` each time a page is saved.
    """
    return _plain(activity_by_sector(campaign))


def counts_by_key_figure(campaign: Campaign) -> dict[int | None, Counts]:
    """Counts per key figure id, through the key figure's own link and every link
    forwarded from it (forwards carry the root's ``key_figure_id``).  ``None``: links
    of no key figure (one deleted since); responses without a link are absent."""
    return _plain(_credited(campaign.id, KEY_FIGURE))


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
    return _plain(_credited(campaign.id, CHANNEL))


def _opened(campaign_id: int) -> list[Any]:
    """The campaign's links opened at least once (what ``ix_links_opened`` holds: every
    completion makes a link to forward, and most are never opened).  The 0 is a literal,
    so that the planner can match the index's condition."""
    return [Link.campaign_id == campaign_id, Link.open_count > literal_column("0")]


def opens_by_channel(campaign: Campaign) -> dict[int, int]:
    """Openings of the survey per channel id (its own link and its forwards)."""
    rows = db.session.execute(
        select(Link.channel_id, func.sum(Link.open_count))
        .where(*_opened(campaign.id), Link.channel_id.is_not(None))
        .group_by(Link.channel_id)
    )
    return {channel_id: int(opens) for channel_id, opens in rows if channel_id is not None}


def opens_by_key_figure_query(campaign_id: int) -> Subquery:
    """Per ``key_figure_id`` (None: links of no key figure), ``opened``: the sum of
    ``Link.open_count`` over the key figure's own link and its forwards; key figures whose
    links were never opened are absent."""
    return (
        select(Link.key_figure_id.label("key_figure_id"), func.sum(Link.open_count).label("opened"))
        .where(*_opened(campaign_id))
        .group_by(Link.key_figure_id)
        .subquery("opens_by_key_figure")
    )


def opens_by_key_figure(campaign: Campaign) -> dict[int | None, int]:
    """``opens_by_key_figure_query`` read."""
    found = opens_by_key_figure_query(campaign.id)
    return {key_figure_id: int(opens) for key_figure_id, opens in db.session.execute(select(found))}


def total_opens(campaign: Campaign) -> int:
    """Openings of the survey through any link of the campaign (the sum of
    ``opens_by_key_figure`` and the channels' links, as one aggregate)."""
    query = select(func.coalesce(func.sum(Link.open_count), 0)).where(*_opened(campaign.id))
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


def sector_progress(
    campaign: Campaign,
    now: datetime | None = None,
    counts: Mapping[int | None, Counts] | None = None,
) -> list[SectorProgress]:
    """Every sector of the campaign, in file order, with its counts and projection
    (``counts``: ``counts_by_sector`` when the caller read it already)."""
    now = now or clock.now()
    counts = counts_by_sector(campaign) if counts is None else counts
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


def activity_by_key_figure(campaign: Campaign) -> dict[int, Activity]:
    """Per key figure id: started and completed responses through the key figure's own link
    and its forwards (as ``counts_by_key_figure``), and the latest completion."""
    credited = _credited(campaign.id, KEY_FIGURE)
    return {key: found for key, found in credited.items() if key is not None}


def aware(value: Any) -> datetime | None:
    """A timestamp read back through an aggregate of a subquery (a string on SQLite, where
    the column's type does not reach it), as an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def completed_fingerprint(campaign: Campaign) -> tuple[int, datetime | None]:
    """(completed responses, latest completion): changes whenever a response is completed
    or a completed one is deleted.  A completed response never changes (the survey takes
    no more answers for it), so what is computed over completed responses alone holds as
    long as this does."""
    return fingerprint_of(activity_by_sector(campaign))


def fingerprint_of(by_sector: Mapping[int | None, Activity]) -> tuple[int, datetime | None]:
    """``completed_fingerprint`` from ``activity_by_sector``."""
    counts = by_sector.values()
    latest = max((c.last_completed for c in counts if c.last_completed), default=None)
    return sum(c.completed for c in counts), latest


def completions_by_day(campaign: Campaign) -> dict[date, int]:
    """Completed responses per day of the campaign's own calendar (its timezone): the kept
    hours (UTC) folded to local days, so right across summer time."""
    days: dict[date, int] = {}
    for hour, counts in sorted(_credited(campaign.id, HOUR).items(), key=lambda item: item[0] or 0):
        moment = datetime.fromtimestamp((hour or 0) * 3600, UTC)
        day = campaign.local(moment).date()
        days[day] = days.get(day, 0) + counts.completed
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
    campaign: Campaign, question_ids: Iterable[str], kept: bool = True
) -> dict[tuple[Any, ...], int]:
    """Completed responses per (sector id, answer to each of ``question_ids``): the
    coverage matrix's counts.  An answer is its text as stored (a JSON text for "Andere,
    namelijk ..."), None when not answered.

    When the questions are all profile questions of the results' kept counts
    (``answer_counts``, whose cells are exactly these groups) and those are current, the
    cells are read from there, plus the completed responses not tallied yet grouped over
    their JSON, in one statement; an answer that is not an option's value then reads as
    the results' ``OTHER`` (the matrix counts both as "Andere").  Else (or with
    ``kept=False``) every completed response's JSON is grouped.
    """
    ids = list(question_ids)
    answers = [Response.answers[qid].as_string() for qid in ids]
    completed = [*counted_responses(campaign.id), Response.completed_at.is_not(None)]
    if not (kept and ids and _profile_is_kept(campaign, ids)):
        columns = [Response.sector_id, *answers]
        rows = db.session.execute(
            select(*columns, func.count()).where(*completed).group_by(*columns)
        )
        return {tuple(row[:-1]): int(row[-1]) for row in rows}
    from campaign.results import tally  # the results' counts (tally imports this module)

    kept_cells = tally.profile_cells(campaign.id).subquery("kept_cells")
    none = [cast(Any, null()).cast(String) for _ in ids]
    cells = select(kept_cells.c.cell, cast(Any, null()).cast(Integer), *none, kept_cells.c.count)
    live = (
        select(cast(Any, null()).cast(String), Response.sector_id, *answers, func.count())
        .where(*completed, Response.tallied.is_(False))
        .group_by(Response.sector_id, *answers)
    )
    found: dict[tuple[Any, ...], int] = {}
    for cell, sector_id, *values, count in db.session.execute(union_all(cells, live)):
        if cell is not None:
            parts = json.loads(cell)
            sector_id, values = parts.get("sector"), [parts.get(qid) for qid in ids]
        key = (sector_id, *values)
        found[key] = found.get(key, 0) + int(count)
    return found


def _profile_is_kept(campaign: Campaign, question_ids: list[str]) -> bool:
    from campaign.results import tally  # the results' counts (tally imports this module)

    profile = tally.kept_profile(campaign)
    return profile is not None and set(question_ids) <= set(profile)
