"""Hash-chained trace events: recorded by the lifecycle, verified, exported."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog import service as catalog_service
from catalog.models import LotStatus
from marketplace.traceability import export
from marketplace.traceability import trace as service
from marketplace.traceability.models import EventType, TraceEvent
from tests import factories


@pytest.fixture
def traced_lot(session, callers):
    """A lot registered, inspected, graded, put on sale and shipped: five chained events."""
    cooperative = callers.cooperative
    product = factories.make_product(session, cooperative=cooperative.organisation)
    factories.make_sku(session, product=product)
    lot = catalog_service.register_lot(
        session,
        actor=cooperative.user,
        product_id=product.id,
        lot_code="L2026A",
        harvested_on=date(2026, 4, 2),
        quantity=Decimal("500"),
        unit="kg",
    )
    catalog_service.transition_lot(lot, LotStatus.INSPECTED)
    catalog_service.transition_lot(lot, LotStatus.GRADED)
    factories.make_grade(session, lot=lot)  # the brand gate sells only a lot an inspector graded
    catalog_service.change_lot_status(
        session, actor=cooperative.user, lot_id=lot.id, status=LotStatus.ON_SALE
    )
    service.add_event(
        session,
        lot=lot,
        actor_organisation_id=cooperative.organisation.id,
        event_type=EventType.SHIPPING,
        place="杭州 冷链仓",
        quantity="120",
        unit="kg",
        details={"reference": "WB-77"},
    )
    return lot


def test_registering_a_lot_commissions_it_with_its_harvest_date(session, traced_lot):
    first = service.lot_events(session, lot_id=traced_lot.id)[0]
    assert first.event_type is EventType.COMMISSIONING and first.sequence == 1
    assert json.loads(first.details)["harvested_on"] == "2026-04-02"
    assert first.previous_hash == service.GENESIS_HASH
    assert first.quantity == "500.000" and first.unit == "kg"


def test_lifecycle_steps_append_events_each_linked_to_the_one_before(session, traced_lot):
    events = service.lot_events(session, lot_id=traced_lot.id)
    assert [e.event_type.value for e in events] == [
        "commissioning",
        "inspecting",
        "inspecting",
        "retail_selling",
        "shipping",
    ]
    assert [e.disposition for e in events[1:3]] == ["in_progress", "conformant"]
    for before, after in zip(events, events[1:], strict=False):
        assert after.previous_hash == before.hash
    report = service.verify_chain(session)
    assert report.intact and report.events_checked >= 5


def test_a_recall_is_recorded_with_its_reason(session, callers, traced_lot):
    catalog_service.change_lot_status(
        session,
        actor=callers.operator.user,
        lot_id=traced_lot.id,
        status=LotStatus.RECALLED,
        reason="疑似污染",
    )
    last = service.lot_events(session, lot_id=traced_lot.id)[-1]
    assert last.event_type is EventType.RECALLED and last.disposition == "recalled"
    assert json.loads(last.details)["reason"] == "疑似污染"


EDITS = [
    ("event_type", "'receiving'"),
    ("disposition", "'destroyed'"),
    ("occurred_at", "'2020-01-01 00:00:00.000000'"),
    ("place", "'somewhere else'"),
    ("quantity", "'9999'"),
    ("unit", "'g'"),
    ("details", "'{}'"),
    (
        "actor_organisation_id",
        "CASE WHEN actor_organisation_id IS NULL THEN (SELECT min(id) FROM organisations) END",
    ),
    ("previous_hash", "'" + "1" * 64 + "'"),
    ("hash", "'" + "2" * 64 + "'"),
]


@pytest.mark.parametrize("position", [0, 2, 4])
@pytest.mark.parametrize(("column", "value"), EDITS)
def test_editing_any_stored_event_is_detected_and_the_first_broken_link_named(
    session, traced_lot, position, column, value
):
    events = service.lot_events(session, lot_id=traced_lot.id)
    target = events[position]
    original = getattr(target, column)
    session.execute(sa.text(f"UPDATE trace_events SET {column} = {value} WHERE id = :id"), {"id": target.id})
    session.expire_all()
    assert getattr(session.get(TraceEvent, target.id), column) != original
    report = service.verify_chain(session, lot_id=traced_lot.id)
    assert not report.intact
    assert report.first_broken.event_id == target.id, report.first_broken
    assert report.first_broken.sequence == position + 1
    assert service.verify_chain(session).first_broken.event_id == target.id


def test_a_deleted_event_is_detected(session, traced_lot):
    events = service.lot_events(session, lot_id=traced_lot.id)
    session.execute(sa.delete(TraceEvent).where(TraceEvent.id == events[1].id))
    report = service.verify_chain(session, lot_id=traced_lot.id)
    assert report.first_broken.event_id == events[2].id
    assert "missing" in report.first_broken.reason


def test_the_trace_exports_as_an_epcis_2_json_ld_document(session, traced_lot):
    document = export.epcis_document(session, lot_id=traced_lot.id, base_url="http://shanhai.test")
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert document["@context"][0].startswith("https://ref.gs1.org/standards/epcis/2.0.0/")
    events = document["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == [
        "commissioning",
        "inspecting",
        "inspecting",
        "retail_selling",
        "shipping",
    ]
    commissioning = events[0]
    assert commissioning["action"] == "ADD" and commissioning["type"] == "ObjectEvent"
    assert commissioning["ilmd"]["cbvmda:harvestStartDate"] == "2026-04-02"
    assert commissioning["quantityList"][0]["uom"] == "KGM"
    assert commissioning["quantityList"][0]["epcClass"].endswith("/10/L2026A")
    assert all(e["eventID"].startswith("ni:///sha-256;") for e in events)
    json.dumps(document)


def test_the_trace_exports_as_a_sortable_fsma_204_csv(session, traced_lot):
    rows = list(csv.DictReader(io.StringIO(export.fsma_csv(session, lot_id=traced_lot.id))))
    assert [row["critical_tracking_event"] for row in rows] == [
        "Harvesting",
        "Inspecting",
        "Inspecting",
        "Retail Selling",
        "Shipping",
    ]
    assert rows == sorted(rows, key=lambda row: (row["event_date_time"], int(row["sequence"])))
    assert rows[-1]["reference"] == "WB-77" and rows[-1]["location_description"] == "杭州 冷链仓"
    assert rows[0]["traceability_lot_code"].endswith("-L2026A")


def test_a_quantity_in_jin_goes_out_in_kilograms():
    assert export._quantity(TraceEvent(quantity="3.000", unit="jin")) == (1.5, "KGM")
    assert export._quantity(TraceEvent(quantity="120", unit="box")) == (120.0, "XBX")
    assert export._quantity(TraceEvent(quantity=None, unit=None)) == (None, None)
