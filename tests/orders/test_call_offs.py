"""Enterprise call-offs: orders against an active contract, paid by invoice or by card."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from catalog.models import LotStatus
from orders.contracts.models import Contract
from orders.ledger.models import LedgerEntry, Party
from orders.ledger.service import create_rule
from tests.factories import (
    CELERY_GRADES,
    graded_definition,
    make_category,
    make_contract,
    make_graded_lot,
    make_product,
    make_shop,
    make_sku,
    make_standard,
)
from tests.orders.test_payments import (
    buyer_pays,
    deliver,
    event,
    ledger_for,
    start_payment,
    stripe_client,  # noqa: F401  (a fixture)
)


def contracted_stock(session, callers, *, quantity="1000"):
    """A signed contract at 300 fen/kg for 一级, and 100 kg of 一级 on sale in 500 g packs."""
    category = make_category(session)
    standard = make_standard(session, category=category, definition=graded_definition(*CELERY_GRADES))
    product = make_product(session, cooperative=callers.cooperative.organisation, category=category)
    contract = make_contract(
        session,
        enterprise_user=callers.enterprise.user,
        grower_user=callers.cooperative.user,
        product=product,
        quantity=Decimal(quantity),
        windows=[
            {"starts_on": date(2026, 1, 1), "ends_on": date(2026, 12, 31), "quantity": Decimal(quantity)}
        ],
    )
    create_rule(
        session,
        name="contract split",
        contract_id=contract.id,
        shares=[
            {"party": Party.FARMERS, "basis_points": 6000},
            {"party": Party.COOPERATIVE, "basis_points": 4000},
        ],
    )
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("100"), standard=standard)
    lot.status = LotStatus.ON_SALE
    sku = make_sku(session, product=product, pack_size=Decimal("500"), pack_unit="g", price_fen=99_999)
    session.flush()
    return contract, lot, sku


def call_off(client, callers, contract, sku, packs, payment):
    return client.post(
        f"/api/v1/contracts/{contract.id}/call-offs",
        headers=callers.enterprise.headers,
        json={"lines": [{"sku_id": sku.id, "quantity": packs}], "payment": payment},
    )


def test_an_invoiced_call_off_is_priced_by_the_contract_and_paid_by_bank_transfer(client, session, callers):
    contract, lot, sku = contracted_stock(session, callers)

    placed = call_off(client, callers, contract, sku, 10, "invoice")
    reference = placed.get_json()["reference"]
    paid = client.post(
        f"/api/v1/orders/{reference}/bank-transfer",
        headers=callers.operator.headers,
        json={"bank_reference": "CCB-99120"},
    )

    assert placed.status_code == 201, placed.get_json()
    # 0.5 kg × 300 fen = 150 fen a pack, not the SKU's shelf price.
    assert placed.get_json()["total_fen"] == 1_500
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"
    session.expire_all()
    assert session.get(Contract, contract.id).accepted_quantity == Decimal("5.000")
    assert lot.stock_on_hand == Decimal("95.000") and lot.reserved == 0
    entries = ledger_for(session, reference)
    assert sorted(e.credit_fen for e in entries if e.credit_fen) == [600, 900]
    assert sum(e.debit_fen for e in entries) == 1_500
    again = client.post(
        f"/api/v1/orders/{reference}/bank-transfer",
        headers=callers.operator.headers,
        json={"bank_reference": "CCB-99121"},
    )
    assert again.status_code == 409
    second = call_off(client, callers, contract, sku, 1, "invoice").get_json()["reference"]
    reused = client.post(
        f"/api/v1/orders/{second}/bank-transfer",
        headers=callers.operator.headers,
        json={"bank_reference": "CCB-99120"},
    )
    assert reused.status_code == 409
    assert reused.get_json()["type"] == "urn:shanhai:problem:bank-reference-used"


def test_a_card_call_off_is_paid_through_the_ordinary_stripe_flow(client, session, callers, stripe_client):  # noqa: F811
    contract, lot, sku = contracted_stock(session, callers)
    reference = call_off(client, callers, contract, sku, 4, "card").get_json()["reference"]

    intent = buyer_pays(
        stripe_client, start_payment(client, reference, **callers.enterprise.headers)["payment_intent_id"]
    )
    delivered = deliver(client, event("payment_intent.succeeded", intent))

    assert delivered.status_code == 200
    assert client.get(f"/api/v1/orders/{reference}").get_json()["status"] == "paid"
    assert sum(e.credit_fen for e in ledger_for(session, reference)) == 600
    # Card call-offs are not for the bank-transfer endpoint.
    assert (
        client.post(
            f"/api/v1/orders/{reference}/bank-transfer",
            headers=callers.operator.headers,
            json={"bank_reference": "X-1"},
        ).status_code
        == 409
    )


def test_a_call_off_beyond_the_contract_is_refused_and_a_cancelled_one_gives_back(client, session, callers):
    contract, lot, sku = contracted_stock(session, callers, quantity="4")

    too_much = call_off(client, callers, contract, sku, 9, "invoice")
    fits = call_off(client, callers, contract, sku, 8, "invoice")
    cancelled = client.post(f"/api/v1/orders/{fits.get_json()['reference']}/cancel", json={})

    assert too_much.status_code == 409
    assert too_much.get_json()["type"] == "urn:shanhai:problem:over-contract-quantity"
    assert fits.status_code == 201 and cancelled.status_code == 200
    session.expire_all()
    assert session.get(Contract, contract.id).accepted_quantity == Decimal("0.000")
    assert lot.reserved == 0


def test_another_products_sku_and_another_enterprise_are_refused(client, session, callers):
    contract, lot, sku = contracted_stock(session, callers)
    other_sku, _ = make_shop(session)

    assert call_off(client, callers, contract, other_sku, 1, "invoice").status_code == 422
    stranger = client.post(
        f"/api/v1/contracts/{contract.id}/call-offs",
        headers=callers.cooperative.headers,
        json={"lines": [{"sku_id": sku.id, "quantity": 1}], "payment": "invoice"},
    )
    assert stranger.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0
