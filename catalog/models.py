from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Base, utcnow
from marketplace.core.models import Timestamped, enum_column
from marketplace.parties.models import Cluster, Organisation, Village


class Brand(Timestamped, Base):
    """区域公用品牌: a cluster's umbrella brand."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    slogan_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    slogan_en: Mapped[str] = mapped_column(sa.String(200), default="")
    story_zh: Mapped[str] = mapped_column(sa.Text, default="")
    story_en: Mapped[str] = mapped_column(sa.Text, default="")
    # The logo lives in the database so that every stateless app server can serve it.
    logo_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    logo_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    cluster: Mapped[Cluster] = relationship()


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))


class BrandLicence(Timestamped, Base):
    """品牌授权: the operator lets one grower use a brand, for one product line or all, for a time.

    The product line is a category: a licence for 西湖龙井 tea covers no 西湖龙井 celery.
    """

    __tablename__ = "brand_licences"
    __table_args__ = (
        sa.CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="period_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id"), index=True)
    licensee_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # None: every product line of the brand.
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    valid_from: Mapped[datetime]
    # None: until revoked.
    valid_until: Mapped[datetime | None]
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)

    brand: Mapped[Brand] = relationship()
    licensee: Mapped[Organisation] = relationship()
    category: Mapped[Category | None] = relationship()

    def in_force(self, at: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.valid_from <= at
            and (self.valid_until is None or at < self.valid_until)
        )

    @property
    def in_force_now(self) -> bool:
        return self.in_force(utcnow())


class Product(Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id"), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")

    brand: Mapped[Brand] = relationship()
    category: Mapped[Category] = relationship()
    village: Mapped[Village] = relationship()
    cooperative: Mapped[Organisation] = relationship()


class Sku(Timestamped, Base):
    __tablename__ = "skus"
    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("pack_size > 0", name="pack_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    pack_size: Mapped[Decimal]
    pack_unit: Mapped[str] = mapped_column(sa.String(16))
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    gtin: Mapped[str] = mapped_column(sa.String(14), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship()


class LotStatus(enum.StrEnum):
    REGISTERED = "registered"
    INSPECTED = "inspected"
    GRADED = "graded"
    REJECTED = "rejected"
    ON_SALE = "on_sale"
    SOLD_OUT = "sold_out"
    RECALLED = "recalled"


LOT_TRANSITIONS: dict[LotStatus, frozenset[LotStatus]] = {
    LotStatus.REGISTERED: frozenset({LotStatus.INSPECTED, LotStatus.RECALLED}),
    LotStatus.INSPECTED: frozenset({LotStatus.GRADED, LotStatus.REJECTED, LotStatus.RECALLED}),
    # A graded or rejected lot may be inspected again; the newest inspection governs.
    LotStatus.GRADED: frozenset({LotStatus.INSPECTED, LotStatus.ON_SALE, LotStatus.RECALLED}),
    LotStatus.REJECTED: frozenset({LotStatus.INSPECTED, LotStatus.RECALLED}),
    LotStatus.ON_SALE: frozenset({LotStatus.GRADED, LotStatus.SOLD_OUT, LotStatus.RECALLED}),
    # Released reservations can bring stock back to a sold-out lot; one that may no longer carry
    # its brand is withdrawn, so that they do not.
    LotStatus.SOLD_OUT: frozenset({LotStatus.ON_SALE, LotStatus.GRADED, LotStatus.RECALLED}),
    LotStatus.RECALLED: frozenset(),
}


class Lot(Timestamped, Base):
    """批次: one harvest of one product from one village and cooperative; stock lives here."""

    __tablename__ = "lots"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "lot_code"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("stock_on_hand >= 0", name="stock_not_negative"),
        sa.CheckConstraint("stock_on_hand <= quantity", name="stock_within_quantity"),
        # The last line against overselling, whatever the code above it does.
        sa.CheckConstraint("reserved >= 0 AND reserved <= stock_on_hand", name="reserved_within_stock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    lot_code: Mapped[str] = mapped_column(sa.String(20))
    harvested_on: Mapped[date]
    quantity: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(sa.String(16))
    stock_on_hand: Mapped[Decimal]
    # Held by unpaid orders: available to sell is stock_on_hand - reserved.
    reserved: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    inputs_used: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[LotStatus] = mapped_column(
        enum_column(LotStatus, "lot_status"), index=True, default=LotStatus.REGISTERED
    )
    status_changed_at: Mapped[datetime | None]
    recall_reason: Mapped[str | None] = mapped_column(sa.Text)

    product: Mapped[Product] = relationship()
    village: Mapped[Village] = relationship()
    cooperative: Mapped[Organisation] = relationship()

    def can_move_to(self, status: LotStatus) -> bool:
        return status in LOT_TRANSITIONS[self.status]
