"""Trace events, exports and chain verification through the client and the CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.models import LotStatus
from tests import factories


@pytest.fixture
def lot(client, session, callers):
    product = factories.make_product(session, cooperative=callers.cooperative.organisation)
    factories.make_sku(session, product=product)
    response = client.post(
        "/api/v1/lots",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "QW-01",
            "harvested_on": "2026-04-03",
            "quantity": "80",
            "unit": "kg",
        },
    )
    assert response.status_code == 201
    return response.get_json()


def test_registering_a_lot_through_the_api_starts_its_trace(client, lot):
    events = client.get(f"/api/v1/lots/{lot['id']}/trace-events").get_json()
    assert [event["event_type"] for event in events] == ["commissioning"]
    assert events[0]["details"]["harvested_on"] == "2026-04-03"


def test_the_owner_records_shipping_and_receiving(client, callers, lot):
    for event_type in ("packing", "shipping", "receiving"):
        response = client.post(
            f"/api/v1/lots/{lot['id']}/trace-events",
            headers=callers.cooperative.headers,
            json={
                "event_type": event_type,
                "place": "萧山物流园",
                "quantity": "40",
                "details": {"reference": "WB-1"},
            },
        )
        assert response.status_code == 201, response.get_json()
    events = client.get(f"/api/v1/lots/{lot['id']}/trace-events").get_json()
    assert [e["sequence"] for e in events] == [1, 2, 3, 4]
    assert events[3]["previous_hash"] == events[2]["hash"]
    assert events[2]["quantity"] == "40.000" and events[2]["unit"] == "kg"


def test_lifecycle_event_types_cannot_be_posted_by_hand(client, callers, lot):
    response = client.post(
        f"/api/v1/lots/{lot['id']}/trace-events",
        headers=callers.cooperative.headers,
        json={"event_type": "commissioning"},
    )
    assert response.status_code == 422


def test_another_cooperative_cannot_add_to_a_lots_trace(client, callers, lot):
    response = client.post(
        f"/api/v1/lots/{lot['id']}/trace-events",
        headers=callers.other_cooperative.headers,
        json={"event_type": "shipping"},
    )
    assert response.status_code == 403


def test_an_event_in_the_future_is_refused(client, callers, lot):
    response = client.post(
        f"/api/v1/lots/{lot['id']}/trace-events",
        headers=callers.cooperative.headers,
        json={"event_type": "shipping", "occurred_at": "2099-01-01T00:00:00+08:00"},
    )
    assert response.status_code == 422 and "occurred_at" in response.get_json()["errors"]["json"]


def test_the_exports_download_as_json_ld_and_csv(client, lot):
    document = client.get(f"/api/v1/lots/{lot['id']}/trace.jsonld")
    assert document.status_code == 200 and document.mimetype == "application/ld+json"
    assert document.get_json()["epcisBody"]["eventList"][0]["bizStep"] == "commissioning"
    table = client.get(f"/api/v1/lots/{lot['id']}/trace.csv")
    assert table.mimetype == "text/csv"
    assert table.get_data(as_text=True).splitlines()[1].split(",")[2] == "Harvesting"


def test_operators_verify_the_chain_and_see_the_first_broken_link(client, session, callers, lot):
    client.post(
        f"/api/v1/lots/{lot['id']}/status",
        headers=callers.operator.headers,
        json={"status": "recalled", "reason": "test"},
    )
    intact = client.get("/api/v1/trace/verification", headers=callers.operator.headers).get_json()
    assert intact["intact"] is True and intact["first_broken"] is None
    event_id = session.scalar(
        sa.text("SELECT min(id) FROM trace_events WHERE lot_id = :lot"), {"lot": lot["id"]}
    )
    session.execute(sa.text("UPDATE trace_events SET place = 'forged' WHERE id = :id"), {"id": event_id})
    report = client.get(
        f"/api/v1/trace/verification?lot_id={lot['id']}", headers=callers.operator.headers
    ).get_json()
    assert report["intact"] is False
    assert report["first_broken"]["event_id"] == event_id
    assert client.get("/api/v1/trace/verification", headers=callers.cooperative.headers).status_code == 403


def test_the_verify_trace_command_exits_1_naming_the_broken_event(app, session, lot):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["shanhai", "verify-trace"])
    assert result.exit_code == 0 and "trace intact" in result.output
    event_id = session.scalar(
        sa.text("SELECT min(id) FROM trace_events WHERE lot_id = :lot"), {"lot": lot["id"]}
    )
    session.execute(sa.text("UPDATE trace_events SET quantity = '1.000' WHERE id = :id"), {"id": event_id})
    session.commit()
    result = runner.invoke(args=["shanhai", "verify-trace", "--lot-id", str(lot["id"])])
    assert result.exit_code == 1
    assert f"event {event_id}" in result.output


def test_a_recalled_lot_takes_no_more_shipping_events(client, callers, lot):
    recall = client.post(
        f"/api/v1/lots/{lot['id']}/status",
        headers=callers.operator.headers,
        json={"status": LotStatus.RECALLED.value, "reason": "破损"},
    )
    assert recall.status_code == 200
    response = client.post(
        f"/api/v1/lots/{lot['id']}/trace-events",
        headers=callers.cooperative.headers,
        json={"event_type": "shipping"},
    )
    assert response.status_code == 409
