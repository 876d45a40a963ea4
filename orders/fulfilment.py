"""Selling into orders: each seller sees and ships only its own lines of an order.

An order may hold lines of several cooperatives. A seller's part of it is those lines and what
shipping them takes; never the buyer's reference (which lets its holder pay and cancel), its
e-mail address, nor the other sellers' lines. The order holds no delivery address yet: when it
does, the seller's part is where it belongs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Lot
from marketplace.accounts.models import User
from marketplace.core.db import sorted_by, utcnow
from marketplace.parties.errors import NotYours
from marketplace.parties.models import Role
from orders.errors import OrderNotFound, OrderNotFulfillable
from orders.models import Allocation, Order, OrderLine, OrderStatus
from orders.service import get_order


@dataclass(frozen=True)
class SellerOrder:
    """One seller's part of an order."""

    id: int
    status: OrderStatus
    currency: str
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    lines: list[OrderLine] = field(default_factory=list)


def seller_of(line: OrderLine) -> int | None:
    """The cooperative whose lots fill the line; None if lots of several do."""
    sellers = {allocation.lot.cooperative_id for allocation in line.allocations}
    return sellers.pop() if len(sellers) == 1 else None


def seller_part(order: Order, *, seller_id: int) -> SellerOrder:
    return SellerOrder(
        id=order.id,
        status=order.status,
        currency=order.currency,
        created_at=order.created_at,
        paid_at=order.paid_at,
        fulfilled_at=order.fulfilled_at,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        lines=[line for line in order.lines if seller_of(line) == seller_id],
    )


def list_seller_orders(
    session: Session, *, seller: User, status: OrderStatus | None = None, sort: str | None = None
) -> sa.Select:
    """Orders holding the seller's lots (make each one's part with seller_part)."""
    statement = sa.select(Order).where(
        Order.id.in_(
            sa.select(OrderLine.order_id)
            .join(Allocation)
            .join(Lot)
            .where(Lot.cooperative_id == seller.organisation_id)
        )
    )
    if status is not None:
        statement = statement.where(Order.status == status)
    return sorted_by(statement, sort, {"created_at": Order.created_at}, Order.id.desc())


def get_seller_order(
    session: Session, *, seller: User, order_id: int, for_update: bool = False
) -> tuple[Order, SellerOrder]:
    """The order and the seller's part of it; an order without its lines is as good as missing."""
    statement = sa.select(Order).where(Order.id == order_id)
    order = session.scalar(statement.with_for_update() if for_update else statement)
    part = seller_part(order, seller_id=seller.organisation_id) if order is not None else None
    if order is None or part is None or not part.lines:
        raise OrderNotFound(f"order {order_id} does not exist")
    return order, part


def ship_seller_order(
    session: Session, *, seller: User, order_id: int, carrier: str, tracking_number: str
) -> SellerOrder:
    order, _ = get_seller_order(session, seller=seller, order_id=order_id, for_update=True)
    _ship(order, actor=seller, carrier=carrier, tracking_number=tracking_number)
    session.flush()
    return seller_part(order, seller_id=seller.organisation_id)


def complete_seller_order(session: Session, *, seller: User, order_id: int) -> SellerOrder:
    order, _ = get_seller_order(session, seller=seller, order_id=order_id, for_update=True)
    _complete(order, actor=seller)
    session.flush()
    return seller_part(order, seller_id=seller.organisation_id)


def fulfil_order(
    session: Session, *, actor: User, reference: str, carrier: str, tracking_number: str
) -> Order:
    """Ship a paid order: an operator its lines not shipped yet, a seller its own lines."""
    order = get_order(session, reference, for_update=True)
    _ship(order, actor=actor, carrier=carrier, tracking_number=tracking_number)
    session.flush()
    return order


def complete_order(session: Session, *, actor: User, reference: str) -> Order:
    order = get_order(session, reference, for_update=True)
    _complete(order, actor=actor)
    session.flush()
    return order


def _ship(order: Order, *, actor: User, carrier: str, tracking_number: str) -> None:
    if actor.role is Role.OPERATOR:
        lines = order.lines
    else:
        lines = [line for line in order.lines if seller_of(line) == actor.organisation_id]
        if not lines:
            raise NotYours(f"order {order.id} holds none of your lines")
    if order.status is not OrderStatus.PAID:
        raise OrderNotFulfillable(f"order {order.id} is {order.status.value}; only paid orders ship")
    unshipped = [line for line in lines if line.shipped_at is None]
    if not unshipped:
        raise OrderNotFulfillable(f"your lines of order {order.id} are already shipped")
    now = utcnow()
    for line in unshipped:
        line.shipped_at, line.carrier, line.tracking_number = now, carrier, tracking_number
    # The order's own carrier and tracking number are its last parcel's.
    order.carrier, order.tracking_number = carrier, tracking_number
    if all(line.shipped_at is not None for line in order.lines):
        order.status = OrderStatus.FULFILLED
        order.fulfilled_at = now


def _complete(order: Order, *, actor: User) -> None:
    # A seller completes only an order that is all its own; a mixed one, an operator.
    if actor.role is not Role.OPERATOR and any(
        seller_of(line) != actor.organisation_id for line in order.lines
    ):
        raise NotYours(f"order {order.id} holds other sellers' lines: an operator completes it")
    if order.status is not OrderStatus.FULFILLED:
        raise OrderNotFulfillable(f"order {order.id} is {order.status.value}; only shipped orders complete")
    order.status = OrderStatus.COMPLETED
    order.completed_at = utcnow()
