"""Alembic environment: the target metadata is every domain's models, imported explicitly."""

from alembic import context

import catalog.models  # noqa: F401
import marketplace.accounts.models  # noqa: F401
import marketplace.core.audit  # noqa: F401
import marketplace.core.idempotency  # noqa: F401
import marketplace.parties.models  # noqa: F401
import marketplace.traceability.models  # noqa: F401  # noqa: F401
import orders.contracts.models  # noqa: F401
import orders.ledger.models  # noqa: F401
import orders.models  # noqa: F401
import quality.models  # noqa: F401
from marketplace.core.config import Settings
from marketplace.core.db import Base, make_engine

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(Settings.from_env().database_url)
    with engine.connect() as connection:
        run_migrations(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=Settings.from_env().database_url, target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
