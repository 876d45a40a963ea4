"""Use cases of the trace: append hash-chained events to a lot's chain and verify chains."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import signals as catalog_signals
from catalog.models import Lot, LotStatus
from marketplace.core.db import utcnow
from marketplace.traceability.errors import EventInFuture, LotNotTraceable
from marketplace.traceability.models import EventType, TraceEvent

GENESIS_HASH = "0" * 64
# Reporters' clocks drift; an event a few minutes "ahead" is not refused.
CLOCK_SLACK = timedelta(minutes=5)

# EPCIS/CBV business step and default disposition of each event type.
BIZ_STEPS = {
    EventType.COMMISSIONING: ("commissioning", "active"),
    EventType.INSPECTING: ("inspecting", "in_progress"),
    EventType.PACKING: ("packing", "in_progress"),
    EventType.SHIPPING: ("shipping", "in_transit"),
    EventType.RECEIVING: ("receiving", "in_progress"),
    EventType.RETAIL_SELLING: ("retail_selling", "retail_sold"),
    EventType.RECALLED: ("holding", "recalled"),
}

# What a lot's status change means as a trace event.
STATUS_EVENTS = {
    LotStatus.INSPECTED: (EventType.INSPECTING, "in_progress"),
    LotStatus.GRADED: (EventType.INSPECTING, "conformant"),
    LotStatus.REJECTED: (EventType.INSPECTING, "non_conformant"),
    LotStatus.ON_SALE: (EventType.RETAIL_SELLING, "sellable_accessible"),
    LotStatus.SOLD_OUT: (EventType.RETAIL_SELLING, "retail_sold"),
    LotStatus.RECALLED: (EventType.RECALLED, "recalled"),
}


def _canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: TraceEvent) -> str:
    """SHA-256 over the canonical JSON of every stored field except the id and the hash itself."""
    payload = {
        "lot_id": event.lot_id,
        "sequence": event.sequence,
        "event_type": EventType(event.event_type).value,
        "disposition": event.disposition,
        "occurred_at": _canonical_time(event.occurred_at),
        "recorded_at": _canonical_time(event.recorded_at),
        "actor_organisation_id": event.actor_organisation_id,
        "place": event.place,
        "quantity": event.quantity,
        "unit": event.unit,
        "details": event.details,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    session: Session,
    *,
    lot: Lot,
    event_type: EventType,
    occurred_at: datetime | None = None,
    disposition: str | None = None,
    actor_organisation_id: int | None = None,
    place: str | None = None,
    quantity: str | None = None,
    unit: str | None = None,
    details: dict | None = None,
) -> TraceEvent:
    """Append an event to the lot's chain; the caller holds the lot's row lock."""
    now = utcnow()
    occurred_at = occurred_at or now
    if occurred_at > now + CLOCK_SLACK:
        raise EventInFuture(
            "an event cannot happen in the future", errors={"json": {"occurred_at": ["is in the future"]}}
        )
    last = session.execute(
        sa.select(TraceEvent.sequence, TraceEvent.hash)
        .where(TraceEvent.lot_id == lot.id)
        .order_by(TraceEvent.sequence.desc())
        .limit(1)
    ).first()
    sequence, previous_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event = TraceEvent(
        lot_id=lot.id,
        sequence=sequence,
        event_type=event_type,
        disposition=disposition or BIZ_STEPS[event_type][1],
        occurred_at=occurred_at,
        recorded_at=now,
        actor_organisation_id=actor_organisation_id,
        place=place if place is not None else _default_place(lot),
        quantity=None if quantity is None else f"{Decimal(str(quantity)):.3f}",
        unit=unit,
        details=json.dumps(
            details or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
        ),
        previous_hash=previous_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


def _default_place(lot: Lot) -> str:
    village = lot.village
    return f"{village.county_zh}{village.township_zh}{village.name_zh}" if village else ""


def record_lot_commissioned(session: Session, *, lot: Lot, actor_organisation_id: int | None) -> TraceEvent:
    """The harvest: the lot comes into being, with its harvest date as master data."""
    return record_event(
        session,
        lot=lot,
        event_type=EventType.COMMISSIONING,
        actor_organisation_id=actor_organisation_id,
        quantity=str(lot.quantity),
        unit=lot.unit,
        details={
            "harvested_on": lot.harvested_on.isoformat(),
            "lot_code": lot.lot_code,
            "product_id": lot.product_id,
            "inputs_used": lot.inputs_used or "",
        },
    )


def record_lot_status_change(
    session: Session, *, lot: Lot, status: LotStatus, reason: str | None = None
) -> TraceEvent | None:
    mapped = STATUS_EVENTS.get(status)
    if mapped is None:
        return None
    event_type, disposition = mapped
    details = {"status": status.value}
    if reason:
        details["reason"] = reason
    return record_event(
        session,
        lot=lot,
        event_type=event_type,
        disposition=disposition,
        quantity=str(lot.stock_on_hand),
        unit=lot.unit,
        details=details,
    )


# A lot's lifecycle is catalog's; each step lands in its chain in the same transaction, and
# catalog refuses the step when the chain is not connected to hear it.
catalog_signals.lot_commissioned.connect(record_lot_commissioned)
catalog_signals.lot_status_changed.connect(record_lot_status_change)


def add_event(
    session: Session,
    *,
    lot: Lot,
    actor_organisation_id: int,
    event_type: EventType,
    occurred_at: datetime | None = None,
    place: str | None = None,
    quantity: str | None = None,
    unit: str | None = None,
    details: dict | None = None,
) -> TraceEvent:
    """An event reported through the API (packing, shipping, receiving…)."""
    if lot.status is LotStatus.RECALLED and event_type is not EventType.RECALLED:
        raise LotNotTraceable(f"lot {lot.id} was recalled; only its recall is recorded now")
    return record_event(
        session,
        lot=lot,
        event_type=event_type,
        occurred_at=occurred_at,
        actor_organisation_id=actor_organisation_id,
        place=place,
        quantity=quantity,
        unit=unit or lot.unit,
        details=details,
    )


def list_events(session: Session, *, lot_id: int) -> sa.Select:
    return sa.select(TraceEvent).where(TraceEvent.lot_id == lot_id).order_by(TraceEvent.sequence)


def lot_events(session: Session, *, lot_id: int) -> list[TraceEvent]:
    return list(session.scalars(list_events(session, lot_id=lot_id)))


@dataclass
class BrokenLink:
    event_id: int
    lot_id: int
    sequence: int
    reason: str


@dataclass
class ChainReport:
    events_checked: int
    lots_checked: int
    first_broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def verify_chain(session: Session, *, lot_id: int | None = None) -> ChainReport:
    """Recompute every hash and link in order; stop at and name the first broken link."""
    statement = sa.select(TraceEvent).order_by(TraceEvent.lot_id, TraceEvent.sequence)
    if lot_id is not None:
        statement = statement.where(TraceEvent.lot_id == lot_id)
    checked = 0
    lots: set[int] = set()
    previous: TraceEvent | None = None
    for event in session.scalars(statement.execution_options(yield_per=1000)):
        lots.add(event.lot_id)
        if previous is None or previous.lot_id != event.lot_id:
            expected_sequence, expected_previous = 1, GENESIS_HASH
        else:
            expected_sequence, expected_previous = previous.sequence + 1, previous.hash
        reason = None
        if event.sequence != expected_sequence:
            reason = f"sequence {event.sequence} follows {expected_sequence - 1}: an event is missing"
        elif event.previous_hash != expected_previous:
            reason = "its previous_hash does not match the hash of the event before it"
        elif event_hash(event) != event.hash:
            reason = "its contents no longer match its hash: the event was edited"
        checked += 1
        if reason:
            return ChainReport(checked, len(lots), BrokenLink(event.id, event.lot_id, event.sequence, reason))
        previous = event
    return ChainReport(checked, len(lots), None)
