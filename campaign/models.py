"""The shared data model (SQLAlchemy 2.0 typed declarative).

Every capability reads and writes these models; rules live in the
capabilities' ``services.py``.  All timestamps are stored in UTC.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign import clock
from campaign.extensions import Model


def utcnow() -> datetime:
    """Now, for column defaults: ``clock.now()``, so a pinned test clock applies to them too."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite has no timezone support: values are stored naive in UTC and come
    back aware, so comparisons with ``utcnow()`` work the same everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Lower-case letters and digits without the look-alikes 0, o, 1, l, i, so a
#: code can be typed from paper.
LINK_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
#: 14 characters of a 31-letter alphabet carry 14 * log2(31) = 69.4 bits of randomness.
LINK_CODE_LENGTH = 14


def new_link_code() -> str:
    """A random code of ``LINK_CODE_LENGTH`` letters of ``LINK_ALPHABET``.

    One random number below 31**14, written in base 31: as random as drawing each
    letter on its own, at a fourteenth of the calls (an import makes thousands).
    """
    number = secrets.randbelow(len(LINK_ALPHABET) ** LINK_CODE_LENGTH)
    letters = []
    for _ in range(LINK_CODE_LENGTH):
        number, digit = divmod(number, len(LINK_ALPHABET))
        letters.append(LINK_ALPHABET[digit])
    return "".join(letters)


def new_random_id() -> int:
    """A random positive primary key (below 2**63), for rows whose order must say nothing.

    Autoincrement ids number rows in the order they were made: for draw entries,
    tickets and forwarded links that order lines up with the order of completions.
    """
    return secrets.randbelow(2**63 - 1) + 1


#: A random integer key: BIGINT on PostgreSQL; on SQLite exactly ``INTEGER PRIMARY KEY``,
#: so that it is the rowid and the table is stored in the (random) key order.
RandomKey = BigInteger().with_variant(Integer(), "sqlite")


def today_utc() -> datetime:
    """Midnight (UTC) of today: for rows that must not keep a finer time than the day."""
    return day_of(utcnow())


def day_of(moment: datetime) -> datetime:
    """Midnight (UTC) of ``moment``'s day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def new_response_id() -> str:
    return secrets.token_urlsafe(16)


def new_receipt() -> str:
    """A draw receipt: short, readable, random (about 40 bits), e.g. ``K7M2-X9QD``."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Campaign(Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used in commands and URLs.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: IANA timezone name; the schedule is declared in local time of this zone.
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Brussels")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    results_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when a coordinator closes the survey by hand (or the close job runs).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Goes up by one each time a load changes the questionnaire; stored with each response.
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)
    #: SHA-256 of the loaded file's questionnaire, to detect changes on reload.
    questionnaire_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Names of the organising organisations, in display order.
    organisers: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: List of {"name", "description"}; one winner per prize.
    prizes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The large values below are deferred: most pages that load a campaign need none of them.
    #: Mail settings from the campaign file: sender_name, sender_email, reply_to, subjects.
    mail_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)
    #: Welcome-page text and privacy statement shown to respondents.
    intro: Mapped[str] = mapped_column(Text, default="", deferred=True, deferred_group="texts")
    privacy: Mapped[str] = mapped_column(Text, default="", deferred=True, deferred_group="texts")
    #: The validated questionnaire (pages, questions, scales) as loaded from the file.
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)
    #: Queue the invitations by themselves at ``opens_at`` (the scheduler's launch job);
    #: set by the campaign file (``schedule.invite_at_open``) or by a coordinator.
    invite_at_open: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A sector is behind (its key figures get the reminder) when its completed responses
    #: are below this share of what was expected by now (``schedule.reminder_threshold``).
    reminder_threshold: Mapped[float] = mapped_column(Float, default=1.0)
    #: When draw entries and other respondents' e-mail addresses are deleted; None means
    #: ``DATA_RETENTION_DAYS`` after the close (see ``campaign.schedule``).
    purge_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The schedule as the campaign file last gave it (ISO strings in UTC by field name):
    #: a reload changes a date only when the file's value changed, so a date moved on
    #: the dashboard survives reloading an unchanged file.
    file_schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The campaign file's ``results`` section: ``profile`` (question ids for the results'
    #: filters and the dashboard's coverage matrix) and ``decision`` (which questions feed
    #: each condition of the decision summary, and the offering catalogue's fields).
    results_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: SHA-256 (hex) of the draw's secret seed, published from the opening (welcome page,
    #: ``/trekking/<slug>``, dashboard): a copy of ``Draw.commitment`` here so that pages
    #: loading the campaign show it without another query.  The seed is only in ``Draw``.
    draw_commitment: Mapped[str | None] = mapped_column(String(64))
    #: The campaign file's ``draw`` section (``campaign.draw.settings``): excluded
    #: addresses and domains, domains whose +tags and dots are folded, reserves, the claim
    #: period and the retention period.
    draw_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)

    sectors: Mapped[list[Sector]] = relationship(
        back_populates="campaign", order_by="Sector.position", cascade="all, delete-orphan"
    )

    def state(self, now: datetime | None = None) -> CampaignState:
        """Draft before opening, open until the close time or a manual close, then closed."""
        now = now or clock.now()
        if self.closed_at is not None and self.closed_at <= now:
            return CampaignState.CLOSED
        if now >= self.closes_at:
            return CampaignState.CLOSED
        if now < self.opens_at:
            return CampaignState.DRAFT
        return CampaignState.OPEN

    @property
    def effective_close(self) -> datetime:
        """The moment the survey stopped (or will stop) taking new responses."""
        if self.closed_at is not None and self.closed_at < self.closes_at:
            return self.closed_at
        return self.closes_at

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the campaign's timezone, for display."""
        return moment.astimezone(self.zone)


