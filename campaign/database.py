"""Database engine set-up and the write-transaction helper.

SQLite is the default store and must hold up under several web workers:
WAL lets readers go on while one writer writes, a busy timeout makes a second
writer wait instead of failing, and write transactions start with
``BEGIN IMMEDIATE``.  A deferred transaction that reads and then writes is
what produces "database is locked": it cannot wait for the lock it needs
because it already holds a read snapshot.
"""

from typing import Any

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine

from campaign.extensions import db

#: Execution option that marks a transaction as a write transaction.
IMMEDIATE = "campaign_immediate"


def configure_engine(app: Flask) -> None:
    """Install the SQLite pragmas and transaction handling on the app's engine."""
    app.teardown_appcontext(release_request_connection)
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    if getattr(engine, "_campaign_configured", False):
        return
    engine._campaign_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that we
        # can emit BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        # Straight on the driver: it runs for every transaction, and SQLAlchemy's
        # statement execution costs many times what SQLite's BEGIN does.
        raw = connection.connection.dbapi_connection
        raw.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the session's next transaction as a write transaction.

    Call it at the top of a service function that writes, before its first
    query.  A read transaction still open (from the view) is ended first; on
    SQLite the new one takes the write lock up front (``BEGIN IMMEDIATE``) and
    waits for it under the busy timeout.  PostgreSQL needs nothing special.
    """
    session = db.session()
    if session.in_transaction():
        current = session.connection().get_execution_options()
        if current.get(IMMEDIATE) or session.new or session.dirty or session.deleted:
            return  # already a write transaction, or already writing: keep going
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})


class PreparedWrite:
    """A Core write statement compiled once for a dialect, to run on the DBAPI cursor.

    For a statement on a hot path: SQLAlchemy's execution layer (events, contexts,
    result objects) costs as much as SQLite's work, and on SQLite that time would
    be spent holding the write lock.
    """

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.statement = statement
        self.dialect = dialect
        self.sql: str = compiled.string
        self.order: list[str] | None = compiled.positiontup  # None for named paramstyles
        processors = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        self.processors = {name: p for name, p in processors.items() if p is not None}

    def params(self, values: dict[str, Any]) -> Any:
        """The DBAPI parameters for ``values`` (bind names -> Python values)."""
        merged = dict(values)
        for name, process in self.processors.items():
            if name in merged:
                merged[name] = process(merged[name])
        return [merged[name] for name in self.order] if self.order else merged


class PreparedRead(PreparedWrite):
    """A Core select compiled once for a dialect, run on a DBAPI cursor (``hot_connection``).

    For the survey's per-request reads: rows come back as plain tuples with the
    column types' conversions applied (dates, JSON), without SQLAlchemy's
    execution context and result objects, which cost more than SQLite's work.
    """

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        super().__init__(statement, dialect)
        self.converters = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]

    def rows(self, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows for ``values``, with the column types' conversions applied."""
        cursor = hot_connection().cursor()
        try:
            cursor.execute(self.sql, self.params(values))
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        converters = self.converters
        return [
            tuple(v if c is None else c(v) for c, v in zip(converters, row, strict=True))
            for row in fetched
        ]


#: Where the app context keeps the request's own DBAPI connection.
_REQUEST_CONNECTION = "_campaign_request_connection"


def hot_connection() -> Any:
    """The DBAPI connection for a hot path's prepared statements.

    The ORM session's connection while the session is in a transaction (so
    that its uncommitted writes are seen and, on SQLite, not waited for);
    otherwise a connection of the request's own, taken from the engine's pool
    on first use and given back when the app context ends.  That skips the
    session's set-up, transaction bookkeeping and teardown, which cost a
    survey page more than its SQL.  On SQLite the request's connection runs in
    autocommit mode: each read is its own snapshot and holds no lock after it.
    """
    session = _current_session()
    if session is not None and session.in_transaction():
        return session.connection().connection.dbapi_connection
    connection = g.get(_REQUEST_CONNECTION)
    if connection is None:
        connection = db.engine.raw_connection()
        setattr(g, _REQUEST_CONNECTION, connection)
    return connection.dbapi_connection


def release_request_connection(_error: BaseException | None = None) -> None:
    """Give the request's own connection back to the pool (which rolls back what is open)."""
    connection = g.pop(_REQUEST_CONNECTION, None)
    if connection is not None:
        connection.close()


def _current_session() -> Any:
    """The app context's ORM session if one was created, without creating one."""
    registry = db.session.registry
    return registry() if registry.has() else None


def write_once(prepared: PreparedWrite, values: dict[str, Any]) -> int:
    """Run one write statement as its own committed transaction; its row count.

    For a request that has only read so far: it runs on ``hot_connection()``
    without the ORM session, with its parameters converted beforehand.  On
    SQLite it is one autocommit statement, which takes the write lock when it
    starts (waiting under the busy timeout, as ``BEGIN IMMEDIATE`` does) and
    releases it when it ends: the lock is held for SQLite's work alone.  When
    the ORM session is in a transaction or holds changes, it is an ordinary
    statement in the session's transaction, then committed with those changes.
    """
    session = _current_session()
    if session is not None and (
        session.in_transaction() or session.new or session.dirty or session.deleted
    ):
        begin_write()
        count = session.connection().execute(prepared.statement, values).rowcount
        session.commit()
        return count
    raw = hot_connection()
    params = prepared.params(values)
    if prepared.dialect.name == "sqlite":
        # Autocommit: the statement is its own transaction (see the docstring).
        count = raw.execute(prepared.sql, params).rowcount
    else:
        count = _write_committed(raw, prepared.sql, params)
    if session is not None:
        session.expire_all()  # as a commit would: loaded objects show what was written
    return count


def _write_committed(raw: Any, sql: str, params: Any) -> int:
    """The statement in the connection's transaction (PostgreSQL), then committed."""
    try:
        with raw.cursor() as cursor:
            cursor.execute(sql, params)
            count = cursor.rowcount
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    return count


def is_sqlite_engine(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def migration_options() -> dict[str, Any]:
    """Alembic settings: batch mode for SQLite, and no APScheduler or app types in scripts."""
    return {
        "render_as_batch": True,
        "include_name": _include_in_migrations,
        "render_item": _render_item,
    }


def _include_in_migrations(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Keep APScheduler's job table out of autogenerated migrations."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _render_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Write our UTCDateTime as a plain timezone-aware DateTime: migrations must not
    import app code that may change later."""
    from campaign.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
