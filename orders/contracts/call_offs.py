"""Call-offs: an enterprise orders against its active contract, at the contract's price.

The order is an ordinary order (orders.service reserves its stock); what differs is its price,
the contracted quantity it draws down, and that it may be paid by bank transfer on invoice.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import units
from catalog.models import Sku
from marketplace.accounts.models import User
from marketplace.core.db import rows_matched, utcnow
from marketplace.parties.models import Role
from orders import service as orders_service
from orders import signals as order_signals
from orders.contracts import service
from orders.contracts.errors import (
    BankReferenceUsed,
    CallOffInvalid,
    NotAContractParty,
    NotAnInvoiceCallOff,
    OverContractQuantity,
)
from orders.contracts.models import CallOff, CallOffPayment, Contract
from orders.errors import OrderNotPayable
from orders.models import Order, OrderStatus, Payment, PaymentStatus
from quality import service as quality_service

# An invoice is paid by bank transfer within days, not in the minutes a card takes.
INVOICE_HOLD = timedelta(days=14)


def place_call_off(
    session: Session,
    *,
    actor: User,
    contract_id: int,
    lines: list[dict],
    payment: CallOffPayment,
    card_hold: timedelta,
) -> Order:
    contract = service.get_contract(session, contract_id, actor=actor, for_update=True)
    if actor.role is not Role.ENTERPRISE or actor.organisation_id != contract.enterprise_id:
        raise NotAContractParty(f"only the enterprise of contract {contract_id} calls off")
    terms = service._active_terms(contract)
    for requested in lines:
        sku = session.get(Sku, requested["sku_id"])
        if sku is not None and sku.product_id != contract.product_id:
            raise CallOffInvalid(
                f"SKU {sku.id} is not of the contract's product",
                errors={"json": {"lines": [f"SKU {sku.id} is another product"]}},
            )
    order = orders_service.place_order(
        session,
        lines=lines,
        buyer=actor,
        email=None,
        currency=terms["currency"],
        hold=INVOICE_HOLD if payment is CallOffPayment.INVOICE else card_hold,
    )
    today = utcnow().date()
    drawn = Decimal(0)
    for line in order.lines:
        pack = units.convert(line.sku.pack_size, line.sku.pack_unit, terms["unit"])
        if pack is None:
            raise CallOffInvalid(
                f"SKU {line.sku_id} is packed in {line.sku.pack_unit}, not measurable in {terms['unit']}",
                errors={"json": {"lines": ["unit cannot be converted"]}},
            )
        grades = [quality_service.current_grade(session, a.lot_id) for a in line.allocations]
        codes = [
            g.grade_code
            for g in grades
            if g is not None and g.grade_code is not None and g.grade_code in terms["grades"]
        ]
        if len(codes) != len(grades):
            raise CallOffInvalid(
                f"SKU {line.sku_id}'s stock has no grade of this contract",
                errors={"json": {"lines": ["stock not graded for the contract"]}},
            )
        # Stock of mixed grades is priced at the lowest of them.
        grade = max(codes, key=terms["grades"].index)
        price, _ = service.unit_price(session, terms=terms, grade=grade, on=today)
        line.unit_price_fen = service.round_half_up(pack * price)
        line.total_fen = line.unit_price_fen * line.quantity
        drawn += pack * line.quantity
    order.total_fen = sum(line.total_fen for line in order.lines)
    drawn = drawn.quantize(Decimal("0.001"))
    taken = drawn <= contract.maximum_quantity and rows_matched(
        session.execute(
            sa.update(Contract)
            .where(
                Contract.id == contract.id,
                Contract.accepted_quantity + drawn <= Contract.maximum_quantity,
            )
            .values(accepted_quantity=Contract.accepted_quantity + drawn)
            .execution_options(synchronize_session=False)
        )
    )
    if not taken:
        raise OverContractQuantity(
            f"{drawn} {terms['unit']} would exceed what is left of the "
            f"contract ({contract.maximum_quantity} at most)"
        )
    session.add(CallOff(order_id=order.id, contract_id=contract.id, quantity=drawn, payment=payment))
    session.flush()
    session.refresh(contract)
    return order


def record_bank_transfer(session: Session, *, reference: str, bank_reference: str) -> Order:
    """An operator records the transfer that paid an invoiced call-off: it is paid as by card."""
    order = orders_service.get_order(session, reference, for_update=True)
    call_off = session.get(CallOff, order.id)
    if call_off is None or call_off.payment is not CallOffPayment.INVOICE:
        raise NotAnInvoiceCallOff(f"order {reference} is not a call-off paid by invoice")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotPayable(f"order {reference} is {order.status.value} and takes no payment")
    if session.scalar(sa.select(Payment.id).where(Payment.external_id == bank_reference)):
        raise BankReferenceUsed(f"the transfer {bank_reference} already paid another order")
    session.add(
        Payment(
            order=order,
            provider="bank_transfer",
            external_id=bank_reference,
            amount_fen=order.total_fen,
            captured_fen=order.total_fen,
            status=PaymentStatus.SUCCEEDED,
        )
    )
    order.captured_fen = order.total_fen
    orders_service.mark_paid(session, order)
    return order


def give_back_quantity(session: Session, *, order: Order) -> None:
    """A cancelled call-off gives its quantity back to the contract it drew down."""
    call_off = session.get(CallOff, order.id)
    if call_off is not None:
        session.execute(
            sa.update(Contract)
            .where(Contract.id == call_off.contract_id)
            .values(accepted_quantity=Contract.accepted_quantity - call_off.quantity)
        )


def sales_contract_id(session: Session, *, order: Order) -> int | None:
    """A call-off's sales are split by its contract's sharing rule."""
    call_off = session.get(CallOff, order.id)
    return call_off.contract_id if call_off is not None else None


# The order package cancels and takes payment for call-offs as for any order; these answer it.
order_signals.order_cancelled.connect(give_back_quantity)
order_signals.sales_contract.connect(sales_contract_id)
