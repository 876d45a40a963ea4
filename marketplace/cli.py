"""Flask commands: `flask --app wsgi shanhai …`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from marketplace.core import db
from marketplace.core import migrations as schema
from marketplace.core.audit import set_actor

shanhai = AppGroup("shanhai", help="Shanhai administration.")


def register(app: Flask) -> None:
    app.cli.add_command(shanhai)


def _runtime():
    return current_app.extensions["shanhai"]


@shanhai.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the latest migration."""
    schema.upgrade(_runtime().engine)
    click.echo(f"database at revision {schema.head_revision()}")


@shanhai.command("demo")
def demo_command() -> None:
    """Load the demo region from the seeds (does nothing when it is already loaded)."""
    from marketplace.region.demo.loader import load_demo

    with db.unit_of_work() as session:
        set_actor(session, method="CLI", path="shanhai demo")
        settings = _runtime().settings
        loaded = load_demo(
            session, currency=settings.currency, signing_keys=settings.signing_keys, zone=settings.zone
        )
    click.echo("demo region loaded" if loaded else "demo region already present")


@shanhai.command("setup")
def setup_command() -> None:
    """Migrate, then load the demo region unless SHANHAI_LOAD_DEMO=0."""
    context = click.get_current_context()
    context.invoke(migrate_command)
    if _runtime().settings.load_demo:
        context.invoke(demo_command)


@shanhai.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
def backup_command(destination: str) -> None:
    """Copy the SQLite database to DESTINATION while the app keeps running."""
    from marketplace.core.backup import BackupError, backup_sqlite

    try:
        pages = backup_sqlite(_runtime().engine, destination)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up {pages} pages to {destination}")


@shanhai.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.confirmation_option(prompt="Replace the whole database with this backup? Stop the app first.")
def restore_command(source: str) -> None:
    """Replace the SQLite database with the backup SOURCE (stop the app first)."""
    from marketplace.core.backup import BackupError, restore_sqlite

    try:
        restore_sqlite(_runtime().engine, source)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored from {source}")


@shanhai.command("create-user")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["operator", "cooperative", "enterprise", "inspector"])
)
@click.option("--organisation-id", required=True, type=int)
@click.option("--name", "display_name", required=True)
@click.password_option()
def create_user_command(
    email: str, role: str, organisation_id: int, display_name: str, password: str
) -> None:
    """Create an account."""
    from marketplace.accounts import service as auth_service
    from marketplace.accounts.models import Role
    from marketplace.core.errors import DomainError

    try:
        with db.unit_of_work() as session:
            set_actor(session, method="CLI", path="shanhai create-user")
            user = auth_service.create_user(
                session,
                email=email,
                password=password,
                display_name=display_name,
                role=Role(role),
                organisation_id=organisation_id,
            )
            click.echo(f"user {user.id} <{user.email}> created")
    except DomainError as error:
        raise click.ClickException(error.detail) from error


@shanhai.command("verify-trace")
@click.option("--lot-id", type=int, default=None, help="verify one lot's chain only")
def verify_trace_command(lot_id: int | None) -> None:
    """Recompute the trace hash chains; exit 1 naming the first broken link."""
    from marketplace.traceability import trace as trace_service

    # Only reads: it must not hold the write lock while it walks every chain.
    with db.unit_of_work(writes=False) as session:
        report = trace_service.verify_chain(session, lot_id=lot_id)
    broken = report.first_broken
    if broken is None:
        click.echo(f"trace intact: {report.events_checked} events in {report.lots_checked} lots")
        return
    click.echo(
        f"trace broken at event {broken.event_id} (lot {broken.lot_id}, sequence "
        f"{broken.sequence}): {broken.reason}",
        err=True,
    )
    raise SystemExit(1)


@shanhai.command("reconcile-refunds")
@click.option(
    "--min-age",
    type=int,
    default=60,
    show_default=True,
    help="seconds a refund has been pending before it is sent again (younger ones may "
    "still be waiting for Stripe in a request)",
)
def reconcile_refunds_command(min_age: int) -> None:
    """Send refunds still pending again; each is found in Stripe by its key before any new one."""
    from datetime import timedelta

    from orders import service as orders_service
    from orders.stripe_gateway import PaymentProviderError

    gateway = _runtime().stripe
    with db.unit_of_work() as session:
        calls = orders_service.pending_refunds(session, older_than=timedelta(seconds=min_age))
    still_pending = 0
    for call in calls:
        try:
            with db.unit_of_work() as session:
                refund = orders_service.send_refund(session, call=call, gateway=gateway)
                status = refund.status.value
        except PaymentProviderError as error:
            still_pending += 1
            status = f"still pending: {error.detail}"
        click.echo(f"{call.key} ({call.amount_fen} fen): {status}")
    click.echo(f"{len(calls)} pending refunds sent again, {still_pending} still pending")
    if still_pending:
        raise SystemExit(1)
