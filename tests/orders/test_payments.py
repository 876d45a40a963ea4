"""Card payments end to end: the real stripe SDK against localstripe, webhooks signed as Stripe signs.

What localstripe does not do (idempotency keys, refund limits) is enforced and tested on our side.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
import stripe

from catalog.models import BrandLicence
from marketplace.app import create_app
from orders.ledger.models import LedgerEntry
from orders.models import Order
from tests.conftest import METRICS_TOKEN, STRIPE_WEBHOOK_SECRET
from tests.factories import make_shop, make_village, stripe_signature

WEBHOOK = "/api/v1/payments/stripe/webhook"


@pytest.fixture
def stripe_client(localstripe):
    return stripe.StripeClient("sk_test_shanhai", base_addresses={"api": localstripe}, max_network_retries=0)


def order(client, sku, quantity=2, **headers):
    response = client.post(
        "/api/v1/orders",
        headers=headers,
        json={"lines": [{"sku_id": sku.id, "quantity": quantity}], "email": "buyer@example.test"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def start_payment(client, reference, **headers):
    response = client.post(f"/api/v1/orders/{reference}/payments", json={"method": "card"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def buyer_pays(stripe_client, payment_intent_id, card="4242424242424242"):
    """What Stripe.js does in the buyer's browser: attach a card and confirm."""
    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    stripe_client.v1.payment_intents.update(payment_intent_id, params={"payment_method": method.id})
    stripe_client.v1.payment_intents.confirm(payment_intent_id)
    return stripe_client.v1.payment_intents.retrieve(payment_intent_id).to_dict()


def event(kind, obj, event_id=None):
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def deliver(client, payload: dict, secret=STRIPE_WEBHOOK_SECRET, at=None):
    body = json.dumps(payload).encode()
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body, secret, at=at)},
    )


def ledger_for(session, reference):
    session.expire_all()
    return session.scalars(sa.select(LedgerEntry).where(LedgerEntry.source_id == reference)).all()


def test_buying_two_tins_end_to_end(client, session, stripe_client):
    sku, lot = make_shop(session, packs=10, price_fen=128_000)
    placed = order(client, sku, 2)
    assert placed["total_fen"] == 256_000
    payment = start_payment(client, placed["reference"])
    assert payment["client_secret"].startswith(payment["payment_intent_id"])
    intent = buyer_pays(stripe_client, payment["payment_intent_id"])
    assert intent["status"] == "succeeded"

    # The buyer never comes back: the webhook alone completes the order.
    response = deliver(client, event("payment_intent.succeeded", intent))
    assert response.status_code == 200 and response.get_json()["outcome"] == "paid"

    paid = client.get(f"/api/v1/orders/{placed['reference']}").get_json()
    assert paid["status"] == "paid" and paid["captured_fen"] == 256_000
    session.refresh(lot)
    assert lot.stock_on_hand == Decimal("2.000") and lot.reserved == 0
    entries = ledger_for(session, placed["reference"])
    assert sum(e.debit_fen for e in entries) == sum(e.credit_fen for e in entries) == 256_000


def test_a_payment_posts_its_ledger_lines_village_by_village(client, session, stripe_client):
    first, second = make_village(session), make_village(session)
    # Lines come in SKU order: this order's first line grows in the second village.
    from_second, _ = make_shop(session, village=second, price_fen=3_000)
    from_first, _ = make_shop(session, village=first, price_fen=5_000)
    placed = client.post(
        "/api/v1/orders",
        json={
            "lines": [{"sku_id": from_first.id, "quantity": 1}, {"sku_id": from_second.id, "quantity": 1}],
            "email": "buyer@example.test",
        },
    ).get_json()
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    assert deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"] == "paid"

    # Concurrent payments lock each village's ledger day as its lines go in: always in one order.
    credits = [
        (e.village_id, e.credit_fen)
        for e in sorted(ledger_for(session, placed["reference"]), key=lambda e: e.id)
        if e.credit_fen
    ]
    assert credits == [(first.id, 5_000), (second.id, 3_000)]


def test_the_same_webhook_ten_times_changes_the_order_and_the_ledger_once(client, session, stripe_client):
    sku, lot = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    succeeded = event("payment_intent.succeeded", intent)
    outcomes = [deliver(client, succeeded).get_json()["outcome"] for _ in range(10)]
    assert outcomes == ["paid"] + ["duplicate"] * 9
    assert len(ledger_for(session, placed["reference"])) == 2
    session.refresh(lot)
    assert lot.stock_on_hand == Decimal("2.250")


