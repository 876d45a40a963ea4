"""Catalog's signals carry rules that must run (the brand gate, the trace chain): with no
receiver connected, the change is refused rather than made without them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from catalog import licences, signals
from catalog import service as catalog_service
from catalog.models import LotStatus
from marketplace.core.signals import NoReceiver
from tests.factories import make_callers, make_licence, make_lot, make_organisation, make_product


def test_a_lot_does_not_go_on_sale_when_no_brand_gate_hears_it(session, disconnect):
    operator = make_callers(session).operator.user
    lot = make_lot(
        session,
        product=make_product(session, cooperative=make_organisation(session)),
        status=LotStatus.GRADED,
    )
    disconnect(signals.lot_going_on_sale)

    with pytest.raises(NoReceiver):
        catalog_service.change_lot_status(session, actor=operator, lot_id=lot.id, status=LotStatus.ON_SALE)


def test_a_licence_is_not_revoked_when_no_brand_gate_withdraws_its_lots(session, disconnect):
    operator = make_callers(session).operator.user
    product = make_product(session, cooperative=make_organisation(session))
    licence = make_licence(session, licensee=product.cooperative, brand=product.brand)
    disconnect(signals.lots_may_be_unsaleable)

    with pytest.raises(NoReceiver):
        licences.revoke_licence(session, actor=operator, licence_id=licence.id, reason="no longer a member")


def test_a_lot_is_not_registered_when_no_trace_chain_records_it(session, disconnect):
    operator = make_callers(session).operator.user
    product = make_product(session, cooperative=make_organisation(session))
    disconnect(signals.lot_commissioned)

    with pytest.raises(NoReceiver):
        catalog_service.register_lot(
            session,
            actor=operator,
            product_id=product.id,
            lot_code="UNTRACED",
            harvested_on=date(2026, 4, 1),
            quantity=Decimal("10"),
            unit="kg",
        )


def test_a_lot_does_not_move_when_no_trace_chain_records_it(session, disconnect):
    lot = make_lot(session, product=make_product(session, cooperative=make_organisation(session)))
    disconnect(signals.lot_status_changed)

    with pytest.raises(NoReceiver):
        catalog_service.transition_lot(lot, LotStatus.INSPECTED)
