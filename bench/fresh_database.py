"""An empty, migrated database for a benchmark: the benches' shared set-up."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.core import migrations as schema
from marketplace.core.db import make_engine


def migrated_engine(database_url: str) -> sa.Engine:
    """An engine on `database_url` at the latest migration, with nothing in it.

    A PostgreSQL database given by the caller is emptied first (its public schema dropped);
    SQLite benches pass a new file of their own.
    """
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    schema.upgrade(engine)
    return engine
