"""An order with lines of several cooperatives: each seller sees and ships only its own lines,
and only the buyer (by its reference, or signed in) or an operator cancels it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import stripe

from catalog.models import LotStatus
from tests import factories
from tests.orders.test_payments import buyer_pays, deliver, event, start_payment

BUYER_EMAIL = "guest.buyer@example.test"
SHIP = {"carrier": "顺丰", "tracking_number": "SF1234567890"}


@pytest.fixture
def stripe_client(localstripe):
    return stripe.StripeClient("sk_test_shanhai", base_addresses={"api": localstripe}, max_network_retries=0)


def shop_of(session, organisation, *, price_fen):
    product = factories.make_product(session, cooperative=organisation)
    sku = factories.make_sku(
        session, product=product, pack_size=Decimal(250), pack_unit="g", price_fen=price_fen
    )
    lot = factories.make_lot(session, product=product, status=LotStatus.ON_SALE, quantity=Decimal("2.500"))
    return sku, lot


@pytest.fixture
def mixed_order(client, session, callers):
    """A guest's order with one line of each cooperative."""
    mine, my_lot = shop_of(session, callers.cooperative.organisation, price_fen=12_800)
    theirs, their_lot = shop_of(session, callers.other_cooperative.organisation, price_fen=3_300)
    placed = client.post(
        "/api/v1/orders",
        json={
            "lines": [{"sku_id": mine.id, "quantity": 2}, {"sku_id": theirs.id, "quantity": 1}],
            "email": BUYER_EMAIL,
        },
    )
    assert placed.status_code == 201, placed.get_json()
    return {"order": placed.get_json(), "mine": (mine, my_lot), "theirs": (theirs, their_lot)}


def pay(client, stripe_client, reference):
    intent = buyer_pays(stripe_client, start_payment(client, reference)["payment_intent_id"])
    assert deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"] == "paid"


def test_a_seller_sees_only_its_own_lines_of_a_mixed_order_and_nothing_of_the_buyer(
    client, session, callers, mixed_order
):
    placed = mixed_order["order"]
    theirs, their_lot = mixed_order["theirs"]
    mine, my_lot = mixed_order["mine"]
    # It placed no order (the buyer's order, with its e-mail and reference, was listed here).
    assert client.get("/api/v1/orders", headers=callers.other_cooperative.headers).get_json() == []
    seen = [[]]
    for path in ("/api/v1/seller-orders", f"/api/v1/seller-orders/{placed['id']}"):
        response = client.get(path, headers=callers.other_cooperative.headers)
        assert response.status_code == 200, (path, response.get_json())
        seen.append(response.get_json())
    # It sells into one.
    assert [part["id"] for part in seen[1]] == [placed["id"]]
    part = seen[2]
    assert [(line["sku_id"], line["quantity"], line["total_fen"]) for line in part["lines"]] == [
        (theirs.id, 1, 3_300)
    ]
    assert [a["lot_id"] for a in part["lines"][0]["allocations"]] == [their_lot.id]
    everything = json.dumps(seen)
    assert placed["reference"] not in everything and BUYER_EMAIL not in everything
    # Neither the other seller's lines nor the order's total, which would give them away.
    assert all(line["sku_id"] != mine.id for p in seen[1] for line in p["lines"])
    assert not {"total_fen", "payments", "email", "reference"} & set(part)
    # A seller with no line in an order finds nothing there.
    stranger = factories.make_callers(session)
    assert (
        client.get(f"/api/v1/seller-orders/{placed['id']}", headers=stranger.cooperative.headers).status_code
        == 404
    )


