"""The database: engine, typed base, the per-request session and the transaction boundary."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any, Generic, TypeVar, cast

from flask import current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, Integer, MetaData, Numeric, Select, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from marketplace.core.errors import DomainError

logger = logging.getLogger("shanhai.db")
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Aware datetimes stored as UTC; SQLite keeps no zone, so one is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _ScaledInteger(Numeric):
    """SQLite's side of ExactDecimal: declared NUMERIC(p, s), values passed through untouched."""

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        return None


class ExactDecimal(TypeDecorator):
    """A decimal kept exact on both databases.

    PostgreSQL stores NUMERIC(p, s) as it is. SQLite has no decimal type: its NUMERIC keeps a
    fraction as a binary float (stock became 1.1000000000000014). There the value is stored as
    an integer count of the smallest unit, 10^-scale, which NUMERIC affinity keeps as an
    INTEGER, so SQL sums, `reserved + :quantity` and comparisons are integer arithmetic and
    exact. Compare and add in SQL only values of the same scale; multiply or divide by plain
    numbers (or in Python).
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_ScaledInteger(self.precision, self.scale))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def coerce_compared_value(self, op, value):
        # `quantity * 2` multiplies by two, not by two thousandths' worth of units.
        if op in (operators.mul, operators.truediv, operators.floordiv, operators.mod):
            return Integer() if isinstance(value, int) else Numeric()
        return self

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        # Rounded to the scale as PostgreSQL's NUMERIC(p, s) rounds: half away from zero.
        exact = exact.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        if dialect.name != "sqlite":
            return exact
        return int(exact.scaleb(self.scale))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name != "sqlite":
            return Decimal(value)
        # An integer count of units; a float only from an aggregate such as avg().
        units = value if isinstance(value, int) else Decimal(str(value)).to_integral_value(ROUND_HALF_UP)
        return Decimal(int(units)).scaleb(-self.scale)


Quantity = ExactDecimal(14, 3)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), Decimal: Quantity}


def utcnow() -> datetime:
    return datetime.now(UTC)


def insert_on_conflict(session: Session, table):
    """The dialect's INSERT, which offers ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# Seconds a SQLite writer waits for the write lock before its request gets a 503. Below
# gunicorn's worker timeout (30 s), so that a waiting worker answers instead of being killed.
SQLITE_BUSY_TIMEOUT = 15.0
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Set by unit_of_work: this thread's transactions are going to write.
_writing: ContextVar[bool] = ContextVar("shanhai_writing", default=False)


