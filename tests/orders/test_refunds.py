"""Refunds and Stripe never disagree: a refund is on record before Stripe is asked, and whatever
fails afterwards (our commit, the network, Stripe itself) the books end up showing exactly the
money Stripe moved, once. Against localstripe through the real stripe SDK."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import stripe

from marketplace.app import create_app
from orders.ledger.models import LedgerEntry
from orders.ledger.service import CLEARING
from orders.models import Order, Payment, Refund, RefundStatus
from tests.factories import make_shop
from tests.orders.test_payments import buyer_pays, deliver, event, order, start_payment


@pytest.fixture
def stripe_client(localstripe):
    return stripe.StripeClient("sk_test_shanhai", base_addresses={"api": localstripe}, max_network_retries=0)


class CommitSwitch:
    """The app's commits fail while `fail_when()` is true, as a lost database's would (a locked
    one's are answered with a 503 problem instead)."""

    def __init__(self) -> None:
        self.fail_when: Callable[[], bool] = lambda: False
        self.failed = 0

    def __call__(self, app_session) -> None:
        # Only request sessions carry an audit actor: the test's own session and CLI runs commit.
        if "audit_actor" in app_session.info and self.fail_when():
            self.failed += 1
            raise sa.exc.OperationalError("COMMIT", None, Exception("disk I/O error"))


@pytest.fixture
def commits(session_factory) -> Iterator[CommitSwitch]:
    switch = CommitSwitch()
    sa.event.listen(session_factory, "before_commit", switch)
    yield switch
    sa.event.remove(session_factory, "before_commit", switch)


class StripeLink:
    """A proxy in front of localstripe that can lose Stripe's answer, or play its refusal."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "up"  # "up", "lose refund answers", "down", "refuse refunds"
        self.refunds_forwarded = 0
        link = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                link.handle(self)

            def do_POST(self):
                link.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        creates_refund = request.command == "POST" and request.path.startswith("/v1/refunds")
        if self.mode == "down":
            request.close_connection = True
            return
        if self.mode == "refuse refunds" and creates_refund:
            answer = (
                b'{"error": {"type": "invalid_request_error", "message": '
                b'"This charge was disputed; it cannot be refunded."}}'
            )
            request.send_response(400)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
            return
        forwarded = urllib.request.Request(
            self.upstream + request.path,
            data=body or None,
            method=request.command,
            headers={k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")},
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()
        if creates_refund:
            self.refunds_forwarded += 1
            if self.mode == "lose refund answers":
                # Stripe made the refund; its answer is lost, and the network with it.
                self.mode = "down"
                request.close_connection = True
                return
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)


@pytest.fixture
def stripe_link(localstripe) -> Iterator[StripeLink]:
    link = StripeLink(localstripe)
    threading.Thread(target=link.server.serve_forever, daemon=True).start()
    yield link
    link.server.shutdown()


@pytest.fixture
def linked_client(settings, session_factory, stripe_link):
    """The app talking to Stripe through the link."""
    linked = settings.with_overrides(stripe_api_base=stripe_link.url)
    return create_app(linked, session_factory=session_factory).test_client()


def paid_order(client, session, stripe_client, *, price_fen=10_000):
    sku, _ = make_shop(session, packs=10, price_fen=price_fen)
    placed = order(client, sku, 1)
    intent = buyer_pays(stripe_client, start_payment(client, placed["reference"])["payment_intent_id"])
    assert deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"] == "paid"
    return placed["reference"], intent


def stripe_refunds(stripe_client, intent_id) -> list[int]:
    return sorted(r.amount for r in stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data)


def refunds_on_record(session, reference) -> list[tuple[str, int]]:
    session.expire_all()
    return [
        (r.status.value, r.amount_fen)
        for r in session.scalars(
            sa.select(Refund)
            .join(Payment)
            .join(Order)
            .where(Order.reference == reference)
            .order_by(Refund.id)
        )
    ]


def assert_books_equal_stripe(session, stripe_client, reference, intent_id, *, sold=True):
    """The order's totals and the ledger's cash account show what Stripe holds for the payment."""
    session.expire_all()
    stored = session.scalar(sa.select(Order).where(Order.reference == reference))
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    received = intent.amount if intent.status == "succeeded" else 0  # localstripe: no amount_received
    cash = received - sum(stripe_refunds(stripe_client, intent_id))
    assert stored.captured_fen - stored.refunded_fen == cash
    sources = [reference] + [
        r.external_id
        for p in stored.payments
        for r in session.scalars(
            sa.select(Refund).where(Refund.payment_id == p.id, Refund.status == RefundStatus.SUCCEEDED)
        )
    ]
    clearing = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.debit_fen - LedgerEntry.credit_fen), 0)).where(
            LedgerEntry.account == CLEARING, LedgerEntry.source_id.in_(sources)
        )
    )
    assert clearing == (cash if sold else 0)


def charge_of(stripe_client, intent) -> dict:
    charge = intent["latest_charge"]  # localstripe expands it
    return stripe_client.v1.charges.retrieve(charge["id"] if isinstance(charge, dict) else charge).to_dict()


def reconcile(app):
    return app.test_cli_runner().invoke(args=["shanhai", "reconcile-refunds", "--min-age", "0"])


def test_a_refund_whose_transaction_fails_moves_no_money(client, session, callers, stripe_client, commits):
    reference, intent = paid_order(client, session, stripe_client)
    commits.fail_when = lambda: True
    with pytest.raises(sa.exc.OperationalError):
        client.post(
            f"/api/v1/orders/{reference}/refunds",
            headers=callers.operator.headers,
            json={"amount_fen": 4_000, "reason": "one tin dented"},
        )
    commits.fail_when = lambda: False
    assert stripe_refunds(stripe_client, intent["id"]) == []
    assert refunds_on_record(session, reference) == []
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])


@pytest.mark.parametrize("settled_by", ["reconcile-refunds", "charge.refunded"])
def test_a_refund_whose_commit_fails_after_stripe_made_it_is_recorded_once(
    app, client, session, callers, stripe_client, commits, settled_by
):
    reference, intent = paid_order(client, session, stripe_client)
    # The commit after Stripe has made the refund fails (today's code: its only commit).
    commits.fail_when = lambda: bool(stripe_refunds(stripe_client, intent["id"]))
    with pytest.raises(sa.exc.OperationalError):
        client.post(
            f"/api/v1/orders/{reference}/refunds",
            headers=callers.operator.headers,
            json={"amount_fen": 4_000, "reason": "one tin dented"},
        )
    commits.fail_when = lambda: False
    assert stripe_refunds(stripe_client, intent["id"]) == [4_000]
    # The books show the refund as asked for, not yet as money returned.
    assert refunds_on_record(session, reference) == [("pending", 4_000)]
    stored = session.scalar(sa.select(Order).where(Order.reference == reference))
    assert stored.refunded_fen == 0 and stored.status.value == "paid"

    refunded = event("charge.refunded", charge_of(stripe_client, intent))
    if settled_by == "charge.refunded":
        assert deliver(client, refunded).get_json()["outcome"] == "recorded 1 refunds"
    # Whichever comes first, the others find nothing left to do.
    for _ in range(2):
        assert reconcile(app).exit_code == 0
        assert deliver(client, {**refunded, "id": event("x", {})["id"]}).status_code == 200
    assert stripe_refunds(stripe_client, intent["id"]) == [4_000]
    assert refunds_on_record(session, reference) == [("succeeded", 4_000)]
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])
    after = client.get(f"/api/v1/orders/{reference}").get_json()
    assert after["status"] == "partially_refunded" and after["refunded_fen"] == 4_000


def test_a_refund_whose_answer_from_stripe_is_lost_is_found_not_made_twice(
    app, client, linked_client, session, callers, stripe_client, stripe_link
):
    reference, intent = paid_order(client, session, stripe_client)
    stripe_link.mode = "lose refund answers"
    body = {"amount_fen": 6_000, "reason": "never arrived"}
    lost = linked_client.post(
        f"/api/v1/orders/{reference}/refunds", headers=callers.operator.headers, json=body
    )
    assert lost.status_code == 502 and "pending" in lost.get_json()["detail"]
    assert stripe_refunds(stripe_client, intent["id"]) == [6_000]
    assert refunds_on_record(session, reference) == [("pending", 6_000)]
    # Another refund goes beside the pending one; the same one asked again is a retry of it.
    stripe_link.mode = "up"
    other = linked_client.post(
        f"/api/v1/orders/{reference}/refunds",
        headers=callers.operator.headers,
        json={"amount_fen": 1_000, "reason": "something else"},
    )
    assert other.status_code == 201, other.get_json()
    retried = linked_client.post(
        f"/api/v1/orders/{reference}/refunds", headers=callers.operator.headers, json=body
    )
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["status"] == "succeeded"
    assert stripe_link.refunds_forwarded == 2
    assert reconcile(app).exit_code == 0
    assert stripe_refunds(stripe_client, intent["id"]) == [1_000, 6_000]
    assert refunds_on_record(session, reference) == [("succeeded", 6_000), ("succeeded", 1_000)]
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])
    # The rest, now: the books still follow Stripe.
    rest = client.post(
        f"/api/v1/orders/{reference}/refunds",
        headers=callers.operator.headers,
        json={"amount_fen": 3_000, "reason": "the rest"},
    )
    assert rest.status_code == 201
    assert client.get(f"/api/v1/orders/{reference}").get_json()["status"] == "refunded"
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])


def test_a_refund_stripe_refuses_is_recorded_as_failed_and_moves_nothing(
    client, linked_client, session, callers, stripe_client, stripe_link
):
    reference, intent = paid_order(client, session, stripe_client)
    stripe_link.mode = "refuse refunds"
    refused = linked_client.post(
        f"/api/v1/orders/{reference}/refunds",
        headers=callers.operator.headers,
        json={"amount_fen": 3_000, "reason": "dented"},
    )
    assert refused.status_code == 502
    assert refused.get_json()["type"] == "urn:shanhai:problem:refund-refused"
    assert refunds_on_record(session, reference) == [("failed", 3_000)]
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])
    # Nothing is left pending: another refund goes ahead.
    stripe_link.mode = "up"
    again = linked_client.post(
        f"/api/v1/orders/{reference}/refunds",
        headers=callers.operator.headers,
        json={"amount_fen": 2_000, "reason": "dented"},
    )
    assert again.status_code == 201 and again.get_json()["status"] == "succeeded"
    assert refunds_on_record(session, reference) == [("failed", 3_000), ("succeeded", 2_000)]
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])


def paid_after_cancelling(client, session, stripe_client):
    """An order its buyer cancelled and then paid all the same: what Stripe's
    payment_intent.succeeded for it says, with the order, the intent and its id."""
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 2)
    intent_id = start_payment(client, placed["reference"])["payment_intent_id"]
    client.post(f"/api/v1/orders/{placed['reference']}/cancel", json={})
    intent = buyer_pays(stripe_client, intent_id)
    return placed, intent_id, intent, event("payment_intent.succeeded", intent)


def test_an_automatic_refund_whose_webhook_transaction_fails_is_made_once_on_redelivery(
    client, session, stripe_client, commits
):
    placed, intent_id, intent, succeeded = paid_after_cancelling(client, session, stripe_client)
    commits.fail_when = lambda: True
    with pytest.raises(sa.exc.OperationalError):
        deliver(client, succeeded)
    commits.fail_when = lambda: False
    assert stripe_refunds(stripe_client, intent_id) == []
    # Stripe delivers again, as it does after an error.
    outcomes = [deliver(client, succeeded) for _ in range(3)]
    assert [r.status_code for r in outcomes] == [200] * 3, outcomes[0].get_json()
    assert outcomes[0].get_json()["outcome"].startswith("refunded")
    assert stripe_refunds(stripe_client, intent_id) == [intent["amount"]]
    assert refunds_on_record(session, placed["reference"]) == [("succeeded", intent["amount"])]
    assert_books_equal_stripe(session, stripe_client, placed["reference"], intent_id, sold=False)


def test_an_automatic_refund_stripe_did_not_answer_goes_out_when_stripe_delivers_again(
    client, linked_client, session, stripe_client, stripe_link
):
    placed, intent_id, intent, succeeded = paid_after_cancelling(client, session, stripe_client)
    stripe_link.mode = "lose refund answers"
    # An error answer: Stripe will deliver the event again.
    assert deliver(linked_client, succeeded).status_code == 502
    assert refunds_on_record(session, placed["reference"]) == [("pending", intent["amount"])]
    stripe_link.mode = "up"
    again = deliver(linked_client, succeeded)
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    assert stripe_refunds(stripe_client, intent_id) == [intent["amount"]]
    assert refunds_on_record(session, placed["reference"]) == [("succeeded", intent["amount"])]
    assert_books_equal_stripe(session, stripe_client, placed["reference"], intent_id, sold=False)


def test_a_refund_made_in_stripes_dashboard_is_booked_once(client, session, stripe_client):
    reference, intent = paid_order(client, session, stripe_client)
    stripe_client.v1.refunds.create(params={"payment_intent": intent["id"], "amount": 2_500})
    charge = charge_of(stripe_client, intent)
    first = deliver(client, event("charge.refunded", charge)).get_json()["outcome"]
    second = deliver(client, event("charge.refunded", charge)).get_json()["outcome"]
    assert (first, second) == ("recorded 1 refunds", "recorded 0 refunds")
    assert refunds_on_record(session, reference) == [("succeeded", 2_500)]
    assert_books_equal_stripe(session, stripe_client, reference, intent["id"])


def test_a_payment_whose_record_was_lost_with_its_transaction_is_still_recorded(
    client, session, stripe_client, commits
):
    sku, _ = make_shop(session, packs=10)
    placed = order(client, sku, 1)

    def intents_for_the_order():
        return [
            i
            for i in stripe_client.v1.payment_intents.list(params={"limit": 100}).data
            if i.metadata.to_dict().get("order_reference") == placed["reference"]
        ]

    # The transaction that would record the PaymentIntent Stripe has just made is lost.
    commits.fail_when = lambda: bool(intents_for_the_order())
    with pytest.raises(sa.exc.OperationalError):
        client.post(f"/api/v1/orders/{placed['reference']}/payments", json={"method": "card"})
    commits.fail_when = lambda: False
    # Stripe keeps the PaymentIntent our lost transaction asked for; should it be paid,
    (orphan,) = intents_for_the_order()
    intent = buyer_pays(stripe_client, orphan.id)
    outcome = deliver(client, event("payment_intent.succeeded", intent)).get_json()["outcome"]
    # ...the money is on the books all the same.
    assert outcome == "paid"
    paid = client.get(f"/api/v1/orders/{placed['reference']}").get_json()
    assert paid["status"] == "paid" and [p["external_id"] for p in paid["payments"]] == [orphan.id]
    assert_books_equal_stripe(session, stripe_client, placed["reference"], orphan.id)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_refunds_recorded_before_the_upgrade_stay_succeeded_and_count(tmp_path, dialect):
    from marketplace.core import migrations as schema
    from marketplace.core.db import make_engine
    from tests.conftest import postgres_database

    def upgrade_with_an_old_refund(engine):
        schema.upgrade(engine, "0008")
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO orders (id, reference, status, currency, total_fen, captured_fen, "
                    "refunded_fen, reserved_until, created_at, updated_at) VALUES (1, 'old-order', "
                    "'partially_refunded', 'CNY', 10000, 10000, 4000, :at, :at, :at)"
                ),
                {"at": "2026-11-01 08:00:00"},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO payments (id, order_id, provider, external_id, amount_fen, captured_fen, "
                    "status, created_at, updated_at) VALUES (1, 1, 'stripe', 'pi_old', 10000, 10000, "
                    "'succeeded', :at, :at)"
                ),
                {"at": "2026-11-01 08:00:00"},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO refunds (id, payment_id, external_id, amount_fen, reason, created_at) "
                    "VALUES (1, 1, 're_old', 4000, 'dented', :at)"
                ),
                {"at": "2026-11-01 09:00:00"},
            )
        schema.upgrade(engine)
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT status, idempotency_key, reverses_sale, external_id, settled_at IS NOT NULL "
                    "FROM refunds"
                )
            ).all()

    if dialect == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        try:
            rows = upgrade_with_an_old_refund(engine)
        finally:
            engine.dispose()
    else:
        with postgres_database(revision="0008") as engine:
            rows = upgrade_with_an_old_refund(engine)
    assert [tuple(row) for row in rows] == [("succeeded", "recorded:re_old", True, "re_old", True)]
