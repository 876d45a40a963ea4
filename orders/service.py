"""Use cases of orders: reserve stock, take payment through webhooks, fulfil, refund."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import licences
from catalog import service as catalog_service
from catalog.models import Lot, LotStatus, Sku
from marketplace.accounts.models import User
from marketplace.core import db
from marketplace.core.db import AfterCommit, sorted_by, utcnow
from marketplace.core.signals import ask, send_required
from marketplace.parties.errors import NotYours
from marketplace.parties.models import Role
from orders.errors import (
    GuestHoldsExceeded,
    GuestNeedsEmail,
    GuestOrderTooLarge,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotPayable,
    OutOfStock,
    RefundTooLarge,
    SkuNotOnSale,
)
from orders.ledger import service as ledger
from orders.models import (
    Allocation,
    AllocationState,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from orders.signals import order_cancelled, sales_contract
from orders.stripe_gateway import PaymentProviderError, RefundRefused, StripeGateway, refund_key
from quality import service as quality_service

logger = logging.getLogger("shanhai.orders")
SALE = "order"
# How often placing an order reads a lot's stock again before it gives up on that lot.
RESERVE_ATTEMPTS = 3
REFUND = "refund"


def get_order(session: Session, reference: str, *, for_update: bool = False) -> Order:
    statement = sa.select(Order).where(Order.reference == reference)
    if for_update:
        statement = statement.with_for_update()
    order = session.scalar(statement)
    if order is None:
        raise OrderNotFound(f"order {reference} does not exist")
    return order


def list_orders(
    session: Session, *, actor: User, status: OrderStatus | None = None, sort: str | None = None
) -> sa.Select:
    """Orders the actor's organisation placed; operators see all. A seller sees its part of the
    orders it sells into through orders.fulfilment, never the buyer's order itself."""
    statement = sa.select(Order)
    if actor.role is not Role.OPERATOR:
        statement = statement.where(Order.buyer_organisation_id == actor.organisation_id)
    if status is not None:
        statement = statement.where(Order.status == status)
    return sorted_by(statement, sort, {"created_at": Order.created_at}, Order.id.desc())


@dataclass(frozen=True)
class GuestLimits:
    """What one unverified buyer (an e-mail and a client address) may hold at once."""

    packs_per_order: int = 30
    packs_per_sku: int = 10
    open_orders_per_email: int = 3
    open_orders_per_address: int = 10


def place_order(
    session: Session,
    *,
    lines: list[dict],
    buyer: User | None,
    email: str | None,
    hold: timedelta,
    currency: str,
    client_address: str | None = None,
    guest_limits: GuestLimits = GuestLimits(),
) -> Order:
    """Reserve every line's stock or none: an order that cannot be filled whole fails whole."""
    if buyer is None and not email:
        raise GuestNeedsEmail(
            "a guest order needs an e-mail address for its receipt",
            errors={"json": {"email": ["required without a sign-in"]}},
        )
    expire_reservations(session)
    wanted: dict[int, int] = {}
    for requested in lines:
        wanted[requested["sku_id"]] = wanted.get(requested["sku_id"], 0) + requested["quantity"]
    if buyer is None and email:
        _ensure_within_guest_limits(
            session, wanted=wanted, email=email, client_address=client_address, limits=guest_limits
        )
    order = Order(
        reference=secrets.token_urlsafe(16),
        status=OrderStatus.PENDING_PAYMENT,
        email=email,
        buyer_user_id=buyer.id if buyer else None,
        buyer_organisation_id=buyer.organisation_id if buyer else None,
        client_address=client_address if buyer is None else None,
        currency=currency,
        total_fen=0,
        reserved_until=utcnow() + hold,
    )
    short = []
    # SKUs in id order, lots in harvest order: every order locks rows in the same sequence.
    for sku_id in sorted(wanted):
        sku = session.get(Sku, sku_id)
        if sku is None or not sku.is_active:
            raise SkuNotOnSale(
                f"SKU {sku_id} is not for sale", errors={"json": {"lines": [f"SKU {sku_id} is not for sale"]}}
            )
        if sku.currency != currency:
            raise SkuNotOnSale(
                f"SKU {sku_id} is priced in {sku.currency}",
                errors={"json": {"lines": [f"SKU {sku_id} is not in {currency}"]}},
            )
        line = OrderLine(
            sku=sku,
            quantity=wanted[sku_id],
            unit_price_fen=sku.price_fen,
            total_fen=sku.price_fen * wanted[sku_id],
        )
        missing = _reserve_line(session, line)
        if missing:
            short.append(
                {"sku_id": sku_id, "requested": wanted[sku_id], "available": wanted[sku_id] - missing}
            )
        order.lines.append(line)
    if short:
        if buyer is None:
            # Exact counts would tell an anonymous caller how much there is to hoard.
            short = [{"sku_id": s["sku_id"], "requested": s["requested"]} for s in short]
            names = ", ".join(f"SKU {s['sku_id']}" for s in short)
        else:
            names = ", ".join(
                f"SKU {s['sku_id']} ({s['available']} of {s['requested']} available)" for s in short
            )
        raise OutOfStock(f"not enough stock: {names}", short=short)
    order.total_fen = sum(line.total_fen for line in order.lines)
    session.add(order)
    session.flush()
    return order