def test_events_out_of_order_do_not_undo_a_payment(client, session, stripe_client):
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    deliver(client, event("payment_intent.succeeded", intent))
    late_failure = deliver(
        client, event("payment_intent.payment_failed", {**intent, "status": "requires_payment_method"})
    )
    late_cancel = deliver(client, event("payment_intent.canceled", {**intent, "status": "canceled"}))
    assert late_failure.status_code == late_cancel.status_code == 200
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "paid"


def test_a_webhook_with_a_bad_signature_changes_nothing(client, session, stripe_client):
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    payload = event("payment_intent.succeeded", intent)
    forged = deliver(client, payload, secret="whsec_someone_else")
    stale = deliver(client, payload, at=int(time.time()) - 301)
    body = json.dumps(payload).encode()
    tampered = client.post(
        WEBHOOK,
        data=body.replace(b'"succeeded"', b'"succeeded" '),
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body, STRIPE_WEBHOOK_SECRET)},
    )
    for response in (forged, stale, tampered):
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "pending_payment"
    assert ledger_for(session, placed["reference"]) == []


def test_an_older_webhook_secret_still_verifies_after_rotation(
    settings, session_factory, session, stripe_client
):
    rotated = settings.with_overrides(stripe_webhook_secrets=("whsec_new_" + "n" * 24, STRIPE_WEBHOOK_SECRET))
    client = create_app(rotated, session_factory=session_factory).test_client()
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    assert deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"] == "paid"


def test_unknown_event_types_are_acknowledged(client):
    response = deliver(client, event("customer.created", {"id": "cus_123", "object": "customer"}))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"


def test_money_for_a_cancelled_order_is_refunded_automatically(client, session, stripe_client):
    sku, lot = make_shop(session, packs=10)
    placed = order(client, sku, 2)
    intent_id = start_payment(client, placed["reference"])["payment_intent_id"]
    client.post(f"/api/v1/orders/{placed['reference']}/cancel", json={})
    intent = buyer_pays(stripe_client, intent_id)
    outcome = deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"]
    assert outcome.startswith("refunded")
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [intent["amount"]]
    after = client.get(f"/api/v1/orders/{placed['reference']}").get_json()
    assert after["status"] == "cancelled" and after["refunded_fen"] == intent["amount"]
    session.refresh(lot)
    assert lot.stock_on_hand == Decimal("2.5") and lot.reserved == 0
    assert ledger_for(session, placed["reference"]) == []


def test_the_wrong_amount_is_refunded_rather_than_accepted(client, session, stripe_client):
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    short = {**intent, "amount_received": intent["amount"] - 1}
    assert (
        deliver(client, event("payment_intent.succeeded", short)).get_json()["outcome"].startswith("refunded")
    )
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "pending_payment"


def test_refunds_never_exceed_what_was_captured_and_reverse_the_ledger(
    client, session, callers, stripe_client
):
    sku, _ = make_shop(session, packs=10, price_fen=10_001)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    deliver(client, event("payment_intent.succeeded", intent))
    url = f"/api/v1/orders/{placed['reference']}/refunds"
    first = client.post(
        url, json={"amount_fen": 4_000, "reason": "one tin dented"}, headers=callers.operator.headers
    )
    assert first.status_code == 201
    too_much = client.post(
        url, json={"amount_fen": 6_002, "reason": "greedy"}, headers=callers.operator.headers
    )
    assert too_much.status_code == 409
    rest = client.post(
        url, json={"amount_fen": 6_001, "reason": "the rest"}, headers=callers.operator.headers
    )
    assert rest.status_code == 201
    final = client.get(f"/api/v1/orders/{placed['reference']}").get_json()
    assert final["status"] == "refunded" and final["refunded_fen"] == 10_001
    session.expire_all()
    net = session.execute(
        sa.select(sa.func.sum(LedgerEntry.credit_fen - LedgerEntry.debit_fen)).where(
            LedgerEntry.account != "payments_clearing",
            LedgerEntry.source_id.in_(
                [placed["reference"], first.get_json()["external_id"], rest.get_json()["external_id"]]
            ),
        )
    ).scalar()
    assert net == 0


