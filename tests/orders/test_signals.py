"""What the order package tells contracts must be heard: with no receiver, it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core.signals import NoReceiver
from orders import service, signals
from tests.factories import make_shop


def _order(session):
    sku, _ = make_shop(session)
    return service.place_order(
        session,
        lines=[{"sku_id": sku.id, "quantity": 1}],
        buyer=None,
        email="guest@example.com",
        hold=timedelta(minutes=15),
        currency="CNY",
    )


def test_an_order_is_not_cancelled_when_no_contract_can_take_back_its_call_off(session, disconnect):
    order = _order(session)
    disconnect(signals.order_cancelled)

    with pytest.raises(NoReceiver):
        service.cancel_order(session, reference=order.reference)


def test_an_order_is_not_paid_when_no_one_says_which_contract_splits_its_sales(session, disconnect):
    order = _order(session)
    disconnect(signals.sales_contract)

    with pytest.raises(NoReceiver):
        service.mark_paid(session, order)
