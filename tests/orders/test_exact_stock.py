"""Stock is exact on both databases: tenths of a kilogram held, paid, expired and cancelled many
times over add up to exactly what the lot holds, and the last pack still sells."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

from catalog.models import Lot, LotStatus
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from orders import service
from orders.errors import OutOfStock
from orders.models import Payment, PaymentStatus
from orders.stripe_gateway import StripeGateway, StripeSettings
from tests.factories import make_shop

HOLD = timedelta(minutes=15)
GATEWAY = StripeGateway(StripeSettings(secret_key=None, webhook_secrets=()))


def place(session, sku, packs, buyer=None):
    return service.place_order(
        session,
        lines=[{"sku_id": sku.id, "quantity": packs}],
        buyer=buyer,
        email="buyer@example.test",
        hold=HOLD,
        currency="CNY",
    )


def pay(session, order) -> str:
    session.add(
        Payment(
            order=order,
            provider="stripe",
            external_id=f"pi_{order.reference}",
            amount_fen=order.total_fen,
            status=PaymentStatus.REQUIRES_PAYMENT,
        )
    )
    session.flush()
    return service.handle_stripe_event(
        session,
        gateway=GATEWAY,
        event={
            "id": f"evt_{order.reference}",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": f"pi_{order.reference}", "amount_received": order.total_fen}},
        },
    )


def test_the_last_pack_sells_after_a_long_run_of_holds_payments_and_expiries(session):
    # 100 g packs from a lot kept in kg: 0.1 kg has no exact binary fraction, so floats drift.
    sku, lot = make_shop(session, packs=31, pack_grams=100)
    for _ in range(15):
        place(session, sku, 2)
        service.expire_reservations(session, now=utcnow() + HOLD + timedelta(seconds=1))
        service.cancel_order(session, reference=place(session, sku, 2).reference)
        assert pay(session, place(session, sku, 2)) == "paid"
    session.refresh(lot)
    assert (lot.stock_on_hand, lot.reserved) == (Decimal("0.1"), Decimal(0))

    last = place(session, sku, 1)
    assert pay(session, last) == "paid"

    session.refresh(lot)
    assert (lot.stock_on_hand, lot.reserved, lot.status) == (Decimal(0), Decimal(0), LotStatus.SOLD_OUT)
    with pytest.raises(OutOfStock):
        place(session, sku, 1)


def test_quantities_are_stored_exactly(session):
    sku, lot = make_shop(session, packs=11, pack_grams=100)
    for _ in range(3):
        place(session, sku, 3)
    session.expire_all()
    stored = session.execute(
        sa.select(Lot.stock_on_hand - Lot.reserved, Lot.reserved).where(Lot.id == lot.id)
    ).one()
    assert stored == (Decimal("0.2"), Decimal("0.9"))
    assert session.scalar(
        sa.select(Lot.id).where(Lot.id == lot.id, Lot.stock_on_hand - Lot.reserved == Decimal("0.2"))
    )


def test_upgrading_turns_stored_floats_into_exact_quantities(tmp_path, settings):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        _sku, lot = make_shop(session, packs=20, pack_grams=100)
        lot_id = lot.id
    with engine.begin() as connection:
        command.downgrade(schema.alembic_config(connection), "0008")
    with engine.begin() as connection:
        # What revision 0008 left after a day of orders: binary floats that drifted.
        connection.exec_driver_sql(
            "UPDATE lots SET stock_on_hand = 1.1000000000000014, "
            f"reserved = 0.900000000000001 WHERE id = {lot_id}"
        )
    schema.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(Lot.quantity, Lot.stock_on_hand, Lot.reserved).where(Lot.id == lot_id)
        ).one()
        stored = connection.exec_driver_sql(
            f"SELECT typeof(stock_on_hand), stock_on_hand FROM lots WHERE id = {lot_id}"
        ).one()
    engine.dispose()
    assert row == (Decimal("2.000"), Decimal("1.100"), Decimal("0.900"))
    assert tuple(stored) == ("integer", 1100)
