from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Base, utcnow
from marketplace.core.models import Timestamped, enum_column


class OrganisationKind(enum.StrEnum):
    COOPERATIVE = "cooperative"
    ENTERPRISE = "enterprise"
    STRONG_VILLAGE_COMPANY = "strong_village_company"
    OPERATOR = "operator"
    INSPECTION_BODY = "inspection_body"


class Role(enum.StrEnum):
    """The part a user plays for its organisation; which kinds of organisation may have users of
    which role is accounts' to say."""

    OPERATOR = "operator"
    COOPERATIVE = "cooperative"
    ENTERPRISE = "enterprise"
    INSPECTOR = "inspector"


class Village(Timestamped, Base):
    __tablename__ = "villages"
    __table_args__ = (
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        sa.CheckConstraint("baseline_income_fen >= 0", name="baseline_income_not_negative"),
        sa.UniqueConstraint("county_zh", "township_zh", "name_zh"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    township_zh: Mapped[str] = mapped_column(sa.String(100))
    township_en: Mapped[str] = mapped_column(sa.String(100))
    county_zh: Mapped[str] = mapped_column(sa.String(100))
    county_en: Mapped[str] = mapped_column(sa.String(100))
    latitude: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6))
    # 村集体经营性收入 in the baseline year: the seeds measure a cluster by growth against it.
    baseline_income_fen: Mapped[int] = mapped_column(sa.BigInteger)
    baseline_year: Mapped[int]

    membership: Mapped[ClusterVillage | None] = relationship(back_populates="village")

    @property
    def cluster_id(self) -> int | None:
        return self.membership.cluster_id if self.membership else None


class Organisation(Timestamped, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind, "organisation_kind"))
    name_zh: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(200))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))

    village: Mapped[Village | None] = relationship()


class Cluster(Timestamped, Base):
    """片区组团: a key village and its neighbours, developed together under one operator and brand."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    key_village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"))
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)

    key_village: Mapped[Village] = relationship()
    operator: Mapped[Organisation] = relationship()
    members: Mapped[list[ClusterVillage]] = relationship(
        back_populates="cluster", cascade="all, delete-orphan", order_by="ClusterVillage.village_id"
    )

    @property
    def village_ids(self) -> list[int]:
        return [member.village_id for member in self.members]


class ClusterVillage(Base):
    """A village belongs to at most one cluster."""

    __tablename__ = "cluster_villages"

    cluster_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), primary_key=True, unique=True)

    cluster: Mapped[Cluster] = relationship(back_populates="members")
    village: Mapped[Village] = relationship(back_populates="membership")


class Pairing(Timestamped, Base):
    """村企结对: an enterprise paired with a village."""

    __tablename__ = "pairings"
    __table_args__ = (sa.UniqueConstraint("village_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    since: Mapped[date]
    note_zh: Mapped[str] = mapped_column(sa.Text, default="")

    village: Mapped[Village] = relationship()
    enterprise: Mapped[Organisation] = relationship()


class CooperativeVillage(Base):
    """A village a grower works in, as the operator records it: its products and lots may come
    from there and its sales credit that village's collective."""

    __tablename__ = "cooperative_villages"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), primary_key=True, index=True)
    since: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    village: Mapped[Village] = relationship()
