"""``flask backup create FILE`` and ``flask backup restore FILE``: the database, whole.

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``) on the app's own
  connection, so it is safe while web workers and the scheduler write (WAL: they go on
  while the copy reads one consistent state).  The backup is a SQLite file; a restore
  copies it back with the same API.
- PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, also while the app
  writes), restored with ``pg_restore --clean --if-exists --no-owner --no-privileges
  --single-transaction`` (all or nothing; the objects belong to the role that restores,
  so a new machine's role may have another name).  The client programs must be of the server's
  major version or newer (Debian 12: ``postgresql-client-15``).

A backup is written beside FILE first and renamed once complete, readable by its owner
only (it holds names and e-mail addresses).  A restore refuses a database that already
holds tables unless ``--replace`` is given; stop the web server and the scheduler before
restoring, and run ``flask db upgrade`` after (a backup of an older version).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import URL, inspect

from campaign.extensions import db

backup_cli = click.Group("backup", help="Back up the database, or restore a backup.")

#: How a custom-format pg_dump file starts.
PG_DUMP_MAGIC = b"PGDMP"
#: How a SQLite database file starts.
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


# --- the rules -------------------------------------------------------------------------------


def backend() -> str:
    return db.engine.url.get_backend_name()


def create_backup(target: Path) -> None:
    """Write a complete backup of the app's database to ``target`` (replaced if present)."""
    target = target.resolve()
    if not target.parent.is_dir():
        raise BackupError(f"Map {target.parent} bestaat niet.")
    partial = target.with_name(f".{target.name}.partial")
    with suppress(FileNotFoundError):
        partial.unlink()
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        if backend() == "sqlite":
            _sqlite_backup(partial)
        elif backend() == "postgresql":
            _pg_dump(partial)
        else:
            raise BackupError(f"Geen back-up mogelijk van een {backend()}-databank.")
        os.replace(partial, target)
    finally:
        with suppress(FileNotFoundError):
            partial.unlink()


def restore_backup(source: Path, replace: bool = False) -> None:
    """Restore the backup ``source`` into the app's database (see the module)."""
    kind = backup_kind(source)
    if kind != backend():
        raise BackupError(
            f"{source} is een back-up van {kind}, maar de ingestelde databank is {backend()}."
        )
    if holds_tables() and not replace:
        raise BackupError(
            "De ingestelde databank bevat al tabellen. Zet de back-up terug in een lege "
            "databank, of geef --replace om ze te overschrijven (stop eerst de webserver en "
            "de planner)."
        )
    db.session.remove()
    if kind == "sqlite":
        _sqlite_restore(source)
    else:
        _pg_restore(source)
    db.engine.dispose()


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql``, from the first bytes of the file."""
    try:
        with path.open("rb") as file:
            start = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"Kan {path} niet lezen: {error.strerror}.") from error
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is geen back-up van `flask backup create`.")


def holds_tables() -> bool:
    tables = inspect(db.engine).get_table_names()
    db.engine.dispose()
    return bool(tables)


# --- SQLite ----------------------------------------------------------------------------------


def _driver_connection() -> Any:
    """The app's own SQLite connection (its busy timeout and WAL), from the pool."""
    return db.engine.raw_connection()


def _sqlite_backup(target: Path) -> None:
    with closing(_driver_connection()) as pooled, closing(sqlite3.connect(target)) as copy:
        pooled.driver_connection.backup(copy)
        if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError("De kopie is niet in orde (SQLite quick_check).")


def _sqlite_restore(source: Path) -> None:
    damaged = BackupError(f"{source} is beschadigd (SQLite quick_check).")
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup:
        try:
            if backup.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise damaged
        except sqlite3.DatabaseError as error:
            raise damaged from error
        with closing(_driver_connection()) as pooled:
            backup.backup(pooled.driver_connection)


# --- PostgreSQL ------------------------------------------------------------------------------


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI without its password, and the environment that carries
    the password (never on a command line, where ``ps`` shows it)."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _run(program: str, arguments: list[str]) -> None:
    path = shutil.which(program)
    if path is None:
        raise BackupError(f"{program} niet gevonden: installeer postgresql-client (apt).")
    uri, environment = libpq_target(db.engine.url)
    db.engine.dispose()
    done = subprocess.run(
        [path, f"--dbname={uri}", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{program} mislukt: {done.stderr.strip()}")


def _pg_dump(target: Path) -> None:
    _run("pg_dump", ["--format=custom", f"--file={target}"])


def _pg_restore(source: Path) -> None:
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            str(source),
        ],
    )


# --- the commands ----------------------------------------------------------------------------


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def create_command(file: Path) -> None:
    """Write a backup of the database to FILE (safe while the app runs)."""
    try:
        create_backup(file)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Back-up geschreven: {file} ({file.stat().st_size} bytes).")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds tables.")
@with_appcontext
def restore_command(file: Path, replace: bool) -> None:
    """Restore the backup FILE into the configured database (stop the app first)."""
    try:
        restore_backup(file, replace=replace)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Back-up teruggezet uit {file}. Daarna: flask db upgrade en flask db check.")
