"""On the embedded default (a SQLite file) concurrent writers wait their turn: 50 at once of
each kind — guest orders, payment starts, webhooks, refunds, idempotent retries — get no 5xx,
and stock and money come out exact. Real threads, real commits, one file; and once more against
gunicorn's worker processes as `make run` starts them (bench/sqlite_writers.py prints timings)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa
import stripe

from catalog.models import Lot
from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine, make_session_factory, unit_of_work
from marketplace.parties.models import OrganisationKind, Role
from orders.models import Order, OrderStatus, Payment, Refund
from tests.conftest import gunicorn_server
from tests.factories import headers_for, make_organisation, make_shop, make_user
from tests.orders.test_payments import buyer_pays, deliver, event
from tests.orders.test_refunds import StripeLink

WRITERS = 50


@pytest.fixture
def shop(tmp_path, settings):
    """A file-backed SQLite app (as `make run` has it), its engine, and one SKU of 40 packs."""
    engine = make_engine(f"sqlite:///{tmp_path / 'shanhai.sqlite3'}")
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        sku, lot = make_shop(session, packs=40, pack_grams=100)
        operator = make_user(
            session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
        )
        operator_headers = headers_for(session, operator)
    app = create_app(settings.with_overrides(write_rate_limit="100000 per minute"), session_factory=factory)
    yield app, engine, sku.id, lot.id, operator_headers
    engine.dispose()


def concurrently(task, count: int = WRITERS) -> list[int]:
    """Run `task(n)` in `count` threads at once; an exception escaping the app counts as a 500."""

    def guarded(n: int) -> int:
        try:
            return task(n)
        except sa.exc.OperationalError:
            return 500

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(guarded, range(count)))


def place(client, sku_id: int, n: int, **headers):
    """Guest n's order for one pack, from an address of its own."""
    return client.post(
        "/api/v1/orders",
        headers=headers,
        environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        json={"lines": [{"sku_id": sku_id, "quantity": 1}], "email": f"buyer{n}@example.test"},
    )


def stock(engine, lot_id: int) -> tuple[Decimal, Decimal]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(sa.select(Lot.stock_on_hand, Lot.reserved).where(Lot.id == lot_id)).one()
        )


def test_fifty_concurrent_guest_orders_wait_their_turn_and_never_oversell(shop):
    app, engine, sku_id, lot_id, _ = shop
    statuses = concurrently(lambda n: place(app.test_client(), sku_id, n).status_code)
    assert Counter(statuses) == {201: 40, 409: 10}
    assert stock(engine, lot_id) == (Decimal("4.0"), Decimal("4.0"))


def test_fifty_concurrent_payment_starts_and_webhooks_each_take_effect(shop):
    app, engine, sku_id, lot_id, _ = shop
    client = app.test_client()
    references = [place(client, sku_id, n).get_json()["reference"] for n in range(40)]

    def start(n: int) -> int:
        return (
            app.test_client()
            .post(f"/api/v1/orders/{references[n % 40]}/payments", json={"method": "card"})
            .status_code
        )

    assert Counter(concurrently(start)) == {201: 50}
    with engine.connect() as connection:
        intents = connection.execute(
            sa.select(Payment.external_id, Payment.amount_fen).order_by(Payment.id)
        ).all()
    assert len(intents) == 40  # one PaymentIntent per order, however often it is asked for

    # Ten of the fifty deliveries repeat an event: the repeat changes nothing.
    events = [
        event("payment_intent.succeeded", {"id": pi, "amount_received": amount}) for pi, amount in intents
    ]
    statuses = concurrently(lambda n: deliver(app.test_client(), events[n % 40]).status_code)
    assert Counter(statuses) == {200: 50}
    with engine.connect() as connection:
        paid = connection.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.status == OrderStatus.PAID)
        )
    assert paid == 40
    assert stock(engine, lot_id) == (Decimal(0), Decimal(0))


def test_fifty_concurrent_refunds_are_all_recorded_exactly(shop, localstripe):
    app, engine, sku_id, _lot_id, operator = shop
    client = app.test_client()
    placed = client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": sku_id, "quantity": 40}]}, headers=operator
    )
    reference = placed.get_json()["reference"]
    intent_id = client.post(f"/api/v1/orders/{reference}/payments", json={"method": "card"}).get_json()[
        "payment_intent_id"
    ]
    stripe_client = stripe.StripeClient("sk_test_shanhai", base_addresses={"api": localstripe})
    assert (
        deliver(client, event("payment_intent.succeeded", buyer_pays(stripe_client, intent_id))).status_code
        == 200
    )

    def refund(n: int) -> int:
        return (
            app.test_client()
            .post(
                f"/api/v1/orders/{reference}/refunds",
                headers={**operator, "Idempotency-Key": f"refund-{n}"},
                json={"amount_fen": 100, "reason": f"refund {n}"},
            )
            .status_code
        )

    assert Counter(concurrently(refund)) == {201: 50}
    with engine.connect() as connection:
        refunded = connection.scalar(sa.select(Order.refunded_fen).where(Order.reference == reference))
        recorded = connection.scalar(sa.select(sa.func.sum(Refund.amount_fen)))
    assert refunded == recorded == 50 * 100


