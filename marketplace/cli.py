"""Flask commands: `flask --app wsgi shanhai …`; the platform's own are in marketplace.core.commands."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask

from marketplace.accounts import service as auth_service
from marketplace.core import db
from marketplace.core.audit import set_actor
from marketplace.core.commands import migrate_command, shanhai
from marketplace.core.errors import DomainError
from marketplace.core.http import runtime
from marketplace.parties.models import Role
from marketplace.region.demo.loader import load_demo
from marketplace.traceability import trace as trace_service
from orders import service as orders_service
from orders.stripe_gateway import PaymentProviderError


def register(app: Flask) -> None:
    app.cli.add_command(shanhai)


@shanhai.command("demo")
def demo_command() -> None:
    """Load the demo region from the seeds (does nothing when it is already loaded)."""
    with db.unit_of_work() as session:
        set_actor(session, method="CLI", path="shanhai demo")
        settings = runtime().settings
        loaded = load_demo(
            session, currency=settings.currency, signing_keys=settings.signing_keys, zone=settings.zone
        )
    click.echo("demo region loaded" if loaded else "demo region already present")


@shanhai.command("setup")
def setup_command() -> None:
    """Migrate, then load the demo region unless SHANHAI_LOAD_DEMO=0."""
    context = click.get_current_context()
    context.invoke(migrate_command)
    if runtime().settings.load_demo:
        context.invoke(demo_command)


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
    gateway = runtime().stripe
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
