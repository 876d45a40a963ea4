"""Rate-limit counts in a SQLite file: every worker of one server shares them, with no server.

limits keeps its counts in memory (one budget per gunicorn worker: with five workers a
"10 per minute" sign-in limit let about 50 wrong passwords through), in Redis, memcached or
MongoDB (each a server to run). `make run` has none of those, so the counts go to a small
SQLite file in the instance folder that all of one machine's workers open. Each key is one row
holding the times of its last hits (at most the limit's amount of them), read and rewritten in
one `BEGIN IMMEDIATE` transaction, so two workers never both take the last place of a window.
The file is not the application's database: counts are not business data, they may be lost
(synchronous=NORMAL in WAL mode: no fsync per hit), and its writes never wait on an order.
Used as `storage_uri="shanhai-sqlite:///path/to/rate-limits.sqlite3"`; with REDIS_URL set,
Redis is used instead and the counts are shared across machines too.
"""

from __future__ import annotations

import bisect
import fcntl
import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager

from limits.storage import MovingWindowSupport, Storage

SCHEME = "shanhai-sqlite"
# Rows of keys no longer hit are deleted this often (by whichever worker notices first).
SWEEP_SECONDS = 60.0
# How long the window a thread has just counted a hit in is told from that count's own read.
SEEN_SECONDS = 0.1
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, expires_at REAL NOT NULL,"
    " hits BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, expires_at REAL NOT NULL,"
    " value INTEGER NOT NULL) WITHOUT ROWID",
)


def path_of(uri: str) -> str:
    prefix = f"{SCHEME}://"
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        raise ValueError(f"a rate-limit file is given as {SCHEME}:///path/to/file, not {uri!r}")
    return uri[len(prefix) :]


class SqliteStorage(Storage, MovingWindowSupport):
    """A limits storage for the fixed and moving window strategies, in one SQLite file."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        self.path = path_of(uri or "")
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._lock_file: int | None = None
        self._pid: int | None = None
        self._next_sweep = 0.0
        self._seen = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        # Opened now so that an unwritable folder stops the start, not every request after it.
        with self._lock:
            self._connect()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        # A connection is never carried across fork: each worker opens its own on first use.
        if self._connection is None or self._pid != os.getpid():
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                connection.execute(statement)
            self._lock_file = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the file's lock taken at its start.

        The workers queue for it on a lock file first: the kernel wakes the next one the moment
        the lock is let go, where SQLite's own busy handler would have it sleep a millisecond or
        more between tries, and under a region's scans most hits found the file busy."""
        with self._lock:
            connection = self._connect()
            assert self._lock_file is not None  # opened with the connection
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _reading(self) -> sqlite3.Connection:
        return self._connect()

    def _sweep(self, connection: sqlite3.Connection, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            connection.execute("DELETE FROM windows WHERE expires_at <= ?", (now,))
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))

    # The moving window: a key's row holds its hits' times, oldest first.

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with self._writing() as connection:
            now = time.time()
            self._sweep(connection, now)
            row = connection.execute("SELECT hits FROM windows WHERE key = ?", (key,)).fetchone()
            hits = _recent(row, now - expiry)
            if len(hits) + amount > limit:
                self._seen.window = (key, expiry, hits, time.monotonic())
                return False
            hits.extend([now] * amount)
            self._seen.window = (key, expiry, hits, time.monotonic())
            connection.execute(
                "INSERT INTO windows (key, expires_at, hits) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET expires_at = excluded.expires_at, hits = excluded.hits",
                (key, now + expiry, hits[-limit:].tobytes()),
            )
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The window's first hit and its count. Asked right after a hit of the same key in the
        same thread (as a rate limit's headers are), it is told from the hit's own read rather
        than read again: the headers may then miss another worker's hit of those microseconds,
        which the limit itself never does."""
        now = time.time()
        seen = getattr(self._seen, "window", None)
        if (
            seen is not None
            and seen[0] == key
            and seen[1] == expiry
            and time.monotonic() - seen[3] < SEEN_SECONDS
        ):
            hits = seen[2][bisect.bisect_right(seen[2], now - expiry) :]
        else:
            with self._lock:
                row = self._reading().execute("SELECT hits FROM windows WHERE key = ?", (key,)).fetchone()
            hits = _recent(row, now - expiry)
        return (hits[0], len(hits)) if hits else (now, 0)

    # The fixed window: one counter a key.

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._writing() as connection:
            now = time.time()
            return connection.execute(
                "INSERT INTO counters (key, expires_at, value) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = CASE WHEN expires_at <= ? THEN excluded.value"
                " ELSE value + excluded.value END, expires_at = CASE WHEN expires_at <= ?"
                " THEN excluded.expires_at ELSE expires_at END RETURNING value",
                (key, now + expiry, amount, now, now),
            ).fetchone()[0]

    def get(self, key: str) -> int:
        with self._lock:
            row = (
                self._reading()
                .execute("SELECT value FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
                .fetchone()
            )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._lock:
            row = (
                self._reading()
                .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, now))
                .fetchone()
            )
        return row[0] if row else now

    def clear(self, key: str) -> None:
        with self._writing() as connection:
            connection.execute("DELETE FROM windows WHERE key = ?", (key,))
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))

    def reset(self) -> int | None:
        with self._writing() as connection:
            removed = connection.execute("DELETE FROM windows").rowcount
            return removed + connection.execute("DELETE FROM counters").rowcount

    def check(self) -> bool:
        try:
            with self._lock:
                self._reading().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False


def _recent(row: tuple | None, since: float) -> array:
    """The hits of a stored row that are later than `since`."""
    hits = array("d")
    if row is not None:
        hits.frombytes(row[0])
    return hits[bisect.bisect_right(hits, since) :]