def _ensure_within_guest_limits(
    session: Session, *, wanted: dict[int, int], email: str, client_address: str | None, limits: GuestLimits
) -> None:
    """An unverified buyer holds little at once; signing in as a buyer lifts these bounds."""
    too_many = [sku_id for sku_id, packs in sorted(wanted.items()) if packs > limits.packs_per_sku]
    if too_many:
        raise GuestOrderTooLarge(
            f"a guest order takes at most {limits.packs_per_sku} packs of one SKU; sign in to order more",
            errors={
                "json": {
                    "lines": [
                        f"SKU {sku_id}: at most {limits.packs_per_sku} packs without a sign-in"
                        for sku_id in too_many
                    ]
                }
            },
        )
    if sum(wanted.values()) > limits.packs_per_order:
        raise GuestOrderTooLarge(
            f"a guest order takes at most {limits.packs_per_order} packs; sign in to order more",
            errors={"json": {"lines": [f"at most {limits.packs_per_order} packs without a sign-in"]}},
        )
    holding = sa.and_(
        Order.status == OrderStatus.PENDING_PAYMENT,
        Order.reserved_until >= utcnow(),
        Order.buyer_user_id.is_(None),
    )
    same_email = sa.func.lower(Order.email) == email.lower()
    same_address = Order.client_address == client_address if client_address else sa.false()
    for matches, limit, whose in (
        (same_email, limits.open_orders_per_email, "this e-mail address"),
        (same_address, limits.open_orders_per_address, "your address"),
    ):
        held = session.execute(
            sa.select(sa.func.count()).select_from(Order).where(holding, matches)
        ).scalar_one()
        if held >= limit:
            raise GuestHoldsExceeded(
                f"{whose} already has {held} unpaid orders holding stock; pay or cancel one first, or sign in"
            )
    held_packs = session.execute(
        sa.select(OrderLine.sku_id, sa.func.sum(OrderLine.quantity))
        .join(Order)
        .where(holding, sa.or_(same_email, same_address), OrderLine.sku_id.in_(wanted))
        .group_by(OrderLine.sku_id)
        .order_by(OrderLine.sku_id)
    )
    for sku_id, packs in held_packs:
        if packs + wanted[sku_id] > limits.packs_per_sku:
            raise GuestHoldsExceeded(
                f"unpaid orders of yours already hold {packs} packs of SKU "
                f"{sku_id}; a guest holds at most {limits.packs_per_sku} at "
                "once: pay or cancel first, or sign in"
            )


