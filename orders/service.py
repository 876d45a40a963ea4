"""Use cases of orders: reserve stock, take payment through webhooks, fulfil, refund."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.models import Lot, LotStatus, Sku
from marketplace.auth import service as auth_service
from marketplace.auth.models import Role, User
from marketplace.db import sorted_by, utcnow
from orders import ledger
from orders.contracts.models import CallOff, Contract
from orders.errors import (
    GuestHoldsExceeded,
    GuestNeedsEmail,
    GuestOrderTooLarge,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotFulfillable,
    OrderNotPayable,
    OutOfStock,
    RefundTooLarge,
    SkuNotOnSale,
)
from orders.models import (
    Allocation,
    AllocationState,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    StripeEvent,
)
from orders.stripe_gateway import StripeGateway

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


def list_orders(session: Session, *, actor: User, status: OrderStatus | None = None,
                sort: str | None = None) -> sa.Select:
    statement = sa.select(Order)
    if actor.role is Role.ENTERPRISE:
        statement = statement.where(Order.buyer_organisation_id == actor.organisation_id)
    elif actor.role is Role.COOPERATIVE:
        statement = statement.where(Order.id.in_(
            sa.select(OrderLine.order_id).join(Allocation).join(Lot)
            .where(Lot.cooperative_id == actor.organisation_id)))
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


def place_order(session: Session, *, lines: list[dict], buyer: User | None, email: str | None,
                hold: timedelta, currency: str, client_address: str | None = None,
                guest_limits: GuestLimits = GuestLimits()) -> Order:
    """Reserve every line's stock or none: an order that cannot be filled whole fails whole."""
    if buyer is None and not email:
        raise GuestNeedsEmail("a guest order needs an e-mail address for its receipt",
                              errors={"json": {"email": ["required without a sign-in"]}})
    expire_reservations(session)
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line["sku_id"]] = wanted.get(line["sku_id"], 0) + line["quantity"]
    if buyer is None:
        _ensure_within_guest_limits(session, wanted=wanted, email=email,
                                    client_address=client_address, limits=guest_limits)
    order = Order(reference=secrets.token_urlsafe(16), status=OrderStatus.PENDING_PAYMENT,
                  email=email, buyer_user_id=buyer.id if buyer else None,
                  buyer_organisation_id=buyer.organisation_id if buyer else None,
                  client_address=client_address if buyer is None else None,
                  currency=currency, total_fen=0, reserved_until=utcnow() + hold)
    short = []
    # SKUs in id order, lots in harvest order: every order locks rows in the same sequence.
    for sku_id in sorted(wanted):
        sku = session.get(Sku, sku_id)
        if sku is None or not sku.is_active:
            raise SkuNotOnSale(f"SKU {sku_id} is not for sale",
                               errors={"json": {"lines": [f"SKU {sku_id} is not for sale"]}})
        if sku.currency != currency:
            raise SkuNotOnSale(f"SKU {sku_id} is priced in {sku.currency}",
                               errors={"json": {"lines": [f"SKU {sku_id} is not in {currency}"]}})
        line = OrderLine(sku=sku, quantity=wanted[sku_id], unit_price_fen=sku.price_fen,
                         total_fen=sku.price_fen * wanted[sku_id])
        missing = _reserve_line(session, line)
        if missing:
            short.append({"sku_id": sku_id, "requested": wanted[sku_id],
                          "available": wanted[sku_id] - missing})
        order.lines.append(line)
    if short:
        if buyer is None:
            # Exact counts would tell an anonymous caller how much there is to hoard.
            short = [{"sku_id": s["sku_id"], "requested": s["requested"]} for s in short]
            names = ", ".join(f"SKU {s['sku_id']}" for s in short)
        else:
            names = ", ".join(f"SKU {s['sku_id']} ({s['available']} of {s['requested']} available)"
                              for s in short)
        raise OutOfStock(f"not enough stock: {names}", short=short)
    order.total_fen = sum(line.total_fen for line in order.lines)
    session.add(order)
    session.flush()
    return order


