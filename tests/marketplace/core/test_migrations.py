"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from marketplace.core import migrations as schema
from marketplace.core.db import Base


def test_the_migrations_bring_a_database_to_the_head_revision(engine):
    with engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()


def test_the_models_and_the_migrations_agree(engine):
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert differences == []


def test_upgrading_an_empty_sqlite_file_builds_every_table(tmp_path):
    from marketplace.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    schema.upgrade(engine)
    with engine.connect() as connection:
        tables = set(connection.dialect.get_table_names(connection))
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
