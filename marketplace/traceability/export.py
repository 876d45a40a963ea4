"""A lot's trace as an EPCIS 2.0 JSON-LD document and as an FSMA 204-style sortable CSV."""

from __future__ import annotations

import io
import json
from datetime import UTC
from decimal import Decimal

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog import units
from catalog.models import Lot, Sku
from marketplace.core.db import utcnow
from marketplace.core.spreadsheets import CsvWriter
from marketplace.traceability import digital_link
from marketplace.traceability import trace as service
from marketplace.traceability.models import EventType, TraceEvent

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
UNECE_UNITS = {
    "kg": "KGM",
    "g": "GRM",
    "t": "TNE",
    "l": "LTR",
    "ml": "MLT",
    "each": "H87",
    "box": "XBX",
}
FSMA_EVENTS = {
    EventType.COMMISSIONING: "Harvesting",
    EventType.INSPECTING: "Inspecting",
    EventType.PACKING: "Initial Packing",
    EventType.SHIPPING: "Shipping",
    EventType.RECEIVING: "Receiving",
    EventType.RETAIL_SELLING: "Retail Selling",
    EventType.RECALLED: "Recall",
}
CSV_COLUMNS = [
    "traceability_lot_code",
    "event_date_time",
    "critical_tracking_event",
    "sequence",
    "product_description",
    "gtin",
    "quantity",
    "unit_of_measure",
    "location_description",
    "village",
    "disposition",
    "reference",
    "event_hash",
]


def lot_gtin(session: Session, lot: Lot) -> str | None:
    """The GTIN a lot's class-level identifier uses: its product's first SKU's."""
    return session.scalar(
        catalog_service.list_skus(session, product_id=lot.product_id).with_only_columns(Sku.gtin).limit(1)
    )


def _epc_class(lot: Lot, gtin: str | None, base_url: str) -> str:
    if gtin:
        return digital_link.build(base_url, gtin=gtin, lot=lot.lot_code)
    return f"{base_url.rstrip('/')}/api/v1/lots/{lot.id}"


def _quantity(event: TraceEvent) -> tuple[float | None, str | None]:
    if event.quantity is None:
        return None, None
    quantity, unit = Decimal(event.quantity), event.unit or ""
    if unit == "jin":  # UN/ECE Recommendation 20 has no code for 斤: it goes out in kilograms
        kilograms = units.convert(quantity, "jin", "kg")
        assert kilograms is not None  # both measure mass
        quantity, unit = kilograms, "kg"
    return float(quantity), UNECE_UNITS.get(unit, "H87")


def epcis_document(session: Session, *, lot_id: int, base_url: str) -> dict:
    lot = catalog_service.get_lot(session, lot_id)
    gtin = lot_gtin(session, lot)
    epc_class = _epc_class(lot, gtin, base_url)
    village = lot.village
    location = f"{base_url.rstrip('/')}/api/v1/villages/{village.id}"
    events = []
    for event in service.lot_events(session, lot_id=lot.id):
        event_type = EventType(event.event_type)
        biz_step = service.BIZ_STEPS[event_type][0]
        amount, uom = _quantity(event)
        item = {
            "type": "ObjectEvent",
            "eventID": f"ni:///sha-256;{event.hash}?ver=CBV2.0",
            "eventTime": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": "+08:00",
            "recordTime": event.recorded_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "action": "ADD" if event_type is EventType.COMMISSIONING else "OBSERVE",
            "bizStep": biz_step,
            "disposition": event.disposition,
            "quantityList": [
                {"epcClass": epc_class, **({"quantity": amount, "uom": uom} if amount is not None else {})}
            ],
            "readPoint": {"id": location},
            "bizLocation": {"id": location},
            "shanhai:sequence": event.sequence,
            "shanhai:previousHash": event.previous_hash,
            "shanhai:place": event.place,
            "shanhai:details": json.loads(event.details),
        }
        if event_type is EventType.COMMISSIONING:
            item["ilmd"] = {
                "cbvmda:harvestStartDate": lot.harvested_on.isoformat(),
                "cbvmda:lotNumber": lot.lot_code,
                "cbvmda:countryOfOrigin": "CN",
            }
        events.append(item)
    return {
        "@context": [
            EPCIS_CONTEXT,
            {"shanhai": f"{base_url.rstrip('/')}/ns/trace#", "cbvmda": "urn:epcglobal:cbv:mda:"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utcnow().isoformat().replace("+00:00", "Z"),
        "epcisBody": {"eventList": events},
    }


def fsma_csv(session: Session, *, lot_id: int) -> str:
    """One row per critical tracking event, ISO dates first-sortable, with its key data."""
    lot = catalog_service.get_lot(session, lot_id)
    gtin = lot_gtin(session, lot)
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(CSV_COLUMNS)
    traceability_lot_code = f"{gtin}-{lot.lot_code}" if gtin else lot.lot_code
    for event in service.lot_events(session, lot_id=lot.id):
        event_type = EventType(event.event_type)
        writer.writerow(
            [
                traceability_lot_code,
                event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                FSMA_EVENTS[event_type],
                event.sequence,
                lot.product.name_en,
                gtin or "",
                event.quantity or "",
                event.unit or "",
                event.place,
                lot.village.name_en,
                event.disposition or "",
                json.loads(event.details).get("reference", ""),
                event.hash,
            ]
        )
    return out.getvalue()
