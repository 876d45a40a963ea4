from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Lot, Sku
from marketplace.core.db import Base, utcnow
from marketplace.core.models import enum_column

# The most unit codes one mint makes, so also the most one batch holds.
MAX_UNIT_CODES = 100_000


class CodeLevel(enum.StrEnum):
    LOT = "lot"
    UNIT = "unit"


class CodeBatch(Base):
    """One minting request: one lot code, or N unit codes, for a lot under one SKU's GTIN."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    level: Mapped[CodeLevel] = mapped_column(enum_column(CodeLevel, "code_level"))
    quantity: Mapped[int]
    # Data attributes printed (and signed) on every code of the batch, in query form: "7007=260401".
    attributes: Mapped[str] = mapped_column(sa.String(64), default="")
    minted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lot: Mapped[Lot] = relationship()
    sku: Mapped[Sku] = relationship()


class Code(Base):
    """山海协作码: one signed GS1 Digital Link identifier, with its scan counters."""

    __tablename__ = "codes"
    __table_args__ = (sa.UniqueConstraint("gtin", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "(01)…(10)…(21)…": the one lookup key of a scan, so it is unique and indexed.
    identifier: Mapped[str] = mapped_column(sa.String(80), unique=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("code_batches.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    gtin: Mapped[str] = mapped_column(sa.String(14))
    lot_code: Mapped[str] = mapped_column(sa.String(20))
    serial: Mapped[str | None] = mapped_column(sa.String(20))
    signature: Mapped[str] = mapped_column(sa.String(32))
    scan_count: Mapped[int] = mapped_column(default=0)
    first_scanned_at: Mapped[datetime | None]
    last_scanned_at: Mapped[datetime | None]
    suspected_copy_at: Mapped[datetime | None] = mapped_column(index=True)
    suspected_copy_reason: Mapped[str | None] = mapped_column(sa.String(200))

    batch: Mapped[CodeBatch] = relationship()

    @property
    def level(self) -> CodeLevel:
        return CodeLevel.LOT if self.serial is None else CodeLevel.UNIT


class Scan(Base):
    """One scan of a code: when, roughly where, and a salted hash of the client, no raw IP."""

    __tablename__ = "scans"
    __table_args__ = (sa.Index("ix_scans_code_id_scanned_at", "code_id", "scanned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("codes.id"))
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    place: Mapped[str | None] = mapped_column(sa.String(32))
    client_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    genuine: Mapped[bool]


class ScanDay(Base):
    """Scans of one village's codes on one local day, kept up to date as scans are written.

    The dashboard charts a region's scans by day; summing a million scan rows per request would
    not answer in time, and these rows are at most one per village per day.
    """

    __tablename__ = "scan_days"
    __table_args__ = (
        sa.CheckConstraint("scans >= codes_first_scanned AND codes_first_scanned >= 0", name="counts"),
    )

    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)
    scans: Mapped[int] = mapped_column(default=0)
    # Codes whose very first scan fell on this day: packs that reached a consumer.
    codes_first_scanned: Mapped[int] = mapped_column(default=0)


class ScanJournalSegment(Base):
    """How much of one scan journal segment (a process's file of answered scans) is written.

    Moved in the transaction that writes those scans: see marketplace/traceability/journal.py.
    """

    __tablename__ = "scan_journal_segments"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    written_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime]


class EventType(enum.StrEnum):
    """EPCIS business steps Shanhai records, plus the recall disposition."""

    COMMISSIONING = "commissioning"
    INSPECTING = "inspecting"
    PACKING = "packing"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    RETAIL_SELLING = "retail_selling"
    RECALLED = "recalled"


class TraceEvent(Base):
    """One append-only event of a lot's chain; `hash` covers every field and the previous hash."""

    __tablename__ = "trace_events"
    __table_args__ = (sa.UniqueConstraint("lot_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"), index=True)
    sequence: Mapped[int]
    event_type: Mapped[EventType] = mapped_column(enum_column(EventType, "trace_event_type"))
    disposition: Mapped[str | None] = mapped_column(sa.String(40))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    quantity: Mapped[str | None] = mapped_column(sa.String(32))
    unit: Mapped[str | None] = mapped_column(sa.String(16))
    # Canonical JSON text, so that the hashed bytes are the stored bytes on every database.
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    previous_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