def test_one_payment_intent_per_order_whatever_the_retries(client, session):
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    first = start_payment(client, placed["reference"])
    again = start_payment(client, placed["reference"])
    assert first["payment_intent_id"] == again["payment_intent_id"]
    session.expire_all()
    stored = session.scalar(sa.select(Order).where(Order.reference == placed["reference"]))
    assert len(stored.payments) == 1


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, session):
    sku, lot = make_shop(session, packs=10)
    body = {"lines": [{"sku_id": sku.id, "quantity": 1}], "email": "buyer@example.test"}
    key = {"Idempotency-Key": "order-attempt-7f3a"}
    first = client.post("/api/v1/orders", json=body, headers=key)
    second = client.post("/api/v1/orders", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["reference"] == second.get_json()["reference"]
    assert second.headers["Idempotent-Replayed"] == "true"
    session.refresh(lot)
    assert lot.reserved == Decimal("0.250")
    other = client.post("/api/v1/orders", json={**body, "email": "else@example.test"}, headers=key)
    assert other.status_code == 409 and other.mimetype == "application/problem+json"


def test_without_stripe_keys_card_payment_is_a_clear_problem_and_ordering_still_works(
    settings, session_factory, session
):
    offline = settings.with_overrides(stripe_secret_key=None, stripe_webhook_secrets=())
    client = create_app(offline, session_factory=session_factory).test_client()
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    response = client.post(f"/api/v1/orders/{placed['reference']}/payments", json={"method": "card"})
    assert response.status_code == 503
    assert response.get_json()["type"] == "urn:shanhai:problem:card-payments-unavailable"
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "pending_payment"


def test_a_paid_order_ships_and_completes_by_its_own_cooperative_only(
    client, session, callers, stripe_client
):
    sku, lot = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    deliver(client, event("payment_intent.succeeded", intent))
    ship = f"/api/v1/orders/{placed['reference']}/fulfilment"
    body = {"carrier": "顺丰", "tracking_number": "SF1234567890"}
    assert client.post(ship, json=body, headers=callers.cooperative.headers).status_code == 403
    assert client.post(ship, json=body, headers=callers.operator.headers).status_code == 200
    done = client.post(
        f"/api/v1/orders/{placed['reference']}/completion", json={}, headers=callers.operator.headers
    )
    assert done.get_json()["status"] == "completed"


def test_a_lot_recalled_before_payment_arrives_is_not_sold(client, session, callers, stripe_client):
    sku, lot = make_shop(session, packs=10)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    recall = client.post(
        f"/api/v1/lots/{lot.id}/status",
        headers=callers.operator.headers,
        json={"status": "recalled", "reason": "residue re-test positive"},
    )
    assert recall.status_code == 200
    outcome = deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"]
    assert outcome.startswith("refunded")
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "cancelled"


def test_buying_two_tins_of_the_demo_regions_tea(client, session, stripe_client):
    from marketplace.region.demo.loader import load_demo

    load_demo(session)
    session.commit()
    tins = [
        s
        for s in client.get("/api/v1/skus?page_size=100").get_json()
        if s["name_en"].lower().find("250 g tin") >= 0 or s["name_zh"].find("250") >= 0
    ]
    tin = next(s for s in tins if "龙井" in s["name_zh"] or "Longjing" in s["name_en"])
    placed = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": tin["id"], "quantity": 2}], "email": "tea.lover@example.test"},
    ).get_json()
    assert placed["total_fen"] == 2 * tin["price_fen"]
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    assert deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"] == "paid"
    entries = ledger_for(session, placed["reference"])
    credited = {e.account: e.credit_fen for e in entries if e.credit_fen}
    assert sum(credited.values()) == placed["total_fen"]
    assert "village_collective" in credited


def test_orders_payments_and_refused_webhooks_are_counted_in_the_metrics(client, session, stripe_client):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    before = (
        value("shanhai_orders_placed_total"),
        value("shanhai_orders_refused_total"),
        value("shanhai_payment_events_total", outcome="paid"),
        value("shanhai_webhook_failures_total", reason="signature"),
    )
    sku, _ = make_shop(session, packs=1)
    placed = order(client, sku, 1)
    assert (
        client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": sku.id, "quantity": 1}], "email": "late@example.test"},
        ).status_code
        == 409
    )
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    deliver(client, event("payment_intent.succeeded", intent))
    deliver(client, event("payment_intent.succeeded", intent), secret="whsec_forged")
    after = (
        value("shanhai_orders_placed_total"),
        value("shanhai_orders_refused_total"),
        value("shanhai_payment_events_total", outcome="paid"),
        value("shanhai_webhook_failures_total", reason="signature"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]
    assert "shanhai_orders_placed_total" in client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).get_data(as_text=True)


def test_a_lot_whose_licence_is_revoked_before_payment_arrives_is_not_sold(
    client, session, callers, stripe_client
):
    sku, lot = make_shop(session, packs=10)
    placed = order(client, sku, 2)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    licence = session.scalar(sa.select(BrandLicence).where(BrandLicence.licensee_id == lot.cooperative_id))
    revoked = client.post(
        f"/api/v1/brand-licences/{licence.id}/revocation",
        headers=callers.operator.headers,
        json={"reason": "brand misused"},
    )
    assert revoked.status_code == 200, revoked.get_json()
    outcome = deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"]
    assert outcome.startswith("refunded")
    assert client.get(f"/api/v1/orders/{placed['reference']}").get_json()["status"] == "cancelled"
    session.refresh(lot)
    assert lot.reserved == 0 and lot.stock_on_hand == Decimal("2.5")
