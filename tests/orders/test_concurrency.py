"""Races on PostgreSQL with real commits: 50 buyers for the last 10 units never oversell, and
payments across the same villages never deadlock."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
import stripe

from catalog.models import Lot
from marketplace.app import create_app
from marketplace.core.db import make_session_factory, unit_of_work
from orders import service
from orders.ledger import service as ledger
from orders.models import Order, OrderStatus, Payment, PaymentStatus
from orders.stripe_gateway import StripeGateway, StripeSettings
from tests.conftest import postgres_database
from tests.factories import make_shop, make_village
from tests.orders.test_payments import buyer_pays, deliver, event

BUYERS = 50
UNITS = 10


def test_fifty_buyers_racing_for_ten_units_get_exactly_ten_paid_orders(settings, localstripe):
    with postgres_database() as engine:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            sku, lot = make_shop(session, packs=UNITS)
            sku_id, lot_id = sku.id, lot.id
        app = create_app(settings.with_overrides(write_rate_limit="1000 per minute"), session_factory=factory)
        stripe_client = stripe.StripeClient("sk_test_shanhai", base_addresses={"api": localstripe})

        def buyer(n: int):
            client = app.test_client()
            placed = client.post(
                "/api/v1/orders",
                headers={"Authorization": ""},
                json={"lines": [{"sku_id": sku_id, "quantity": 1}], "email": f"buyer{n}@example.test"},
            )
            if placed.status_code != 201:
                return placed.status_code
            reference = placed.get_json()["reference"]
            paying = client.post(f"/api/v1/orders/{reference}/payments", json={"method": "card"})
            if paying.status_code != 201:
                return paying.status_code
            intent = buyer_pays(stripe_client, paying.get_json()["payment_intent_id"])
            return deliver(client, event("payment_intent.succeeded", intent)).status_code

        with ThreadPoolExecutor(max_workers=BUYERS) as pool:
            statuses = list(pool.map(buyer, range(BUYERS)))

        assert all(status < 500 for status in statuses), statuses
        assert sorted(statuses) == [200] * UNITS + [409] * (BUYERS - UNITS)
        with engine.connect() as connection:
            paid = connection.scalar(
                sa.select(sa.func.count()).select_from(Order).where(Order.status == OrderStatus.PAID)
            )
            stock, reserved = connection.execute(
                sa.select(Lot.stock_on_hand, Lot.reserved).where(Lot.id == lot_id)
            ).one()
        assert paid == UNITS
        assert stock == Decimal(0) and reserved == Decimal(0)


def test_two_payments_across_two_villages_in_opposite_orders_do_not_deadlock(monkeypatch):
    with postgres_database() as engine:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            east, west = make_village(session), make_village(session)
            # Lines come in SKU order: one order's lines are east then west, the other's west then east.
            skus = [make_shop(session, village=village)[0].id for village in (east, west, west, east)]
            intents = []
            for pair in (skus[:2], skus[2:]):
                order = service.place_order(
                    session,
                    lines=[{"sku_id": sku_id, "quantity": 1} for sku_id in pair],
                    buyer=None,
                    email="buyer@example.test",
                    hold=timedelta(minutes=15),
                    currency="CNY",
                )
                session.add(
                    Payment(
                        order=order,
                        provider="stripe",
                        external_id=f"pi_{order.reference}",
                        amount_fen=order.total_fen,
                        status=PaymentStatus.REQUIRES_PAYMENT,
                    )
                )
                intents.append({"id": f"pi_{order.reference}", "amount_received": order.total_fen})
        gateway = StripeGateway(StripeSettings(secret_key=None, webhook_secrets=()))

        # Each payment posts one village's lines, then waits up to a second for the other to have
        # posted too: in opposite village orders each would then wait for the other's day row.
        post_sale, both_posted, posted = ledger.post_sale, threading.Barrier(2), threading.local()

        def post_then_wait_for_the_other(session, **sale):
            posting = post_sale(session, **sale)
            if not getattr(posted, "once", False):
                posted.once = True
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_posted.wait(timeout=1)
            return posting

        monkeypatch.setattr(ledger, "post_sale", post_then_wait_for_the_other)

        def pay(intent: dict) -> str:
            try:
                with unit_of_work(factory) as session:
                    return service.handle_stripe_event(
                        session,
                        gateway=gateway,
                        event={
                            "id": f"evt_{intent['id']}",
                            "type": "payment_intent.succeeded",
                            "data": {"object": intent},
                        },
                    )
            except sa.exc.OperationalError as error:
                return str(error.orig)

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(pay, intents))

        assert outcomes == ["paid", "paid"]
        with engine.connect() as connection:
            paid = connection.scalar(
                sa.select(sa.func.count()).select_from(Order).where(Order.status == OrderStatus.PAID)
            )
        assert paid == 2
