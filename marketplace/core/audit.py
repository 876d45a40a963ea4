"""Record every flushed change as an audit event, in the same transaction as the change."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from marketplace.core.db import Base, sorted_by, utcnow


class AuditEvent(Base):
    """One row written, changed or deleted; triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
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


# Values that must never be copied into the trail.
REDACTED = {"password_hash", "token_hash", "logo_png"}


def track_writes(factory: sessionmaker[Session]) -> None:
    """Audit every session this factory makes."""
    if not event.contains(factory, "after_flush", _record_flush):
        event.listen(factory, "after_flush", _record_flush)


def set_actor(
    session: Session,
    *,
    user_id: int | None = None,
    organisation_id: int | None = None,
    request_id: str | None = None,
    method: str | None = None,
    path: str | None = None,
) -> None:
    """Say who the session's writes are for; later calls fill in what earlier ones did not know."""
    actor = session.info.setdefault("audit_actor", {})
    for key, value in (
        ("user_id", user_id),
        ("organisation_id", organisation_id),
        ("request_id", request_id),
        ("method", method),
        ("path", path),
    ):
        if value is not None:
            actor[key] = value


def list_events(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    user_id: int | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(AuditEvent)
    for column, value in (
        (AuditEvent.entity, entity),
        (AuditEvent.entity_id, entity_id),
        (AuditEvent.user_id, user_id),
        (AuditEvent.request_id, request_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.occurred_at < until)
    return sorted_by(
        statement, sort or "-occurred_at", {"occurred_at": AuditEvent.occurred_at}, AuditEvent.id.desc()
    )


def _record_flush(session: Session, _flush_context) -> None:
    rows = []
    now = utcnow()
    actor = session.info.get("audit_actor", {})
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if isinstance(obj, AuditEvent) or not hasattr(obj, "__tablename__"):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "occurred_at": now,
                    "action": action,
                    "entity": obj.__tablename__,
                    "entity_id": _identity(obj),
                    "changes": changes,
                    **actor,
                }
            )
    if rows:
        session.connection().execute(sa.insert(AuditEvent), rows)


def _identity(obj) -> str:
    # New rows have their keys by now, though not yet their identity in the session.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    changes = {}
    for attribute in state.mapper.column_attrs:
        name = attribute.key
        history = state.attrs[name].history
        if action == "update":
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            changes[name] = [_plain(name, old), _plain(name, new)]
        elif action == "insert":
            value = history.added[0] if history.added else getattr(obj, name, None)
            if value is not None:
                changes[name] = _plain(name, value)
    return changes


def _plain(name: str, value):
    if name in REDACTED and value is not None:
        return "[redacted]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value[:32]).decode() + ("…" if len(value) > 32 else "")
    return value
