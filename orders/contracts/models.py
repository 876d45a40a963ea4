"""Contracts, their signed versions, market prices, advances, deliveries and settlements."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Lot
from marketplace.core.db import Base, Quantity, utcnow
from marketplace.core.models import Timestamped, enum_column
from marketplace.parties.models import Organisation

QUANTITY = Quantity


class ContractStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    FULFILLED = "fulfilled"
    TERMINATED = "terminated"


class Contract(Timestamped, Base):
    """A purchase contract; its terms live in versions, the one in force is `current_version`."""

    __tablename__ = "contracts"
    __table_args__ = (
        # The last word against over-delivery: two acceptances racing cannot both pass it.
        sa.CheckConstraint(
            "accepted_quantity >= 0 AND accepted_quantity <= maximum_quantity", name="accepted_within_maximum"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    grower_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus, "contract_status"), index=True)
    current_version: Mapped[int | None]
    maximum_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    # Drawn down so far: accepted deliveries plus call-offs that were not cancelled.
    accepted_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(500))

    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_id])
    grower: Mapped[Organisation] = relationship(foreign_keys=[grower_id])
    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.number", cascade="all, delete-orphan"
    )

    @property
    def terms_in_force(self) -> ContractVersion | None:
        return next((v for v in self.versions if v.number == self.current_version), None)

    @property
    def pending(self) -> ContractVersion | None:
        """The version awaiting signatures: the draft, or an amendment."""
        return next((v for v in self.versions if v.signed_at is None), None)

    @property
    def latest(self) -> ContractVersion:
        return self.versions[-1]


class ContractVersion(Base):
    """One version of the terms: the first draft, or an amendment. Frozen once both have signed."""

    __tablename__ = "contract_versions"
    __table_args__ = (sa.UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    number: Mapped[int]
    terms: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SHA-256 of the canonical JSON of `terms`, fixed at the second signature.
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    enterprise_signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    enterprise_signed_at: Mapped[datetime | None]
    grower_signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    grower_signed_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship(back_populates="versions")


class MarketPrice(Base):
    """The day's market reference price of a product at a grade, entered by an operator."""

    __tablename__ = "market_prices"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "grade_code", "unit", "priced_on"),
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    grade_code: Mapped[str] = mapped_column(sa.String(32))
    unit: Mapped[str] = mapped_column(sa.String(16))
    priced_on: Mapped[date]
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdvanceKind(enum.StrEnum):
    SEEDLINGS = "seedlings"
    FEED = "feed"
    FERTILISER = "fertiliser"
    CASH = "cash"
    OTHER = "other"


class Advance(Base):
    """Inputs advanced to the grower; deducted at the next settlement."""

    __tablename__ = "contract_advances"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    kind: Mapped[AdvanceKind] = mapped_column(enum_column(AdvanceKind, "advance_kind"))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    given_on: Mapped[date]
    settlement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("settlements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Delivery(Base):
    __tablename__ = "contract_deliveries"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("received_quantity IS NULL OR received_quantity > 0", name="received_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    window: Mapped[int]
    delivered_on: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    lot_grade: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "delivery_status"), index=True)
    received_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    receipt_grade: Mapped[str | None] = mapped_column(sa.String(32))
    reinspection_grade_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grades.id"))
    settled_grade: Mapped[str | None] = mapped_column(sa.String(32))
    contract_version: Mapped[int | None]
    unit_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    price_basis: Mapped[str | None] = mapped_column(sa.String(500))
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    settlement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("settlements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lot: Mapped[Lot] = relationship()


class SettlementStatus(enum.StrEnum):
    ISSUED = "issued"
    PAID = "paid"


class Settlement(Base):
    __tablename__ = "settlements"
    __table_args__ = (
        sa.CheckConstraint("total_due_fen >= 0", name="total_not_negative"),
        sa.CheckConstraint("period_start <= period_end", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    gross_fen: Mapped[int] = mapped_column(sa.BigInteger)
    advances_fen: Mapped[int] = mapped_column(sa.BigInteger)
    deposit_fen: Mapped[int] = mapped_column(sa.BigInteger)
    total_due_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[SettlementStatus] = mapped_column(enum_column(SettlementStatus, "settlement_status"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    bank_reference: Mapped[str | None] = mapped_column(sa.String(100))

    contract: Mapped[Contract] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(order_by="Delivery.id")
    advances: Mapped[list[Advance]] = relationship(order_by="Advance.id")


class CallOffPayment(enum.StrEnum):
    INVOICE = "invoice"
    CARD = "card"


class CallOff(Base):
    """An enterprise's order against its contract: it draws down the contracted quantity."""

    __tablename__ = "call_offs"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    payment: Mapped[CallOffPayment] = mapped_column(enum_column(CallOffPayment, "call_off_payment"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
