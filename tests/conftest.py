"""Infrastructure fixtures only: settings, databases, sessions, the app, its client and callers.

Every test that touches the database runs once on SQLite and once on PostgreSQL. Each test runs
inside a transaction on one connection that is rolled back afterwards; the app's own commits
become savepoints of it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from marketplace import schema
from marketplace.app import create_app
from marketplace.config import Settings
from marketplace.db import make_engine
from tests import factories

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(database_url="sqlite://", secret_key="test-secret-key", testing=True,
                    public_base_url="http://shanhai.test", load_demo=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "shanhai.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        schema.upgrade(engine)
        yield engine
        engine.dispose()
        return
    yield from _postgres_engine()


def _postgres_engine() -> Iterator[sa.Engine]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shanhai_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        schema.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def connection(engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def app(settings, session_factory):
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def callers(session) -> factories.Callers:
    """One signed-in user per role, plus a second cooperative, with their auth headers."""
    return factories.make_callers(session)


@pytest.fixture
def api_schema(app):
    import schemathesis

    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)
