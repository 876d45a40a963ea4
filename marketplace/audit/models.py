from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow


class AuditEvent(Base):
    """One row written, changed or deleted; triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(sa.String(8))
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(index=True)
    organisation_id: Mapped[int | None]
    request_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    method: Mapped[str | None] = mapped_column(sa.String(8))
    path: Mapped[str | None] = mapped_column(sa.String(500))
