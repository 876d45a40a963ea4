from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Brand, Category, Lot
from marketplace.accounts.models import User
from marketplace.core.db import Base, utcnow

# 承诺依据 on the certificate form: what the producer's commitment rests on.
CERTIFICATE_BASES = {
    "self_test": "自检合格",
    "commissioned_test": "委托检测合格",
    "quality_control": "内部质量控制合格",
}
COMMITMENT = (
    "我承诺对产品质量安全以及合格证真实性负责:不使用禁限用农药兽药;不使用非法添加物;"
    "遵守农药安全间隔期、兽药休药期规定;销售的食用农产品符合农药兽药残留食品安全国家"
    "强制性标准。"
)


class QualityStandard(Base):
    """品控标准: one version of a standard; immutable once published."""

    __tablename__ = "quality_standards"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str] = mapped_column(sa.String(32))
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    effective_from: Mapped[date]
    source: Mapped[str] = mapped_column(sa.Text)
    # Grades, criteria, measurements, lab tests, worked examples: see quality/standards/*.json.
    definition: Mapped[dict] = mapped_column(sa.JSON)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category] = relationship()

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def grade_codes(self) -> list[str]:
        return [grade["code"] for grade in self.definition.get("grades", [])]


class Inspection(Base):
    """A sample taken from a lot and what was found in it; never edited, re-inspection adds one."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    inspected_at: Mapped[datetime] = mapped_column(default=utcnow)
    sample_size: Mapped[int]
    sampling_plan: Mapped[dict | None] = mapped_column(sa.JSON)
    measurements: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    unit_classes: Mapped[dict | None] = mapped_column(sa.JSON)
    lab_results: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    sensory: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    note: Mapped[str] = mapped_column(sa.Text, default="")

    lot: Mapped[Lot] = relationship()
    inspector: Mapped[User] = relationship()
    photos: Mapped[list[InspectionPhoto]] = relationship(
        order_by="InspectionPhoto.id", back_populates="inspection"
    )

    def sample(self) -> dict:
        """What the grading engine reads."""
        return {
            "measurements": self.measurements or {},
            "unit_classes": self.unit_classes,
            "lab_results": self.lab_results or {},
            "sensory": self.sensory or {},
        }


class InspectionPhoto(Base):
    __tablename__ = "inspection_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)

    inspection: Mapped[Inspection] = relationship(back_populates="photos")


class Grade(Base):
    """The engine's verdict on one inspection under one standard version, with its explanation."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_standards.id"), index=True)
    grade_code: Mapped[str | None] = mapped_column(sa.String(32))
    # 1 is the standard's best grade; None when rejected.
    grade_rank: Mapped[int | None]
    residue_result: Mapped[str] = mapped_column(sa.String(16))
    explanation: Mapped[list] = mapped_column(sa.JSON)
    summary: Mapped[str] = mapped_column(sa.Text)
    graded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)

    lot: Mapped[Lot] = relationship()
    inspection: Mapped[Inspection] = relationship()
    standard: Mapped[QualityStandard] = relationship()
    graded_by: Mapped[User] = relationship()

    @property
    def rejected(self) -> bool:
        return self.grade_code is None


class Certificate(Base):
    """承诺达标合格证: the producer's commitment that a graded lot meets the standard."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    grade_id: Mapped[int] = mapped_column(sa.ForeignKey("grades.id"), index=True)
    product_name: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(sa.String(16))
    origin: Mapped[str] = mapped_column(sa.String(300))
    producer: Mapped[str] = mapped_column(sa.String(200))
    contact_phone: Mapped[str] = mapped_column(sa.String(40))
    issued_on: Mapped[date]
    basis: Mapped[list] = mapped_column(sa.JSON)
    commitment: Mapped[str] = mapped_column(sa.Text)
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lot: Mapped[Lot] = relationship()
    grade: Mapped[Grade] = relationship()


class BrandMinimumGrade(Base):
    """The lowest grade of a standard that may carry a brand."""

    __tablename__ = "brand_minimum_grades"
    __table_args__ = (sa.UniqueConstraint("brand_id", "standard_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id"), index=True)
    standard_code: Mapped[str] = mapped_column(sa.String(64))
    grade_code: Mapped[str] = mapped_column(sa.String(32))
    set_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    brand: Mapped[Brand] = relationship()
