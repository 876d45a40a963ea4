"""Reserving stock without ever overselling; releasing it when an order lapses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.models import LotStatus
from marketplace.parties.models import OrganisationKind, Role
from orders import service
from orders.errors import OrderNotCancellable, OutOfStock
from orders.models import AllocationState, OrderStatus
from tests.factories import make_lot, make_organisation, make_shop, make_user

HOLD = timedelta(minutes=15)


def place(session, *lines, email="buyer@example.test"):
    return service.place_order(
        session,
        lines=[{"sku_id": sku.id, "quantity": n} for sku, n in lines],
        buyer=None,
        email=email,
        hold=HOLD,
        currency="CNY",
    )


def test_placing_an_order_reserves_stock_without_selling_it(session):
    sku, lot = make_shop(session, packs=10)
    order = place(session, (sku, 4))
    session.refresh(lot)
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.total_fen == 4 * sku.price_fen
    assert lot.reserved == Decimal("1.000") and lot.stock_on_hand == Decimal("2.5")
    assert [a.state for a in order.lines[0].allocations] == [AllocationState.HELD]


def test_an_order_that_cannot_be_filled_fails_whole_naming_every_short_line(session):
    tea, tea_lot = make_shop(session, packs=3)
    plums, _ = make_shop(session, packs=1)
    celery, _ = make_shop(session, packs=50)
    buyer = make_user(
        session, role=Role.ENTERPRISE, organisation=make_organisation(session, OrganisationKind.ENTERPRISE)
    )
    with pytest.raises(OutOfStock) as refused:
        service.place_order(
            session,
            lines=[{"sku_id": sku.id, "quantity": n} for sku, n in ((tea, 5), (plums, 2), (celery, 1))],
            buyer=buyer,
            email=None,
            hold=HOLD,
            currency="CNY",
        )
    short = refused.value.extensions["short"]
    assert {(s["sku_id"], s["requested"], s["available"]) for s in short} == {
        (tea.id, 5, 3),
        (plums.id, 2, 1),
    }


def test_stock_is_drawn_from_the_oldest_harvest_first_across_lots(session):
    sku, older = make_shop(session, packs=2)
    newer = make_lot(
        session,
        product=sku.product,
        status=LotStatus.ON_SALE,
        quantity=Decimal("5"),
        harvested_on=older.harvested_on + timedelta(days=9),
    )
    order = place(session, (sku, 3))
    allocations = {a.lot_id: a.packs for a in order.lines[0].allocations}
    assert allocations == {older.id: 2, newer.id: 1}


def test_lots_not_on_sale_are_never_drawn_from(session):
    sku, lot = make_shop(session, packs=5)
    lot.status = LotStatus.GRADED
    session.flush()
    with pytest.raises(OutOfStock):
        place(session, (sku, 1))


def test_cancelling_gives_the_stock_back(session):
    sku, lot = make_shop(session, packs=2)
    order = place(session, (sku, 2))
    service.cancel_order(session, reference=order.reference)
    session.refresh(lot)
    assert lot.reserved == 0 and order.status is OrderStatus.CANCELLED
    assert place(session, (sku, 2)).status is OrderStatus.PENDING_PAYMENT
    with pytest.raises(OrderNotCancellable):
        service.cancel_order(session, reference=order.reference)


def test_an_expired_reservation_is_released_before_the_next_order(session):
    sku, lot = make_shop(session, packs=1)
    first = place(session, (sku, 1))
    first.reserved_until = first.reserved_until - timedelta(hours=1)
    session.flush()
    second = place(session, (sku, 1))
    assert first.status is OrderStatus.CANCELLED
    assert "expired" in first.cancel_reason
    assert second.status is OrderStatus.PENDING_PAYMENT
