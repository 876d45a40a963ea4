"""Online backup and restore of the embedded SQLite database.

PostgreSQL has its own tools for this (pg_dump / pg_restore, or continuous archiving); the README's
run-book shows them. SQLite's backup API copies a consistent snapshot while the app keeps writing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection


class BackupError(RuntimeError):
    """The backup or restore could not be made safely."""


def backup_sqlite(engine: Engine, destination: str | Path) -> int:
    """Copy the live database into `destination`; returns the number of pages copied."""
    _require_sqlite(engine)
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file")
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(destination)
        try:
            # One step (pages=-1) holds a read snapshot, so concurrent writes cannot tear the copy.
            _driver_connection(raw).backup(target, pages=-1)
            pages = target.execute("PRAGMA page_count").fetchone()[0]
        finally:
            target.close()
    finally:
        raw.close()
    return pages


def restore_sqlite(engine: Engine, source: str | Path) -> None:
    """Replace the database's contents with a backup, after checking the backup is sound."""
    _require_sqlite(engine)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            verdict = backup.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} is not a sound SQLite database: {error}") from error
        if verdict != "ok":
            raise BackupError(f"{source} is damaged: {verdict}")
        raw = engine.raw_connection()
        try:
            backup.backup(_driver_connection(raw), pages=-1)
        finally:
            raw.close()
    finally:
        backup.close()
    engine.dispose()


def _require_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        raise BackupError(
            "this command backs up SQLite; for PostgreSQL use pg_dump (see the README's run-book)"
        )


def _driver_connection(raw: PoolProxiedConnection) -> sqlite3.Connection:
    driver = raw.driver_connection
    if driver is None:
        raise BackupError("the database connection was closed before the copy began")
    return driver
