"""The `flask --app wsgi shanhai …` group and the platform's own commands: schema and backups.
The commands that need the domains are added to the group by `marketplace/cli.py`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.core import migrations as schema
from marketplace.core.backup import BackupError, backup_sqlite, restore_sqlite
from marketplace.core.http import runtime

shanhai = AppGroup("shanhai", help="Shanhai administration.")


@shanhai.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the latest migration."""
    schema.upgrade(runtime().engine)
    click.echo(f"database at revision {schema.head_revision()}")


@shanhai.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
def backup_command(destination: str) -> None:
    """Copy the SQLite database to DESTINATION while the app keeps running."""
    try:
        pages = backup_sqlite(runtime().engine, destination)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up {pages} pages to {destination}")


@shanhai.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.confirmation_option(prompt="Replace the whole database with this backup? Stop the app first.")
def restore_command(source: str) -> None:
    """Replace the SQLite database with the backup SOURCE (stop the app first)."""
    try:
        restore_sqlite(runtime().engine, source)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored from {source}")
