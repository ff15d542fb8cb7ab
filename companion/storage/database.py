"""The SQLite file: connections with the right pragmas, integrity check, migrations, reset.

Durability comes from WAL with ``synchronous=FULL``: a COMMIT that returned is on disk. One
connection writes (the writer thread owns it); readers open their own, which WAL lets run beside it.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path

from companion.errors import DatabaseDamagedError
from companion.storage.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_HEADER = b"SQLite format 3\x00"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit) with companion's pragmas."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is open (SQLite ends some on its own after a failure)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")


def latest_backup(path: Path) -> Path | None:
    backups = sorted(path.parent.glob(path.name + ".backup-*"), key=lambda p: p.stat().st_mtime)
    return backups[-1] if backups else None


def damaged_message(path: Path, detail: str) -> str:
    backup = latest_backup(path)
    backup_line = (
        f"The most recent backup is {backup}."
        if backup
        else "There is no backup copy of it in the data folder."
    )
    return (
        f"The database {path} is damaged ({detail}). It has not been changed or deleted. "
        f"{backup_line} To start again with an empty database, quit companion and run "
        f"`companion db reset`: it moves the damaged file aside as "
        f"{path.name}.broken-<time> (keep it to recover your history) and starts fresh."
    )


def open_database(path: Path) -> None:
    """Check and migrate the database at ``path``, creating it if missing.

    Raises DatabaseDamagedError (never deletes or replaces anything) when the file is not a
    healthy SQLite database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if handle.read(len(_HEADER)) != _HEADER:
                raise DatabaseDamagedError(damaged_message(path, "not an SQLite database"))
    try:
        conn = connect(path)
    except sqlite3.DatabaseError as exc:
        raise DatabaseDamagedError(damaged_message(path, str(exc))) from exc
    try:
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            raise DatabaseDamagedError(damaged_message(path, str(exc))) from exc
        if verdict != ["ok"]:
            raise DatabaseDamagedError(damaged_message(path, "; ".join(verdict[:3])))
        migrate(conn, path)
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise DatabaseDamagedError(
            f"The database {path} was written by a newer companion (schema {version}, this "
            f"version knows {SCHEMA_VERSION}). Install the newer version again, or run "
            "`companion db reset` to move it aside and start empty."
        )
    if version == SCHEMA_VERSION:
        return
    if version > 0:
        backup = path.with_name(f"{path.name}.backup-v{version}-{_stamp()}")
        target = sqlite3.connect(backup)
        try:
            conn.backup(target)
        finally:
            target.close()
        log.info("backed up %s to %s before migrating", path, backup)
    for number in range(version + 1, SCHEMA_VERSION + 1):
        # executescript commits; the whole migration and its version bump are one transaction.
        conn.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[number - 1]}; PRAGMA user_version = {number}; COMMIT;"
        )
        log.info("migrated %s to schema %d", path, number)


def reset_database(path: Path) -> Path | None:
    """Move the database and its WAL files aside as ``<name>.broken-<time>``; return the name."""
    if not path.exists():
        return None
    stamp = _stamp()
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    number = 1
    while aside.exists():  # a second reset within the second keeps the first one's file
        number += 1
        aside = path.with_name(f"{path.name}.broken-{stamp}-{number}")
    for suffix in ("-wal", "-shm"):
        companion_file = path.with_name(path.name + suffix)
        if companion_file.exists():
            shutil.move(companion_file, aside.with_name(aside.name + suffix))
    shutil.move(path, aside)
    return aside