class Sector(Model):
    __tablename__ = "sectors"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    #: Example organisations, shown to help people place themselves.
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Completed responses wanted from this sector.
    target: Mapped[int] = mapped_column(Integer, default=0)
    #: Display order, as in the campaign file.
    position: Mapped[int] = mapped_column(Integer, default=0)

    campaign: Mapped[Campaign] = relationship(back_populates="sectors")


class KeyFigure(Model):
    """A person known in a network who forwards the survey link."""

    __tablename__ = "key_figures"
    __table_args__ = (UniqueConstraint("campaign_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: Normalised (lower-case domain and local part, stripped); unique per campaign.
    email: Mapped[str] = mapped_column(String(320))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"), index=True)
    #: Free text: the network this person is known in.
    network: Mapped[str] = mapped_column(String(200), default="")
    #: Estimated number of colleagues this person can reach.
    reach: Mapped[int | None] = mapped_column(Integer)
    #: The partner organisation (one of the campaign's organisers) this key figure belongs
    #: to; a coordinator limited to a partner sees only that partner's key figures.
    partner: Mapped[str] = mapped_column(String(200), default="", index=True)
    #: Set when the person unsubscribed; no mail of any kind goes out after it.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    sector: Mapped[Sector | None] = relationship()

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


class Link(Model):
    """A tracked survey link ``/s/<code>``.

    A key figure's own link has no parent.  A respondent who forwards gets a
    child link; ``key_figure_id`` is copied from the parent so a chain of
    forwards still credits the key figure (and sector) at its root.
    """

    __tablename__ = "links"
    #: Opens per key figure read from the index alone (the dashboard, the stats).
    __table_args__ = (
        # Only the links opened at least once: every completion makes a link to forward,
        # most never opened, so the sums of openings do not grow with the answers.
        Index(
            "ix_links_opened",
            "campaign_id",
            "key_figure_id",
            "channel_id",
            "open_count",
            sqlite_where=text("open_count > 0"),
            postgresql_where=text("open_count > 0"),
        ),
    )

    #: Random: forwarded links are made as responses complete, so counted ids would
    #: number them in completion order.
    id: Mapped[int] = mapped_column(
        RandomKey, primary_key=True, autoincrement=False, default=new_random_id
    )
    #: Short unguessable code (about 69 bits of randomness), see ``new_link_code``.
    code: Mapped[str] = mapped_column(String(32), unique=True, default=new_link_code)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: The key figure credited for answers through this link (the root's, for forwards).
    key_figure_id: Mapped[int | None] = mapped_column(
        ForeignKey("key_figures.id", ondelete="SET NULL"), index=True
    )
    #: The channel credited instead (a website, a newsletter, a poster): the root's, for
    #: forwards.  A link has a key figure or a channel (or neither), never both.
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL"), index=True
    )
    #: The link this one was forwarded from; None for a key figure's own link.
    parent_id: Mapped[int | None] = mapped_column(RandomKey, ForeignKey("links.id"), index=True)
    #: How many times the survey was opened through this link (no IP, no cookie id).
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The campaign's preview link (``campaign.preview``): for logged-in coordinators only,
    #: open whatever the dates, its responses are test responses.
    preview: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The day (UTC midnight) the link was made, never the time: a forwarded link's exact
    #: time would equal its forwarder's completion time.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=today_utc)

    campaign: Mapped[Campaign] = relationship()
    key_figure: Mapped[KeyFigure | None] = relationship()
    channel: Mapped[Channel | None] = relationship()
    parent: Mapped[Link | None] = relationship(remote_side="Link.id")


class Channel(Model):
    """A general link besides the key figures': a website, a newsletter, a poster in a
    library.  Its own link (``Link.channel_id``, no parent) and the links forwarded from
    it credit the channel."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: What coordinators call it ("Nieuwsbrief juni", "Affiche bibliotheek Brugge").
    name: Mapped[str] = mapped_column(String(200))
    #: ``website``, ``newsletter``, ``poster`` or ``other`` (see ``campaign.channels``).
    kind: Mapped[str] = mapped_column(String(20), default="other")
    #: Where it is used, for the coordinators' own memory.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The partner organisation (one of the campaign's organisers) it belongs to.
    partner: Mapped[str] = mapped_column(String(200), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")

    campaign: Mapped[Campaign] = relationship()


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: Not sent on purpose (the recipient opted out after it was queued).
    CANCELLED = "cancelled"


class Message(Model):
    """One mail in the outbox.  Sending reads the outbox; nothing sends directly."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("campaign_id", "recipient_email", "kind", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: invitation, reminder, winner, test, ...
    kind: Mapped[str] = mapped_column(String(30))
    #: Distinguishes repeated mails of one kind (a second reminder round).
    round: Mapped[int] = mapped_column(Integer, default=1)
    recipient_email: Mapped[str] = mapped_column(String(320))
    key_figure_id: Mapped[int | None] = mapped_column(
        ForeignKey("key_figures.id", ondelete="SET NULL"), index=True
    )
    #: RFC 5322 Message-ID, fixed when queued so a resent copy carries the same id.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: Extra headers (List-Unsubscribe, ...) fixed at queue time.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=MessageStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Not before this moment (backoff after a transient failure).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The sender holding the claim while ``status`` is ``sending`` (host, pid, random part).
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    #: The claim holds until then; an expired one is taken over by any sender.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    key_figure: Mapped[KeyFigure | None] = relationship()


class Response(Model):
    """One respondent's answers.  No name, no e-mail, no IP address."""

    __tablename__ = "responses"
    # Counts read from narrow indexes instead of the rows, which carry the answers' JSON:
    # per sector, per link (key figure), and per day / drop-off / median.
    __table_args__ = (
        # ``is_test`` second: every count says ``is_test = false`` (test responses never count).
        Index(
            "ix_responses_campaign_sector", "campaign_id", "is_test", "sector_id", "completed_at"
        ),
        Index("ix_responses_campaign_link", "campaign_id", "is_test", "link_id", "completed_at"),
        Index(
            "ix_responses_campaign_completed",
            "campaign_id",
            "is_test",
            "completed_at",
            "started_at",
            "last_page",
        ),
        # The responses the kept counts do not hold yet (those in progress, and completed
        # ones ``tally.catch_up`` has not added yet), with what the counts group them by.
        Index(
            "ix_responses_live",
            "campaign_id",
            "tallied",
            "is_test",
            "completed_at",
            "link_id",
            "sector_id",
        ),
    )

    #: Random, so ids reveal nothing about order or count.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: The link the respondent came through.
    link_id: Mapped[int | None] = mapped_column(
        RandomKey, ForeignKey("links.id", ondelete="SET NULL"), index=True
    )
    #: The respondent's own answer to the sector question, else the root key figure's sector.
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: Index of the last page saved, to resume there.
    last_page: Mapped[int] = mapped_column(Integer, default=0)
    #: Answers keyed by question id.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Made through the preview link by a coordinator: never counted, exported or drawn.
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Whether the results' counts hold this (completed) response: set only by
    #: ``campaign.results.tally`` (``catch_up`` and the rebuild), never by the survey.
    tallied: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    campaign: Mapped[Campaign] = relationship()
    link: Mapped[Link | None] = relationship()
    sector: Mapped[Sector | None] = relationship()


class AnswerCount(Model):
    """How many completed responses gave one value to one question, per profile cell:
    the results' counts, kept by ``campaign.results.tally`` alone (in the completion's
    transaction, or rebuilt from the answers)."""

    __tablename__ = "answer_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: A grid's row id; "#" for the row counting who answered; "" otherwise.
    item: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: The respondents' sector and profile answers (JSON), what the results filter on.
    cell: Mapped[str] = mapped_column(String(1000), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class AnswerCountState(Model):
    """What a campaign's ``answer_counts`` were built for (profile questions and question
    types); counts for another fingerprint are not used."""

    __tablename__ = "answer_count_states"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))


class CreditCount(Model):
    """Completed responses credited to a sector, a key figure, a channel or an hour: the
    dashboard's counts, kept by ``campaign.attribution`` (added to by the results'
    catch-up, ``campaign.results.tally``, in the transaction that marks the responses
    ``tallied``; rebuilt with the results' counts).  The counts read these rows plus the
    responses not ``tallied`` yet, so they are exact whenever the catch-up last ran."""

    __tablename__ = "credit_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    #: "sector", "key_figure", "channel" or "hour" (see ``attribution.DIMENSIONS``).
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: The sector's, key figure's or channel's id (0: none), or the UTC hour as hours
    #: since 1970.
    key: Mapped[int] = mapped_column(Integer, primary_key=True)
    completed: Mapped[int] = mapped_column(Integer)
    last_completed: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportLine(Model):
    """A completed response's row of the CSV export (all but the row number), made once by
    ``campaign.results.export_lines`` when it completes; used while ``fingerprint`` (the
    export's columns, codes and timezone) is the campaign's current one."""

    __tablename__ = "export_lines"
    __table_args__ = (Index("ix_export_lines_campaign", "campaign_id", "fingerprint"),)

    response_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The response's ``updated_at`` the row was made from (a changed response is made again).
    response_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The row for ``;`` (decimal commas) and for ``,``, each ending in CR LF.
    semicolon: Mapped[str] = mapped_column(Text)
    comma: Mapped[str] = mapped_column(Text)


class DrawTicket(Model):
    """A one-time right to enter the draw, handed out when a response completes.

    Only the SHA-256 of the ticket is kept, with no reference to the response,
    no timestamp and a random key, so a ticket (and the entry it makes) cannot
    be joined back to answers, not even by the order of rows.
    """

    __tablename__ = "draw_tickets"

    id: Mapped[int] = mapped_column(
        RandomKey, primary_key=True, autoincrement=False, default=new_random_id
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used: Mapped[bool] = mapped_column(default=False)


class DrawEntry(Model):
    """An entry in the prize draw.  Deliberately no reference to a response, a random key
    and only the day it was made, so neither a column nor the order of rows by key joins
    it to answers.

    SQLite stores the rows in key order.  PostgreSQL's heap keeps them in arrival
    order, which only someone reading the table without ORDER BY, with direct
    database access, can see; every page and export of ours sorts by receipt.
    """

    __tablename__ = "draw_entries"
    __table_args__ = (UniqueConstraint("campaign_id", "email"),)

    id: Mapped[int] = mapped_column(
        RandomKey, primary_key=True, autoincrement=False, default=new_random_id
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    #: Random receipt shown to the entrant; the public draw list shows receipts only.
    receipt: Mapped[str] = mapped_column(String(16), unique=True, default=new_receipt)
    #: The day (UTC midnight) of the entry, never the time.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=today_utc)


class Draw(Model):
    """The verifiable prize draw of a campaign (see ``campaign.draw``).

    Made with the campaign (the seed and its commitment), frozen after the close (the
    sorted receipts and their hash), performed once (the seed revealed, winners and
    reserves), then followed prize by prize (``awards``).  Everything here but the seed
    before ``performed_at`` is public, and none of it names an entrant: after the purge
    it is the whole proof.
    """

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True
    )
    #: SHA-256 (hex) of the secret seed, published from launch.
    commitment: Mapped[str] = mapped_column(String(64))
    #: The secret seed; revealed (shown) only once the draw is performed.
    seed: Mapped[str] = mapped_column(String(128))
    #: Receipts of the winners, in prize order.
    winners: Mapped[list[str]] = mapped_column(JSON, default=list)
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    performed_by: Mapped[str | None] = mapped_column(String(320))
    #: When the list of entries was frozen (after the close and its grace period).
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The frozen list: the receipts taking part, sorted.
    receipts: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: SHA-256 (hex) of the frozen list as ``campaign.draw.algorithm.list_text`` writes it.
    receipts_hash: Mapped[str | None] = mapped_column(String(64))
    #: Entries left out at the freeze: [{"receipt", "reason"}] (staff, a folded duplicate).
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Receipts of the reserve winners, in order.
    reserves: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Per prize, in prize order: {"prize", "receipt", "notified_at", "claim_until",
    #: "delivered_at", "passed": [{"from", "to", "at", "by", "reason"}]}.
    awards: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Earlier results replaced by an explicit redraw: [{"performed_at", "performed_by",
    #: "reason", "receipts_hash", "winners", "reserves"}].
    rounds: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: When the entrants' e-mail addresses were erased.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def new_session_token() -> str:
    """A new random session token for an account (192 bits)."""
    return secrets.token_urlsafe(24)


class Coordinator(UserMixin, Model):
    __tablename__ = "coordinators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Empty while an invited colleague has not set a password yet (nothing matches it).
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``admin`` (campaign administrator), ``coordinator`` or ``viewer``: see
    #: ``campaign.auth.roles``.
    role: Mapped[str] = mapped_column(String(20), default="admin")
    #: The one partner organisation this account is limited to; None: every partner.
    partner: Mapped[str | None] = mapped_column(String(200))
    #: Set when an administrator deactivated the account: no login, sessions end.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The random part of the one outstanding set-password link (invite or reset); cleared
    #: when it is used, replaced by a new invite or reset: so each link works once.
    token_nonce: Mapped[str | None] = mapped_column(String(64))
    #: When the outstanding set-password link was made (its expiry counts from the token).
    token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited_by: Mapped[str] = mapped_column(String(320), default="")
    #: A random value that every session and remember cookie of this account carries
    #: (``get_id``); replaced at logout, a password change or reset, deactivation and a
    #: role change, which ends every session made with the old one
    #: (``campaign.auth.sessions``).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to log in (and to load) a deactivated account."""
        return self.deactivated_at is None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: the id and the
        account's current session token (Flask-Login's "alternative tokens")."""
        return f"{self.id}:{self.session_token}"


class CampaignEvent(Model):
    """Something that happened to a campaign's calendar or state, with who did it.

    Closing early, extending, moving the reminder, excluding a key figure from it, and
    each scheduled job that ran: the Planning page reads its history from here.
    """

    __tablename__ = "campaign_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for what concerns no campaign (an account invited, deactivated, ...).
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: What happened: ``closed``, ``close_moved``, ``reminder_moved``, ``reminder_sent``, ...
    kind: Mapped[str] = mapped_column(String(40))
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Who: a coordinator's e-mail, ``planner`` (the scheduler) or ``opdrachtregel`` (a command).
    actor: Mapped[str] = mapped_column(String(320), default="")
    #: Old and new values, counts: whatever the kind needs to be described later.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobRun(Model):
    """One run of a scheduled job for one due time: the stored "done" flag that makes a
    job safe to fire twice (by two schedulers, or again after a crash)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "job", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: ``launch``, ``reminder``, ``close`` or ``purge``.
    job: Mapped[str] = mapped_column(String(20))
    #: The time the job was due (the campaign's date when it was planned).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None while running (or when the process died before it finished).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A short Dutch summary for the Planning page ("12 herinneringen in de wachtrij").
    outcome: Mapped[str] = mapped_column(Text, default="")
    #: ``done`` or ``skipped``, ``waiting`` (to be tried again later), ``failed``.
    status: Mapped[str] = mapped_column(String(20), default="running")


class SchedulerHeartbeat(Model):
    """A row per scheduler process, touched every few seconds: a dashboard banner warns
    when none has been seen for a while."""

    __tablename__ = "scheduler_heartbeats"

    #: ``host:pid:random``, as the sender's identity.
    identity: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ReminderChoice(Model):
    """A coordinator's choice to include or exclude one key figure from the reminder,
    overriding the rule."""

    __tablename__ = "reminder_choices"
    __table_args__ = (UniqueConstraint("campaign_id", "key_figure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    key_figure_id: Mapped[int] = mapped_column(ForeignKey("key_figures.id", ondelete="CASCADE"))
    #: True: send the reminder whatever the rule says; False: never send it.
    include: Mapped[bool] = mapped_column(Boolean)
    chosen_by: Mapped[str] = mapped_column(String(320), default="")
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