def _ensure_within_guest_limits(session: Session, *, wanted: dict[int, int], email: str,
                                client_address: str | None, limits: GuestLimits) -> None:
    """An unverified buyer holds little at once; signing in as a buyer lifts these bounds."""
    too_many = [sku_id for sku_id, packs in sorted(wanted.items()) if packs > limits.packs_per_sku]
    if too_many:
        raise GuestOrderTooLarge(
            f"a guest order takes at most {limits.packs_per_sku} packs of one SKU; sign in to "
            "order more", errors={"json": {"lines": [f"SKU {sku_id}: at most {limits.packs_per_sku} "
                                                     "packs without a sign-in" for sku_id in too_many]}})
    if sum(wanted.values()) > limits.packs_per_order:
        raise GuestOrderTooLarge(
            f"a guest order takes at most {limits.packs_per_order} packs; sign in to order more",
            errors={"json": {"lines": [f"at most {limits.packs_per_order} packs without a sign-in"]}})
    holding = sa.and_(Order.status == OrderStatus.PENDING_PAYMENT, Order.reserved_until >= utcnow(),
                      Order.buyer_user_id.is_(None))
    same_email = sa.func.lower(Order.email) == email.lower()
    same_address = Order.client_address == client_address if client_address else sa.false()
    for matches, limit, whose in ((same_email, limits.open_orders_per_email, "this e-mail address"),
                                  (same_address, limits.open_orders_per_address, "your address")):
        held = session.scalar(sa.select(sa.func.count()).select_from(Order).where(holding, matches))
        if held >= limit:
            raise GuestHoldsExceeded(f"{whose} already has {held} unpaid orders holding stock; pay "
                                     "or cancel one first, or sign in")
    held_packs = session.execute(
        sa.select(OrderLine.sku_id, sa.func.sum(OrderLine.quantity)).join(Order)
        .where(holding, sa.or_(same_email, same_address), OrderLine.sku_id.in_(wanted))
        .group_by(OrderLine.sku_id).order_by(OrderLine.sku_id))
    for sku_id, packs in held_packs:
        if packs + wanted[sku_id] > limits.packs_per_sku:
            raise GuestHoldsExceeded(f"unpaid orders of yours already hold {packs} packs of SKU "
                                     f"{sku_id}; a guest holds at most {limits.packs_per_sku} at "
                                     "once: pay or cancel first, or sign in")