def _reserve_line(session: Session, line: OrderLine) -> int:
    """Hold packs for the line from lots on sale; returns how many packs could not be held."""
    packs_left = line.quantity
    for lot, pack in quality_service.sellable_lots(session, line.sku):
        # A refused hold means another order took this lot's stock (or it left sale) meanwhile:
        # read it again, a bounded number of times, then go on to the next lot.
        for _attempt in range(RESERVE_ATTEMPTS):
            packs = min(packs_left, int(_available(session, lot.id) // pack))
            if packs <= 0:
                break
            if catalog_service.reserve_stock(session, lot_id=lot.id, quantity=pack * packs):
                line.allocations.append(
                    Allocation(lot_id=lot.id, packs=packs, quantity=pack * packs, state=AllocationState.HELD)
                )
                packs_left -= packs
                break
        if not packs_left:
            break
    return packs_left


def _available(session: Session, lot_id: int) -> Decimal:
    stock, reserved = session.execute(
        sa.select(Lot.stock_on_hand, Lot.reserved).where(Lot.id == lot_id)
    ).one()
    return stock - reserved


def expire_reservations(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """Cancel unpaid orders whose hold has run out, giving their stock back."""
    now = now or utcnow()
    expired = session.scalars(
        sa.select(Order)
        .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.reserved_until < now)
        .order_by(Order.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for order in expired:
        _cancel(session, order, "the reservation expired before payment")
    return len(expired)


def cancel_order(
    session: Session, *, reference: str, actor: User | None = None, reason: str = "cancelled by the buyer"
) -> Order:
    """The buyer cancels by its order's reference; a signed-in caller must be its buyer or an operator."""
    order = get_order(session, reference, for_update=True)
    if (
        actor is not None
        and actor.role is not Role.OPERATOR
        and actor.id != order.buyer_user_id
        and (order.buyer_organisation_id is None or actor.organisation_id != order.buyer_organisation_id)
    ):
        raise NotYours(f"order {reference} is not yours to cancel: only its buyer or an operator cancels it")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotCancellable(
            f"order {reference} is {order.status.value}; only unpaid orders "
            "can be cancelled (paid ones are refunded)"
        )
    _cancel(session, order, reason)
    return order


def _cancel(session: Session, order: Order, reason: str) -> None:
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.state is AllocationState.HELD:
                catalog_service.release_stock(session, lot_id=allocation.lot_id, quantity=allocation.quantity)
                allocation.state = AllocationState.RELEASED
    send_required(order_cancelled, session, order=order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    session.flush()


@dataclass(frozen=True)
class CardPaymentCall:
    """What to ask Stripe for when an order's card payment starts: its open PaymentIntent again,
    or a new one under a key that makes every concurrent ask get the same intent."""

    reference: str
    amount_fen: int
    currency: str
    idempotency_key: str
    open_intent_id: str | None = None


@dataclass(frozen=True)
class CardPaymentStart:
    """What a buyer's client needs to pay: the order's PaymentIntent and its client secret."""

    payment_intent_id: str
    client_secret: str
    amount_fen: int
    currency: str


def start_card_payment(
    session: Session, *, reference: str, gateway: StripeGateway
) -> AfterCommit[CardPaymentStart]:
    """Check that the order takes a card payment; once that is committed, ask Stripe for its
    PaymentIntent and record it. Stripe is asked with no transaction open: on SQLite the write
    lock is never held across the network, so concurrent buyers wait for each other's writes only."""
    call = plan_card_payment(session, reference=reference)
    return db.after_commit(session, lambda: _ask_and_record_card_payment(call, gateway))


def _ask_and_record_card_payment(call: CardPaymentCall, gateway: StripeGateway) -> CardPaymentStart:
    intent = ask_for_payment_intent(gateway, call)
    with db.unit_of_work() as session:
        payment = record_card_payment(session, call=call, intent=intent)
        intent_id, amount_fen = payment.external_id, payment.amount_fen
    if intent_id != intent.id:
        # A concurrent start recorded its intent first: the buyer pays that one.
        intent = ask_for_payment_intent(gateway, replace(call, open_intent_id=intent_id))
    return CardPaymentStart(
        payment_intent_id=intent_id,
        client_secret=intent.client_secret,
        amount_fen=amount_fen,
        currency=call.currency,
    )


def plan_card_payment(session: Session, *, reference: str) -> CardPaymentCall:
    """Check that the order takes a card payment and say what to ask Stripe for."""
    order = get_order(session, reference, for_update=True)
    if order.status is OrderStatus.PENDING_PAYMENT and order.reserved_until < utcnow():
        _cancel(session, order, "the reservation expired before payment")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotPayable(f"order {reference} is {order.status.value} and takes no payment")
    existing = next(
        (p for p in order.payments if p.provider == "stripe" and p.status is PaymentStatus.REQUIRES_PAYMENT),
        None,
    )
    attempt = sum(1 for p in order.payments if p.provider == "stripe")
    return CardPaymentCall(
        reference=reference,
        amount_fen=order.total_fen,
        currency=order.currency,
        idempotency_key=f"shanhai-order-{order.reference}-attempt-{attempt}",
        open_intent_id=existing.external_id if existing is not None else None,
    )


def ask_for_payment_intent(gateway: StripeGateway, call: CardPaymentCall):
    """The PaymentIntent for a planned card payment, from Stripe."""
    if call.open_intent_id is not None:
        return gateway.retrieve_payment_intent(call.open_intent_id)
    return gateway.create_payment_intent(
        amount_fen=call.amount_fen,
        currency=call.currency,
        order_reference=call.reference,
        idempotency_key=call.idempotency_key,
    )


def record_card_payment(session: Session, *, call: CardPaymentCall, intent) -> Payment:
    """Put Stripe's PaymentIntent on record for the order; asking again records nothing more."""
    order = get_order(session, call.reference, for_update=True)
    session.refresh(order)  # as it is now, not as it was read before Stripe was asked
    payment = session.scalar(sa.select(Payment).where(Payment.external_id == intent.id))
    if payment is not None:
        return payment
    open_payment = session.scalar(
        sa.select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.provider == "stripe",
            Payment.status == PaymentStatus.REQUIRES_PAYMENT,
        )
        .order_by(Payment.id)
        .limit(1)
    )
    if open_payment is not None:
        # A concurrent start recorded its intent first: that one is the order's (Stripe's
        # idempotency key usually makes them one; the other, never confirmed, moves no money).
        return open_payment
    if order.status is not OrderStatus.PENDING_PAYMENT:
        # Changed while Stripe was asked; the intent was never confirmed, so no money moved.
        raise OrderNotPayable(f"order {call.reference} is {order.status.value} and takes no payment")
    payment = Payment(
        order=order,
        provider="stripe",
        external_id=intent.id,
        amount_fen=call.amount_fen,
        status=PaymentStatus.REQUIRES_PAYMENT,
    )
    session.add(payment)
    session.flush()
    return payment


def handle_stripe_event(session: Session, *, event: dict, gateway: StripeGateway) -> str:
    """Apply a verified Stripe event once; a repeat or an unknown type changes nothing."""
    event_id, event_type = event.get("id"), event.get("type", "")
    if not event_id:
        return "ignored: no event id"
    if session.get(StripeEvent, event_id) is not None:
        # Stripe delivers again when our answer was not a 2xx: a refund this event put on
        # record may still be waiting to be sent, so it goes out with this delivery.
        _queue_pending_refunds(session, event, gateway)
        return "duplicate"
    handler = _HANDLERS.get(event_type)
    outcome = handler(session, event["data"]["object"], gateway) if handler else "ignored"
    try:
        with session.begin_nested():
            session.add(StripeEvent(id=event_id, type=event_type, outcome=outcome[:100]))
    except sa.exc.IntegrityError:
        # Delivered twice at the same moment: the other delivery's transaction wins, ours undoes.
        raise _DuplicateDelivery(event_id) from None
    return outcome


class _DuplicateDelivery(Exception):
    pass


DuplicateDelivery = _DuplicateDelivery


def _payment_for(session: Session, intent: dict) -> Payment | None:
    return session.scalar(sa.select(Payment).where(Payment.external_id == intent["id"]).with_for_update())


def _adopt_payment(session: Session, intent: dict) -> Payment | None:
    """A PaymentIntent created for one of our orders whose record was lost with its transaction
    (a payment start asks Stripe before recording the intent): money it took is recorded all the same."""
    metadata = intent.get("metadata")
    reference = metadata.get("order_reference") if isinstance(metadata, dict) else None
    order = session.scalar(sa.select(Order).where(Order.reference == reference)) if reference else None
    if order is None or not intent.get("id"):
        return None
    payment = Payment(
        order_id=order.id,
        provider="stripe",
        external_id=intent["id"],
        amount_fen=int(intent.get("amount") or 0),
        status=PaymentStatus.REQUIRES_PAYMENT,
    )
    try:
        with session.begin_nested():
            session.add(payment)
    except sa.exc.IntegrityError:
        raise _DuplicateDelivery(intent["id"]) from None
    return payment


def _on_payment_succeeded(session: Session, intent: dict, gateway: StripeGateway) -> str:
    payment = _payment_for(session, intent) or _adopt_payment(session, intent)
    if payment is None:
        return "ignored: unknown payment intent"
    if payment.status is PaymentStatus.SUCCEEDED:
        return "already recorded"
    order = get_order(session, payment.order.reference, for_update=True)
    received = int(intent.get("amount_received") or intent.get("amount") or 0)
    payment.status = PaymentStatus.SUCCEEDED
    payment.captured_fen = received
    order.captured_fen += received
    if order.status is OrderStatus.PENDING_PAYMENT and order.reserved_until < utcnow():
        _cancel(session, order, "the reservation expired before the payment arrived")
    if order.status is OrderStatus.PENDING_PAYMENT and any(
        allocation.lot.status is LotStatus.RECALLED for line in order.lines for allocation in line.allocations
    ):
        _cancel(session, order, "a lot in this order was recalled before the payment arrived")
    if order.status is OrderStatus.PENDING_PAYMENT:
        # A licence revoked, or a village dropped, while the order waited for its money.
        refusal = next(
            (
                refusal
                for line in order.lines
                for allocation in line.allocations
                if (refusal := licences.carry_refusal(session, allocation.lot)) is not None
            ),
            None,
        )
        if refusal is not None:
            _cancel(session, order, f"a lot in this order may no longer carry its brand: {refusal[0]}"[:200])
    if order.status is not OrderStatus.PENDING_PAYMENT or received != order.total_fen:
        why = (
            f"order was {order.status.value}"
            if order.status is not OrderStatus.PENDING_PAYMENT
            else f"received {received} fen for an order of {order.total_fen}"
        )
        refund = _open_refund(
            session,
            order=order,
            payment=payment,
            amount_fen=received,
            gateway=gateway,
            reason=f"automatic refund: {why}",
            reverses_sale=False,
        )
        _send_after_commit(session, refund_call(refund), gateway)
        return f"refunded: {why}"
    mark_paid(session, order)
    return "paid"


def mark_paid(session: Session, order: Order) -> None:
    """The order's payment is in, by card or (for a call-off) by bank transfer: its held stock
    is sold and its sales are posted to the villages' ledgers."""
    sales = []
    for line in order.lines:
        amounts = ledger.largest_remainder(line.total_fen, [a.packs for a in line.allocations])
        for allocation, amount in zip(line.allocations, amounts, strict=True):
            catalog_service.consume_stock(session, lot_id=allocation.lot_id, quantity=allocation.quantity)
            allocation.state = AllocationState.SOLD
            sales.append(
                ledger.Sale(
                    lot=allocation.lot, amount_fen=amount, memo=f"{allocation.packs} × {line.sku.name_zh}"
                )
            )
    # Every lot row first, in the order placing the order locked them, then the villages'
    # ledger days in village order: interleaved, two payments could wait on each other.
    ledger.post_sales(
        session,
        source_type=SALE,
        source_id=order.reference,
        currency=order.currency,
        sales=sales,
        contract_id=ask(sales_contract, session, order=order),
    )
    order.status = OrderStatus.PAID
    order.paid_at = utcnow()
    session.flush()


def _on_payment_failed(session: Session, intent: dict, gateway: StripeGateway) -> str:
    payment = _payment_for(session, intent)
    if payment is None or payment.status is not PaymentStatus.REQUIRES_PAYMENT:
        return "ignored"
    error = intent.get("last_payment_error") or {}
    payment.failure_message = (error.get("message") or "the card was declined")[:500]
    # The buyer may try another card: the PaymentIntent stays open, the order keeps its hold.
    return "payment attempt failed"


def _on_payment_canceled(session: Session, intent: dict, gateway: StripeGateway) -> str:
    payment = _payment_for(session, intent)
    if payment is None or payment.status is not PaymentStatus.REQUIRES_PAYMENT:
        return "ignored"
    payment.status = PaymentStatus.CANCELED
    order = get_order(session, payment.order.reference, for_update=True)
    if order.status is OrderStatus.PENDING_PAYMENT:
        _cancel(session, order, "the payment was cancelled")
    return "cancelled"


def _on_charge_refunded(session: Session, charge: dict, gateway: StripeGateway) -> str:
    """Refunds made in Stripe's dashboard are brought into our books; ours are matched by key."""
    payment = session.scalar(sa.select(Payment).where(Payment.external_id == charge.get("payment_intent")))
    if payment is None:
        return "ignored: unknown payment intent"
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None:
        # Newer API versions no longer list a charge's refunds in its events.
        listed = [refund.to_dict() for refund in gateway.refunds_of(payment.external_id)]
    recorded = 0
    for made in listed:
        if (
            made.get("status") in ("failed", "canceled")
            or session.scalar(sa.select(Refund.id).where(Refund.external_id == made["id"])) is not None
        ):
            continue
        key = refund_key(made)
        ours = session.scalar(sa.select(Refund).where(Refund.idempotency_key == key)) if key else None
        if ours is not None:
            if ours.status is RefundStatus.PENDING:
                _settle_refund(session, key=ours.idempotency_key, external_id=made["id"])
                recorded += 1
            continue
        refund = Refund(
            payment=payment,
            idempotency_key=f"stripe:{made['id']}",
            external_id=made["id"],
            status=RefundStatus.SUCCEEDED,
            amount_fen=int(made["amount"]),
            reason="refunded in Stripe",
            settled_at=utcnow(),
        )
        session.add(refund)
        _book_refund(session, get_order(session, payment.order.reference, for_update=True), refund)
        recorded += 1
    return f"recorded {recorded} refunds"


_HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "payment_intent.canceled": _on_payment_canceled,
    "charge.refunded": _on_charge_refunded,
}


@dataclass(frozen=True)
class RefundCall:
    """What asking Stripe for a refund takes: read before the commit, sent after it."""

    key: str
    payment_intent_id: str
    amount_fen: int
    reason: str


def refund_order(
    session: Session, *, reference: str, amount_fen: int, reason: str, gateway: StripeGateway
) -> AfterCommit[Refund]:
    """Put a refund on record as pending; once that is committed, send it to Stripe and record
    the answer. The refund, settled, is the result; a refusal is recorded and then raised.

    The same refund (amount and reason) asked again while it is pending is that refund, sent
    again: a retry after Stripe did not answer never refunds twice. Other refunds of the same
    payment may be pending beside it; what is pending counts against what is left to refund.
    """
    order = get_order(session, reference, for_update=True)
    payment = next((p for p in order.payments if p.status is PaymentStatus.SUCCEEDED), None)
    if payment is None:
        raise OrderNotPayable(f"order {reference} has no captured payment to refund")
    pending = session.scalar(
        sa.select(Refund)
        .where(
            Refund.payment_id == payment.id,
            Refund.status == RefundStatus.PENDING,
            Refund.amount_fen == amount_fen,
            Refund.reason == reason[:200],
        )
        .order_by(Refund.id)
        .limit(1)
    )
    refund = pending
    if refund is None:
        refund = _open_refund(
            session,
            order=order,
            payment=payment,
            amount_fen=amount_fen,
            gateway=gateway,
            reason=reason,
            reverses_sale=True,
        )
    call = refund_call(refund)
    return db.after_commit(session, lambda: _refused_raises(_send_in_own_unit(call, gateway)))


def _send_after_commit(session: Session, call: RefundCall, gateway: StripeGateway) -> AfterCommit[Refund]:
    """On record as pending before Stripe is asked: no money moves that the books do not show."""
    return db.after_commit(session, lambda: _send_in_own_unit(call, gateway))


def _send_in_own_unit(call: RefundCall, gateway: StripeGateway) -> Refund:
    with db.unit_of_work() as session:
        return send_refund(session, call=call, gateway=gateway)


def _refused_raises(refund: Refund) -> Refund:
    if refund.status is RefundStatus.FAILED:
        raise RefundRefused(f"{refund.failure_message}; nothing was refunded")
    return refund


def _open_refund(
    session: Session,
    *,
    order: Order,
    payment: Payment,
    amount_fen: int,
    gateway: StripeGateway,
    reason: str,
    reverses_sale: bool,
) -> Refund:
    ours = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment.id, Refund.status != RefundStatus.FAILED
        )
    ).scalar_one()
    # Stripe's own count too, in case a refund was made there and its webhook is still on the way.
    already = max(ours, gateway.refunded_so_far(payment.external_id))
    if amount_fen <= 0 or already + amount_fen > payment.captured_fen:
        raise RefundTooLarge(
            f"{amount_fen} fen would exceed what is left to refund "
            f"({payment.captured_fen - already} of {payment.captured_fen} fen)"
        )
    earlier = session.execute(
        sa.select(sa.func.count(Refund.id)).where(Refund.payment_id == payment.id)
    ).scalar_one()
    refund = Refund(
        payment=payment,
        status=RefundStatus.PENDING,
        amount_fen=amount_fen,
        reason=reason[:200],
        reverses_sale=reverses_sale,
        idempotency_key=f"shanhai-refund-{payment.external_id}-{earlier + 1}",
    )
    session.add(refund)
    session.flush()
    return refund


def refund_call(refund: Refund) -> RefundCall:
    return RefundCall(
        key=refund.idempotency_key,
        payment_intent_id=refund.payment.external_id,
        amount_fen=refund.amount_fen,
        reason=refund.reason,
    )


def _queue_pending_refunds(session: Session, event: dict, gateway: StripeGateway) -> None:
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(obj, dict):
        return
    intent_id = obj.get("payment_intent") or obj.get("id")
    if not isinstance(intent_id, str):
        return
    pending = session.scalars(
        sa.select(Refund)
        .join(Payment)
        .where(Payment.external_id == intent_id, Refund.status == RefundStatus.PENDING)
        .order_by(Refund.id)
    )
    for refund in pending:
        _send_after_commit(session, refund_call(refund), gateway)


def pending_refunds(
    session: Session, *, older_than: timedelta = timedelta(0), limit: int = 500
) -> list[RefundCall]:
    """Refunds on record whose Stripe answer never arrived, oldest first."""
    refunds = session.scalars(
        sa.select(Refund)
        .where(Refund.status == RefundStatus.PENDING, Refund.created_at <= utcnow() - older_than)
        .order_by(Refund.id)
        .limit(limit)
    )
    return [refund_call(refund) for refund in refunds]


def send_refund(session: Session, *, call: RefundCall, gateway: StripeGateway) -> Refund:
    """Ask Stripe for a refund committed as pending, then record the answer in `session`.

    Call it with the pending refund committed and no transaction open: nothing is locked while
    Stripe answers. Asking again is harmless, as the refund is found by its key before any new
    one is made. When Stripe cannot be reached the refund stays pending and this raises.
    """
    try:
        made = gateway.refund_once(
            payment_intent_id=call.payment_intent_id,
            amount_fen=call.amount_fen,
            reason=call.reason,
            key=call.key,
        )
    except RefundRefused as error:
        return _settle_refund(session, key=call.key, external_id=None, failure=error.detail)
    except PaymentProviderError as error:
        raise PaymentProviderError(
            f"{error.detail}; the refund of {call.amount_fen} fen stays "
            "pending and is sent again (the same request again, or "
            "`flask shanhai reconcile-refunds`)"
        ) from error
    if made.status in ("failed", "canceled"):
        return _settle_refund(
            session, key=call.key, external_id=made.id, failure=f"Stripe reports the refund {made.status}"
        )
    return _settle_refund(session, key=call.key, external_id=made.id)


def _settle_refund(
    session: Session, *, key: str, external_id: str | None, failure: str | None = None
) -> Refund:
    refund = session.scalars(sa.select(Refund).where(Refund.idempotency_key == key)).one()
    order = get_order(session, refund.payment.order.reference, for_update=True)
    refund = session.scalars(
        sa.select(Refund)
        .where(Refund.id == refund.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if refund.status is not RefundStatus.PENDING:
        return refund  # another delivery or retry recorded the answer first
    refund.external_id = external_id
    refund.settled_at = utcnow()
    if failure is not None:
        refund.status = RefundStatus.FAILED
        refund.failure_message = failure[:500]
        session.flush()
        return refund
    refund.status = RefundStatus.SUCCEEDED
    _book_refund(session, order, refund)
    return refund


def _book_refund(session: Session, order: Order, refund: Refund) -> None:
    """Money Stripe has returned: the order's totals, and the sale's reversal in the ledger."""
    order.refunded_fen += refund.amount_fen
    if refund.reverses_sale and order.status in (
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.COMPLETED,
        OrderStatus.PARTIALLY_REFUNDED,
    ):
        if refund.external_id is None:
            raise PaymentProviderError(f"refund {refund.id} succeeded without Stripe's refund id")
        ledger.post_reversal(
            session,
            source_type=REFUND,
            source_id=refund.external_id,
            of_source_type=SALE,
            of_source_id=order.reference,
            amount_fen=refund.amount_fen,
            memo=refund.reason[:200],
        )
        order.status = (
            OrderStatus.REFUNDED
            if order.refunded_fen >= order.captured_fen
            else OrderStatus.PARTIALLY_REFUNDED
        )
    session.flush()
