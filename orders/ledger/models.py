"""Benefit-sharing rules (利益联结) and the append-only double-entry ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Base, utcnow
from marketplace.core.models import enum_column


class Party(enum.StrEnum):
    VILLAGE_COLLECTIVE = "village_collective"
    VILLAGE_GROUP = "village_group"
    COOPERATIVE = "cooperative"
    FARMERS = "farmers"
    OPERATOR = "operator"
    ENTERPRISE = "enterprise"


class SharingRule(Base):
    """How the money of a sale is split; attached to a cluster, a product, or a contract."""

    __tablename__ = "sharing_rules"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN cluster_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN product_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN contract_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_scope",
        ),
        sa.CheckConstraint("guaranteed_fen >= 0", name="guarantee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    # A guaranteed amount paid first to one party; the percentages share the rest.
    guaranteed_party: Mapped[Party | None] = mapped_column(enum_column(Party, "guaranteed_party"))
    guaranteed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    shares: Mapped[list[SharingShare]] = relationship(
        back_populates="rule", order_by="SharingShare.position", cascade="all, delete-orphan"
    )


class SharingShare(Base):
    __tablename__ = "sharing_shares"
    __table_args__ = (
        sa.CheckConstraint("basis_points > 0 AND basis_points <= 10000", name="basis_points_range"),
        sa.UniqueConstraint("rule_id", "party"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("sharing_rules.id"), index=True)
    position: Mapped[int]
    party: Mapped[Party] = mapped_column(enum_column(Party, "share_party"))
    basis_points: Mapped[int]

    rule: Mapped[SharingRule] = relationship(back_populates="shares")


class LedgerEntry(Base):
    """One side of a balanced posting; triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint(
            "debit_fen >= 0 AND credit_fen >= 0 AND (debit_fen = 0) <> (credit_fen = 0)", name="one_sided"
        ),
        sa.Index("ix_ledger_entries_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    posting: Mapped[str] = mapped_column(sa.String(36), index=True)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source_type: Mapped[str] = mapped_column(sa.String(20))
    source_id: Mapped[str] = mapped_column(sa.String(64))
    account: Mapped[str] = mapped_column(sa.String(40))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # 经营性收入 and the like: lets reports pick a collective's operating income.
    income_category: Mapped[str | None] = mapped_column(sa.String(40))
    debit_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    credit_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    memo: Mapped[str] = mapped_column(sa.String(200), default="")


class LedgerDay(Base):
    """Each village's ledger summed per local day, for the dashboard.

    A database trigger on ledger_entries (migration 0008) adds every inserted line here, whichever
    code wrote it, in the region's zone at migration time (SHANHAI_TIMEZONE). Reports read a few
    hundred of these rows where they would otherwise sum hundreds of thousands of lines.
    """

    __tablename__ = "ledger_days"

    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)
    # The collective's operating income (经营性收入): its credits less debits in that category.
    collective_income_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Every party's share of sales ("order", "sale"), and of refunds, clearing left out.
    sales_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunds_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Orders paid: counted at the first line an order posts to the village, however many lots
    # of that village it took from.
    orders_paid: Mapped[int] = mapped_column(default=0)