def _reserve_line(session: Session, line: OrderLine) -> int:
    """Hold packs for the line from lots on sale; returns how many packs could not be held."""
    packs_left = line.quantity
    for lot, pack in catalog_service.sellable_lots(session, line.sku):
        # A refused hold means another order took this lot's stock (or it left sale) meanwhile:
        # read it again, a bounded number of times, then go on to the next lot.
        for _attempt in range(RESERVE_ATTEMPTS):
            packs = min(packs_left, int(_available(session, lot.id) // pack))
            if packs <= 0:
                break
            if catalog_service.reserve_stock(session, lot_id=lot.id, quantity=pack * packs):
                line.allocations.append(Allocation(lot_id=lot.id, packs=packs,
                                                   quantity=pack * packs,
                                                   state=AllocationState.HELD))
                packs_left -= packs
                break
        if not packs_left:
            break
    return packs_left


def _available(session: Session, lot_id: int) -> Decimal:
    stock, reserved = session.execute(sa.select(Lot.stock_on_hand, Lot.reserved)
                                      .where(Lot.id == lot_id)).one()
    return stock - reserved


def expire_reservations(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """Cancel unpaid orders whose hold has run out, giving their stock back."""
    now = now or utcnow()
    expired = session.scalars(sa.select(Order).where(Order.status == OrderStatus.PENDING_PAYMENT,
                                                     Order.reserved_until < now)
                              .order_by(Order.id).limit(limit).with_for_update(skip_locked=True)
                              ).all()
    for order in expired:
        _cancel(session, order, "the reservation expired before payment")
    return len(expired)


def cancel_order(session: Session, *, reference: str, reason: str = "cancelled by the buyer") -> Order:
    order = get_order(session, reference, for_update=True)
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotCancellable(f"order {reference} is {order.status.value}; only unpaid orders "
                                  "can be cancelled (paid ones are refunded)")
    _cancel(session, order, reason)
    return order


def _cancel(session: Session, order: Order, reason: str) -> None:
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.state is AllocationState.HELD:
                catalog_service.release_stock(session, lot_id=allocation.lot_id,
                                              quantity=allocation.quantity)
                allocation.state = AllocationState.RELEASED
    _return_call_off(session, order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    session.flush()


def start_card_payment(session: Session, *, reference: str, gateway: StripeGateway) -> tuple[Payment, str]:
    """One PaymentIntent per order; asking again gives the same one. Returns its client secret."""
    order = get_order(session, reference, for_update=True)
    if order.status is OrderStatus.PENDING_PAYMENT and order.reserved_until < utcnow():
        _cancel(session, order, "the reservation expired before payment")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotPayable(f"order {reference} is {order.status.value} and takes no payment")
    existing = next((p for p in order.payments if p.provider == "stripe"
                     and p.status is PaymentStatus.REQUIRES_PAYMENT), None)
    if existing is not None:
        intent = gateway.retrieve_payment_intent(existing.external_id)
        return existing, intent.client_secret
    attempt = sum(1 for p in order.payments if p.provider == "stripe")
    intent = gateway.create_payment_intent(
        amount_fen=order.total_fen, currency=order.currency, order_reference=order.reference,
        idempotency_key=f"shanhai-order-{order.reference}-attempt-{attempt}")
    payment = Payment(order=order, provider="stripe", external_id=intent.id,
                      amount_fen=order.total_fen, status=PaymentStatus.REQUIRES_PAYMENT)
    session.add(payment)
    session.flush()
    return payment, intent.client_secret


def handle_stripe_event(session: Session, *, event: dict, gateway: StripeGateway) -> str:
    """Apply a verified Stripe event once; a repeat or an unknown type changes nothing."""
    event_id, event_type = event.get("id"), event.get("type", "")
    if not event_id:
        return "ignored: no event id"
    if session.get(StripeEvent, event_id) is not None:
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
    return session.scalar(sa.select(Payment).where(Payment.external_id == intent["id"])
                          .with_for_update())


def _on_payment_succeeded(session: Session, intent: dict, gateway: StripeGateway) -> str:
    payment = _payment_for(session, intent)
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
            allocation.lot.status is LotStatus.RECALLED
            for line in order.lines for allocation in line.allocations):
        _cancel(session, order, "a lot in this order was recalled before the payment arrived")
    if order.status is not OrderStatus.PENDING_PAYMENT or received != order.total_fen:
        why = (f"order was {order.status.value}" if order.status is not OrderStatus.PENDING_PAYMENT
               else f"received {received} fen for an order of {order.total_fen}")
        _refund(session, order=order, payment=payment, amount_fen=received, gateway=gateway,
                reason=f"automatic refund: {why}", post_ledger=False)
        return f"refunded: {why}"
    _mark_paid(session, order)
    return "paid"


def _return_call_off(session: Session, order: Order) -> None:
    """A cancelled call-off gives its quantity back to the contract it drew down."""
    call_off = session.get(CallOff, order.id)
    if call_off is not None:
        session.execute(sa.update(Contract).where(Contract.id == call_off.contract_id)
                        .values(accepted_quantity=Contract.accepted_quantity - call_off.quantity))


def _mark_paid(session: Session, order: Order) -> None:
    call_off = session.get(CallOff, order.id)
    sales = []
    for line in order.lines:
        amounts = ledger.largest_remainder(line.total_fen, [a.packs for a in line.allocations])
        for allocation, amount in zip(line.allocations, amounts, strict=True):
            catalog_service.consume_stock(session, lot_id=allocation.lot_id,
                                          quantity=allocation.quantity)
            allocation.state = AllocationState.SOLD
            sales.append(ledger.Sale(lot=allocation.lot, amount_fen=amount,
                                     memo=f"{allocation.packs} × {line.sku.name_zh}"))
    # Every lot row first, in the order placing the order locked them, then the villages'
    # ledger days in village order: interleaved, two payments could wait on each other.
    ledger.post_sales(session, source_type=SALE, source_id=order.reference,
                      currency=order.currency, sales=sales,
                      contract_id=call_off.contract_id if call_off else None)
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
    """Refunds made in Stripe's dashboard are brought into our books too."""
    payment = session.scalar(sa.select(Payment).where(Payment.external_id == charge.get("payment_intent")))
    if payment is None:
        return "ignored: unknown payment intent"
    recorded = 0
    for refund in (charge.get("refunds") or {}).get("data", []):
        if session.scalar(sa.select(Refund.id).where(Refund.external_id == refund["id"])) is None:
            _record_refund(session, payment=payment, external_id=refund["id"],
                           amount_fen=int(refund["amount"]), reason="refunded in Stripe")
            recorded += 1
    return f"recorded {recorded} refunds"


_HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "payment_intent.canceled": _on_payment_canceled,
    "charge.refunded": _on_charge_refunded,
}


def refund_order(session: Session, *, reference: str, amount_fen: int, reason: str,
                 gateway: StripeGateway) -> Refund:
    order = get_order(session, reference, for_update=True)
    payment = next((p for p in order.payments if p.status is PaymentStatus.SUCCEEDED), None)
    if payment is None:
        raise OrderNotPayable(f"order {reference} has no captured payment to refund")
    return _refund(session, order=order, payment=payment, amount_fen=amount_fen, gateway=gateway,
                   reason=reason, post_ledger=True)


def _refund(session: Session, *, order: Order, payment: Payment, amount_fen: int,
            gateway: StripeGateway, reason: str, post_ledger: bool) -> Refund:
    ours = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0))
                          .where(Refund.payment_id == payment.id))
    # Stripe's own count too, in case a refund was made there and its webhook is still on the way.
    already = max(ours, gateway.refunded_so_far(payment.external_id))
    if amount_fen <= 0 or already + amount_fen > payment.captured_fen:
        raise RefundTooLarge(f"{amount_fen} fen would exceed what is left to refund "
                             f"({payment.captured_fen - already} of {payment.captured_fen} fen)")
    refund = gateway.create_refund(payment_intent_id=payment.external_id, amount_fen=amount_fen,
                                   reason=reason,
                                   idempotency_key=f"shanhai-refund-{payment.external_id}-{already}-{amount_fen}")
    return _record_refund(session, payment=payment, external_id=refund.id, amount_fen=amount_fen,
                          reason=reason, post_ledger=post_ledger)


