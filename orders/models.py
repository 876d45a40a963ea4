from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Lot, Sku
from marketplace.core.db import Base, utcnow
from marketplace.core.models import Timestamped, enum_column
from marketplace.parties.models import Organisation


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_not_negative"),
        sa.CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= captured_fen", name="refunds_within_captured"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unguessable: it is also what lets a guest see and pay their own order.
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # A guest's address as the app saw it: what bounds one anonymous buyer's holds.
    client_address: Mapped[str | None] = mapped_column(sa.String(45))
    buyer_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    buyer_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    captured_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reserved_until: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    carrier: Mapped[str | None] = mapped_column(sa.String(100))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(100))
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(200))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id")
    buyer_organisation: Mapped[Organisation | None] = relationship()


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    quantity: Mapped[int]
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # Each seller ships its own lines of a mixed order, in its own parcel.
    shipped_at: Mapped[datetime | None]
    carrier: Mapped[str | None] = mapped_column(sa.String(100))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(100))

    order: Mapped[Order] = relationship(back_populates="lines")
    sku: Mapped[Sku] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="line", order_by="Allocation.id", cascade="all, delete-orphan"
    )


class AllocationState(enum.StrEnum):
    HELD = "held"
    SOLD = "sold"
    RELEASED = "released"


class Allocation(Base):
    """Stock of one lot held for (then sold to) one order line, in the lot's unit."""

    __tablename__ = "allocations"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    packs: Mapped[int]
    quantity: Mapped[Decimal]
    state: Mapped[AllocationState] = mapped_column(enum_column(AllocationState, "allocation_state"))

    line: Mapped[OrderLine] = relationship(back_populates="allocations")
    lot: Mapped[Lot] = relationship()


class PaymentStatus(enum.StrEnum):
    REQUIRES_PAYMENT = "requires_payment"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class Payment(Timestamped, Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    captured_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))

    order: Mapped[Order] = relationship(back_populates="payments")


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Base):
    """A refund is on record as pending before Stripe is asked, so that no money moves unrecorded;
    only a succeeded one counts in the order's totals and the ledger."""

    __tablename__ = "refunds"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    # Stripe's refund id, known once Stripe has answered.
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # Sent as Stripe's Idempotency-Key and in the refund's metadata, where a lost answer is found.
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, "refund_status"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(200))
    # False for money returned from a payment the order never accepted: no sale to reverse.
    reverses_sale: Mapped[bool] = mapped_column(default=True)
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    payment: Mapped[Payment] = relationship()


class StripeEvent(Base):
    """Each webhook event id once: recorded in the same transaction as its effect."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(sa.String(100))