def test_fifty_concurrent_retries_of_one_order_make_one_order(shop):
    app, engine, sku_id, lot_id, _ = shop
    key = str(uuid.uuid4())

    def retry(_n: int) -> tuple[int, str]:
        response = app.test_client().post(
            "/api/v1/orders",
            headers={"Idempotency-Key": key},
            json={"lines": [{"sku_id": sku_id, "quantity": 3}], "email": "buyer@example.test"},
        )
        return response.status_code, response.get_json().get("reference")

    answers = concurrently(retry)
    assert {status for status, _ in answers} == {201}
    assert len({reference for _, reference in answers}) == 1
    assert stock(engine, lot_id) == (Decimal("4.0"), Decimal("0.3"))


def test_fifty_writers_of_each_kind_against_make_run_on_a_sqlite_file(tmp_path, localstripe):
    from bench import sqlite_writers as bench

    shop = bench.seed(tmp_path)
    with gunicorn_server(bench.server_environment(shop, tmp_path, localstripe)) as base:
        phases = bench.run_phases(base, shop, localstripe, WRITERS)

    assert {name: dict(phase.statuses) for name, phase in phases.items()} == {
        "guest orders": {201: 40, 409: 10},
        "payment starts": {201: 50},
        "webhooks": {200: 50},
        "refunds": {201: 50},
        "idempotent retries": {201: 50},
    }
    assert len(phases["idempotent retries"].references) == 1
    assert bench.final_state(shop) == {
        "guest lot": (Decimal(0), Decimal(0)),
        "bulk lot": (Decimal("1.0"), Decimal("0.3")),
        "paid guest orders": 40,
        "refunded fen": 50 * 100,
    }


def test_a_writer_kept_waiting_past_the_busy_timeout_gets_a_503_and_readers_never_wait(tmp_path, settings):
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}", busy_timeout=0.3)
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        sku, _lot = make_shop(session, packs=5)
    app = create_app(settings, session_factory=factory)
    placed = place(app.test_client(), sku.id, 1).get_json()["reference"]
    holder = engine.raw_connection()
    try:
        holder.cursor().execute("BEGIN IMMEDIATE")  # another writer that does not let go
        waited = place(app.test_client(), sku.id, 2)
        read = app.test_client().get(f"/api/v1/orders/{placed}")
    finally:
        holder.rollback()
        holder.close()
    assert waited.status_code == 503
    assert "Retry-After" in waited.headers
    assert waited.get_json()["type"] == "urn:shanhai:problem:database-busy"
    assert read.status_code == 200
    assert place(app.test_client(), sku.id, 3).status_code == 201
    engine.dispose()


class HeldStripe(StripeLink):
    """The link to localstripe holding every PaymentIntent creation until released: Stripe
    taking its time, as it does over a real network."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.asked, self.release = threading.Event(), threading.Event()

    def handle(self, request) -> None:
        if request.command == "POST" and request.path.startswith("/v1/payment_intents"):
            self.asked.set()
            self.release.wait(timeout=30)
        super().handle(request)


def test_a_payment_start_holds_no_write_lock_while_stripe_answers(tmp_path, settings, localstripe):
    # A busy timeout far shorter than Stripe's answer: a lock held across the call would
    # turn the other buyer's order into a 503.
    engine = make_engine(f"sqlite:///{tmp_path / 'slow-stripe.sqlite3'}", busy_timeout=0.5)
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        sku, _lot = make_shop(session, packs=5)
    stripe_held = HeldStripe(localstripe)
    threading.Thread(target=stripe_held.server.serve_forever, daemon=True).start()
    app = create_app(settings.with_overrides(stripe_api_base=stripe_held.url), session_factory=factory)
    first = place(app.test_client(), sku.id, 1).get_json()["reference"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = pool.submit(
            lambda: app.test_client().post(f"/api/v1/orders/{first}/payments", json={"method": "card"})
        )
        assert stripe_held.asked.wait(timeout=30)
        second = place(app.test_client(), sku.id, 2)
        stripe_held.release.set()
        payment = started.result(timeout=30)
    stripe_held.server.shutdown()
    assert second.status_code == 201, second.get_json()
    assert payment.status_code == 201, payment.get_json()
    with engine.connect() as connection:
        recorded = connection.scalar(sa.select(sa.func.count()).select_from(Payment))
    assert recorded == 1
    engine.dispose()