def _record_refund(session: Session, *, payment: Payment, external_id: str, amount_fen: int,
                   reason: str, post_ledger: bool = True) -> Refund:
    order = payment.order
    refund = Refund(payment=payment, external_id=external_id, amount_fen=amount_fen, reason=reason)
    session.add(refund)
    order.refunded_fen += amount_fen
    if post_ledger and order.status in (OrderStatus.PAID, OrderStatus.FULFILLED,
                                        OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
        ledger.post_reversal(session, source_type=REFUND, source_id=external_id,
                             of_source_type=SALE, of_source_id=order.reference,
                             amount_fen=amount_fen, memo=reason[:200])
        order.status = (OrderStatus.REFUNDED if order.refunded_fen >= order.captured_fen
                        else OrderStatus.PARTIALLY_REFUNDED)
    session.flush()
    return refund


def fulfil_order(session: Session, *, actor: User, reference: str, carrier: str,
                 tracking_number: str) -> Order:
    order = get_order(session, reference, for_update=True)
    _ensure_seller(actor, order)
    if order.status is not OrderStatus.PAID:
        raise OrderNotFulfillable(f"order {reference} is {order.status.value}; only paid orders ship")
    order.status = OrderStatus.FULFILLED
    order.fulfilled_at = utcnow()
    order.carrier, order.tracking_number = carrier, tracking_number
    session.flush()
    return order


def complete_order(session: Session, *, actor: User, reference: str) -> Order:
    order = get_order(session, reference, for_update=True)
    _ensure_seller(actor, order)
    if order.status is not OrderStatus.FULFILLED:
        raise OrderNotFulfillable(f"order {reference} is {order.status.value}; only shipped "
                                  "orders complete")
    order.status = OrderStatus.COMPLETED
    order.completed_at = utcnow()
    session.flush()
    return order


def _ensure_seller(actor: User, order: Order) -> None:
    for line in order.lines:
        for allocation in line.allocations:
            auth_service.ensure_owner(actor, allocation.lot.cooperative_id, f"order {order.reference}")
