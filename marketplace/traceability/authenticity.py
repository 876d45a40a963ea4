"""Authenticity: read a scanned Digital Link, check its signature, and judge it.

A scan is answered from one indexed read (`check` in a session, or a `CodeReader` on the
busiest path); counting it and flagging copies is `scans`'s.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPICursor, DBAPIModule
from sqlalchemy.orm import Session, sessionmaker

from marketplace.traceability import digital_link, signing
from marketplace.traceability.errors import MalformedDigitalLink
from marketplace.traceability.models import Code, CodeLevel
from marketplace.traceability.service import SIGNATURE_PARAMETER


@dataclass
class Verdict:
    status: str  # genuine | suspected_copy | not_genuine
    reason: str
    first_scanned_at: datetime | None = None
    scan_count: int = 0

    @property
    def genuine(self) -> bool:
        return self.status != "not_genuine"


@dataclass(frozen=True)
class CodeRef:
    id: int
    lot_id: int
    serial: str | None

    @property
    def level(self) -> CodeLevel:
        return CodeLevel.LOT if self.serial is None else CodeLevel.UNIT


@dataclass
class ScanResult:
    link: digital_link.DigitalLink
    verdict: Verdict
    code: CodeRef | None = None


def verify_uri(uri: str, *, base_url: str, keys) -> bool:
    """Is this whole URI a code we signed, on our own host? Any malformed URI is not."""
    try:
        link = digital_link.parse(uri)
    except MalformedDigitalLink:
        return False
    if not uri.startswith(base_url.rstrip("/") + "/01/"):
        return False
    return _signed(link, keys)


def _signed(link: digital_link.DigitalLink, keys) -> bool:
    return signing.verify(link.element_string(), link.parameters.get(SIGNATURE_PARAMETER), keys)


# Built once: the lookup runs on every scan and its construction would cost more than the query.
_FIND_CODE = sa.select(
    Code.id,
    Code.lot_id,
    Code.serial,
    Code.scan_count,
    Code.first_scanned_at,
    Code.suspected_copy_at,
    Code.suspected_copy_reason,
).where(Code.identifier == sa.bindparam("identifier"))


class CodeRow(NamedTuple):
    id: int
    lot_id: int
    serial: str | None
    scan_count: int
    first_scanned_at: datetime | None
    suspected_copy_at: datetime | None
    suspected_copy_reason: str | None


def find_code(session: Session, identifier: str) -> CodeRow | None:
    row = session.connection().execute(_FIND_CODE, {"identifier": identifier}).first()
    return None if row is None else CodeRow._make(row)


class CodeReader:
    """The scan's one read, on a driver connection of the thread's own, outside any transaction.

    The query is compiled, and its columns' converters looked up, once per process rather than
    once per scan: on the busiest path SQLAlchemy's per-statement work, the pool's checkout
    and its liveness ping (a second round trip to PostgreSQL) cost more than the indexed read
    itself. Each thread keeps one pooled connection checked out, in autocommit, and replaces
    it when the database drops it. Rows come out as `find_code`'s do. A session factory bound to
    one connection (the tests', an embedding caller's) is read through that connection instead.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        bind = session_factory.kw["bind"]
        self._engine = bind if isinstance(bind, sa.Engine) else None
        self._local = threading.local()
        if self._engine is None:
            return
        dialect = self._engine.dialect
        compiled = _FIND_CODE.compile(dialect=dialect)
        self._sql = str(compiled)
        self._order = compiled.positiontup if compiled.positional else None
        self._convert = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in _FIND_CODE.selected_columns
        ]

    def find(self, identifier: str) -> CodeRow | None:
        engine = self._engine
        if engine is None:
            with self._factory() as session:
                return find_code(session, identifier)
        named = {"identifier": identifier}
        params = named if self._order is None else tuple(named[name] for name in self._order)
        try:
            raw = self._read(engine, params)
        except engine.dialect.loaded_dbapi.Error as error:
            if not self._drop_if_disconnected(engine, error):
                raise
            raw = self._read(engine, params)  # once more, on a new connection
        if raw is None:
            return None
        return CodeRow._make(
            value if convert is None else convert(value)
            for convert, value in zip(self._convert, raw, strict=True)
        )

    def _read(self, engine: sa.Engine, params: dict[str, str] | tuple[str, ...]) -> Sequence[Any] | None:
        cursor = self._cursor(engine)
        cursor.execute(self._sql, params)
        # All of it (one row at most): a SQLite statement left unfinished would hold its read
        # snapshot open, and with it the WAL, until the next scan.
        rows = cursor.fetchall()
        return rows[0] if rows else None

    def _cursor(self, engine: sa.Engine) -> DBAPICursor:
        """The thread's cursor on its connection, kept from one read to the next."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # A forked process never uses its parent's connection.
            local.pid, local.connection, local.cursor = os.getpid(), None, None
        if local.connection is None:
            connection = engine.raw_connection()
            driver = connection.driver_connection
            if engine.dialect.name == "postgresql" and driver is not None:
                driver.autocommit = True  # no BEGIN/ROLLBACK per read
            local.connection, local.cursor = connection, connection.cursor()
        return local.cursor

    def _drop_if_disconnected(self, engine: sa.Engine, error: DBAPIModule.Error) -> bool:
        connection, self._local.connection = self._local.connection, None
        self._local.cursor = None
        if connection is None:
            return False
        disconnected = engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
        # Out of the pool for good: it is never handed back in autocommit to a session.
        connection.invalidate(error)
        return disconnected


def check(session: Session, *, path_and_query: str, keys) -> ScanResult:
    """Read a scanned path; the verdict says whether it is a code we minted and signed."""
    return judge(
        digital_link.parse_path(path_and_query),
        keys=keys,
        find=lambda identifier: find_code(session, identifier),
    )


def judge(link: digital_link.DigitalLink, *, keys, find: Callable[[str], CodeRow | None]) -> ScanResult:
    """The verdict on a parsed scan, given how to look up a code by its identifier."""
    row = find(link.identifier)
    if row is None:
        return ScanResult(link, Verdict("not_genuine", "no such code was ever issued"))
    if not _signed(link, keys):
        return ScanResult(link, Verdict("not_genuine", "the code's signature does not match"))
    status = "suspected_copy" if row.suspected_copy_at else "genuine"
    return ScanResult(
        link,
        Verdict(
            status, row.suspected_copy_reason or "signature verified", row.first_scanned_at, row.scan_count
        ),
        CodeRef(row.id, row.lot_id, row.serial),
    )
