"""50 buyers race for the last 10 units on PostgreSQL, with real commits: nothing is oversold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import sqlalchemy as sa
import stripe

from catalog.models import Lot
from marketplace.app import create_app
from marketplace.db import make_session_factory, unit_of_work
from orders.models import Order, OrderStatus
from tests.conftest import postgres_database
from tests.factories import make_shop
from tests.orders.test_payments import buyer_pays, deliver, event

BUYERS = 50
UNITS = 10


def test_fifty_buyers_racing_for_ten_units_get_exactly_ten_paid_orders(settings, localstripe):
    with postgres_database() as engine:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            sku, lot = make_shop(session, packs=UNITS)
            sku_id, lot_id = sku.id, lot.id
        app = create_app(settings.with_overrides(write_rate_limit="1000 per minute"),
                         session_factory=factory)
        stripe_client = stripe.StripeClient("sk_test_shanhai",
                                            base_addresses={"api": localstripe})

        def buyer(n: int):
            client = app.test_client()
            placed = client.post("/api/v1/orders", headers={"Authorization": ""}, json={
                "lines": [{"sku_id": sku_id, "quantity": 1}], "email": f"buyer{n}@example.test"})
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
            paid = connection.scalar(sa.select(sa.func.count()).select_from(Order)
                                     .where(Order.status == OrderStatus.PAID))
            stock, reserved = connection.execute(sa.select(Lot.stock_on_hand, Lot.reserved)
                                                 .where(Lot.id == lot_id)).one()
        assert paid == UNITS
        assert stock == Decimal(0) and reserved == Decimal(0)
