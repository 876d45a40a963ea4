from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow
from marketplace.models import enum_column


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