def make_engine(database_url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT, **kwargs) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": busy_timeout}, **kwargs)
        _configure_sqlite(engine, busy_timeout)
        return engine
    return create_engine(database_url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        # A writer takes the write lock up front, where the busy timeout makes it wait its turn.
        # A deferred transaction that has read and then writes is refused at once instead
        # ("database is locked": SQLite cannot let it wait without risking a deadlock).
        # Reads stay deferred, so that in WAL mode they never wait for anyone.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begins_writing() else "BEGIN")


def _begins_writing() -> bool:
    if _writing.get():
        return True
    return has_request_context() and request.method not in READ_METHODS


def is_busy(error: BaseException) -> bool:
    """Whether a database error means: another writer held the lock past the busy timeout."""
    message = str(getattr(error, "orig", error)).lower()
    return "database is locked" in message or "database is busy" in message


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session() -> Session:
    """The session of the current request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["shanhai"].session_factory()
        _stamp_request(g.db_session)
    return g.db_session


def _stamp_request(work_session: Session) -> None:
    if not has_request_context():
        return
    # Read by the audit trail: which request (and once signed in, whose) each write came from.
    if "db_session" in g and work_session is not g.db_session:
        work_session.info["audit_actor"] = dict(g.db_session.info.get("audit_actor", {}))
        return
    work_session.info["audit_actor"] = {
        "request_id": g.get("request_id"),
        "method": request.method,
        "path": request.path,
    }


def close_session(_exception: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


class AfterCommit(Generic[T]):
    """A callback waiting for its transaction's commit, and once it ran, what it returned or raised."""

    def __init__(self, callback: Callable[[], T], transaction: SessionTransaction | None) -> None:
        self.callback = callback
        self.transaction = transaction
        self.ran = False
        self.value: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        self.ran = True
        try:
            self.value = self.callback()
        except DomainError as error:
            # A refusal or an outage the caller answers with (Stripe refused, or did not answer).
            logger.warning("after-commit callback %r: %s", self.callback, error)
            self.error = error
        except Exception as error:
            # The transaction is committed whatever a callback does; the next ones still run.
            logger.exception("after-commit callback %r failed", self.callback)
            self.error = error

    def result(self) -> T:
        """What the callback returned; what it raised is raised again."""
        if not self.ran:
            raise RuntimeError("the callback has not run: its transaction did not commit")
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


_AFTER_COMMIT = "shanhai_after_commit"


def after_commit(work_session: Session, callback: Callable[[], T]) -> AfterCommit[T]:
    """Run `callback()` once the session's transaction commits; forget it if that rolls back.

    For what must leave the process only once the change is committed, a Stripe POST, a
    message, a webhook: the callback runs with no transaction open, and records what came back
    in a unit of work of its own. Callbacks run in the order they were queued.
    """
    if _AFTER_COMMIT not in work_session.info:
        work_session.info[_AFTER_COMMIT] = []
        event.listen(work_session, "after_soft_rollback", _forget_rolled_back)
    queued = AfterCommit(callback, work_session.get_nested_transaction() or work_session.get_transaction())
    work_session.info[_AFTER_COMMIT].append(queued)
    return queued


def _forget_rolled_back(work_session: Session, rolled_back: SessionTransaction) -> None:
    # A failed flush rolls back a subtransaction: what goes is its savepoint, or the whole.
    while rolled_back.parent is not None and not rolled_back.nested:
        rolled_back = rolled_back.parent

    def undone(transaction: SessionTransaction | None) -> bool:
        if transaction is None:  # queued before the transaction began: it belongs to the outermost
            return rolled_back.parent is None
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    queue = work_session.info.get(_AFTER_COMMIT, [])
    queue[:] = [queued for queued in queue if not undone(queued.transaction)]


def run_after_commit(work_session: Session) -> list[AfterCommit[Any]]:
    """Run the callbacks the committed transaction queued, each once; they are then forgotten."""
    queue = work_session.info.get(_AFTER_COMMIT, [])
    ran, queue[:] = list(queue), []
    for queued in ran:
        queued.run()
    return ran


def transactional(view: Callable) -> Callable:
    """Commit once when the view returns, roll back when it raises: the request's one transaction.
    What the transaction queued with `after_commit` runs after the commit."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
        except BaseException:
            if "db_session" in g:
                g.db_session.rollback()
            raise
        if "db_session" in g:
            g.db_session.commit()
            run_after_commit(g.db_session)
        return response

    return wrapper


def answer_after_commit(view: Callable) -> Callable:
    """For a view whose answer is what happens after its commit (a Stripe call that must follow it).

    Put it below `@blp.response`: when the view returns, the request's transaction commits and
    its `after_commit` callbacks run; the answer is then the view's result or, when that is an
    `AfterCommit`, what its callback returned. Should any callback have raised, that is the answer.
    What the view's decorators write afterwards (an idempotency record) is committed by
    `transactional` as usual.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        result = view(*args, **kwargs)
        request_session = session()
        request_session.commit()
        failed = [queued.error for queued in run_after_commit(request_session) if queued.error is not None]
        if failed:
            raise failed[0]
        return result.result() if isinstance(result, AfterCommit) else result

    return wrapper


@contextmanager
def unit_of_work(factory: sessionmaker[Session] | None = None, *, writes: bool = True) -> Iterator[Session]:
    """One transaction for a CLI command or a job: commit on success, roll back on error.

    On SQLite a unit that `writes` takes the write lock when it begins (see on_begin). What it
    queued with `after_commit` runs after the commit; in a request, its writes are the request's
    in the audit trail.
    """
    factory = factory or current_app.extensions["shanhai"].session_factory
    token = _writing.set(writes)
    try:
        with factory() as work_session:
            _stamp_request(work_session)
            try:
                yield work_session
                work_session.commit()
            except BaseException:
                work_session.rollback()
                raise
    finally:
        _writing.reset(token)
    run_after_commit(work_session)


SelectT = TypeVar("SelectT", bound=Select[Any])


def sorted_by(statement: SelectT, sort: str | None, columns: dict, default) -> SelectT:
    """Order a Select by a client's `sort` key ("name" or "-name"), ties broken by the default."""
    if not sort:
        return statement.order_by(default)
    column = columns[sort.lstrip("-")]
    return statement.order_by(column.desc() if sort.startswith("-") else column.asc(), default)


def rows_matched(result: Result) -> int:
    """How many rows an UPDATE or DELETE matched. Session.execute types its answer as a Result;
    for those statements it is a CursorResult, which carries the count."""
    return cast(CursorResult, result).rowcount