def test_a_co_seller_cannot_cancel_a_mixed_order_its_buyer_and_an_operator_can(
    client, session, callers, mixed_order
):
    reference = mixed_order["order"]["reference"]
    for seller in (callers.other_cooperative, callers.cooperative):
        refused = client.post(f"/api/v1/orders/{reference}/cancel", json={}, headers=seller.headers)
        assert refused.status_code == 403
    assert client.get(f"/api/v1/orders/{reference}").get_json()["status"] == "pending_payment"
    # The guest, by its reference.
    cancelled = client.post(f"/api/v1/orders/{reference}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"

    sku, _ = mixed_order["mine"]
    for canceller in (callers.enterprise, callers.operator):
        own = client.post(
            "/api/v1/orders",
            headers=callers.enterprise.headers,
            json={"lines": [{"sku_id": sku.id, "quantity": 1}]},
        ).get_json()
        response = client.post(
            f"/api/v1/orders/{own['reference']}/cancel", json={}, headers=canceller.headers
        )
        assert response.status_code == 200, response.get_json()


def test_each_seller_ships_only_its_own_lines_and_the_order_is_fulfilled_when_all_have(
    client, session, callers, stripe_client, mixed_order
):
    placed = mixed_order["order"]
    reference, order_id = placed["reference"], placed["id"]
    pay(client, stripe_client, reference)
    mine, _ = mixed_order["mine"]
    theirs, _ = mixed_order["theirs"]

    first = client.post(
        f"/api/v1/seller-orders/{order_id}/shipment", json=SHIP, headers=callers.cooperative.headers
    )
    assert first.status_code == 200, first.get_json()
    assert [line["sku_id"] for line in first.get_json()["lines"]] == [mine.id]
    assert first.get_json()["status"] == "paid"
    again = client.post(
        f"/api/v1/seller-orders/{order_id}/shipment", json=SHIP, headers=callers.cooperative.headers
    )
    assert again.status_code == 409
    # Even holding the reference, a seller ships nothing but its own lines.
    by_reference = client.post(
        f"/api/v1/orders/{reference}/fulfilment", json=SHIP, headers=callers.cooperative.headers
    )
    assert by_reference.status_code == 409
    buyer_view = client.get(f"/api/v1/orders/{reference}").get_json()
    shipped = {line["sku_id"]: line["tracking_number"] for line in buyer_view["lines"]}
    assert shipped == {mine.id: "SF1234567890", theirs.id: None}
    assert buyer_view["status"] == "paid"

    second = client.post(
        f"/api/v1/seller-orders/{order_id}/shipment",
        json={"carrier": "EMS", "tracking_number": "EA000000001CN"},
        headers=callers.other_cooperative.headers,
    )
    assert second.status_code == 200 and second.get_json()["status"] == "fulfilled"
    buyer_view = client.get(f"/api/v1/orders/{reference}").get_json()
    assert {line["sku_id"]: line["carrier"] for line in buyer_view["lines"]} == {
        mine.id: "顺丰",
        theirs.id: "EMS",
    }
    assert buyer_view["status"] == "fulfilled"

    # Delivered: a mixed order is not one seller's to complete.
    for seller in (callers.cooperative, callers.other_cooperative):
        refused = client.post(f"/api/v1/seller-orders/{order_id}/completion", json={}, headers=seller.headers)
        assert refused.status_code == 403
    done = client.post(f"/api/v1/orders/{reference}/completion", json={}, headers=callers.operator.headers)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"


def test_a_seller_alone_in_its_order_ships_and_completes_it_without_its_reference(
    client, session, callers, stripe_client
):
    sku, _ = shop_of(session, callers.cooperative.organisation, price_fen=5_000)
    placed = client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": sku.id, "quantity": 1}], "email": BUYER_EMAIL}
    ).get_json()
    pay(client, stripe_client, placed["reference"])
    base = f"/api/v1/seller-orders/{placed['id']}"
    shipped = client.post(f"{base}/shipment", json=SHIP, headers=callers.cooperative.headers)
    assert shipped.get_json()["status"] == "fulfilled"
    done = client.post(f"{base}/completion", json={}, headers=callers.cooperative.headers)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert (
        client.post(f"{base}/shipment", json=SHIP, headers=callers.other_cooperative.headers).status_code
        == 404
    )
