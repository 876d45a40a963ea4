"""Purchase contracts through the HTTP API: signing, the 409 on signed terms, files, roles."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from pypdf import PdfReader

from orders.contracts import service
from tests.factories import (
    CELERY_GRADES,
    graded_definition,
    make_category,
    make_graded_lot,
    make_product,
    make_standard,
)
from tests.marketplace.traceability.test_api import assert_answered_as_missing

TERMS = {
    "season": "2026 autumn",
    "quantity": "1000",
    "unit": "kg",
    "tolerance_percent": "5",
    "grades": list(CELERY_GRADES),
    "minimum_grade": "二级",
    "windows": [{"starts_on": "2026-10-01", "ends_on": "2026-10-31", "quantity": "1000"}],
    "deposit_fen": 10_000,
    "price_rule": {"kind": "fixed", "prices_fen": {"一级": 300, "二级": 250}, "floors_fen": {"二级": 260}},
}


def signed_contract(client, callers, product_id, **terms):
    drafted = client.post(
        "/api/v1/contracts",
        headers=callers.enterprise.headers,
        json={
            "grower_id": callers.cooperative.organisation.id,
            "product_id": product_id,
            "terms": {**TERMS, **terms},
        },
    )
    assert drafted.status_code == 201, drafted.get_json()
    contract = drafted.get_json()
    body = {"version": 1, "fingerprint": contract["versions"][0]["pending_fingerprint"]}
    for caller in (callers.enterprise, callers.cooperative):
        signed = client.post(
            f"/api/v1/contracts/{contract['id']}/signatures", headers=caller.headers, json=body
        )
        assert signed.status_code == 200, signed.get_json()
    return signed.get_json()


def test_a_signed_contracts_terms_are_refused_with_a_409_that_names_the_fingerprint(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    contract = signed_contract(client, callers, product.id)
    fingerprint = contract["versions"][0]["fingerprint"]

    changed = client.put(
        f"/api/v1/contracts/{contract['id']}/terms",
        headers=callers.enterprise.headers,
        json={"terms": {**TERMS, "deposit_fen": 0}},
    )

    assert contract["status"] == "active"
    assert fingerprint == service.fingerprint(contract["versions"][0]["terms"])
    assert changed.status_code == 409
    assert changed.mimetype == "application/problem+json"
    assert changed.get_json()["type"] == "urn:shanhai:problem:contract-signed"
    assert changed.get_json()["fingerprint"] == fingerprint
    again = client.get(f"/api/v1/contracts/{contract['id']}", headers=callers.operator.headers)
    assert again.get_json()["versions"][0]["terms"]["deposit_fen"] == 10_000


def test_a_draft_is_revised_freely_and_revising_clears_signatures(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    drafted = client.post(
        "/api/v1/contracts",
        headers=callers.enterprise.headers,
        json={"grower_id": callers.cooperative.organisation.id, "product_id": product.id, "terms": TERMS},
    ).get_json()
    client.post(
        f"/api/v1/contracts/{drafted['id']}/signatures",
        headers=callers.enterprise.headers,
        json={"version": 1, "fingerprint": drafted["versions"][0]["pending_fingerprint"]},
    )

    revised = client.put(
        f"/api/v1/contracts/{drafted['id']}/terms",
        headers=callers.enterprise.headers,
        json={"terms": {**TERMS, "deposit_fen": 0}},
    )

    assert revised.status_code == 200
    version = revised.get_json()["versions"][0]
    assert version["terms"]["deposit_fen"] == 0 and version["enterprise_signed_at"] is None


def test_strangers_find_no_contract_and_other_cooperatives_cannot_sign(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    contract = signed_contract(client, callers, product.id)

    seen = client.get(f"/api/v1/contracts/{contract['id']}", headers=callers.other_cooperative.headers)
    listed = client.get("/api/v1/contracts", headers=callers.other_cooperative.headers)

    assert seen.status_code == 404
    assert listed.get_json() == []


def test_terms_whose_windows_do_not_add_up_are_a_422_problem(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    response = client.post(
        "/api/v1/contracts",
        headers=callers.enterprise.headers,
        json={
            "grower_id": callers.cooperative.organisation.id,
            "product_id": product.id,
            "terms": {**TERMS, "quantity": "1200"},
        },
    )
    assert response.status_code == 422
    assert "windows" in response.get_json()["errors"]["json"]


def settled_delivery(client, session, callers):
    """A signed celery contract with 150.5 jin of 二级 delivered on 2026-10-05, accepted and
    settled for October: the contract and the answers to delivering, accepting and settling."""
    category = make_category(session)
    standard = make_standard(session, category=category, definition=graded_definition(*CELERY_GRADES))
    product = make_product(session, cooperative=callers.cooperative.organisation, category=category)
    contract = signed_contract(client, callers, product.id)
    lot = make_graded_lot(session, product=product, grade="二级", quantity=Decimal("200"), standard=standard)
    base = f"/api/v1/contracts/{contract['id']}"
    delivered = client.post(
        f"{base}/deliveries",
        headers=callers.cooperative.headers,
        json={"lot_id": lot.id, "window": 1, "quantity": "150.5", "delivered_on": "2026-10-05"},
    )
    accepted = client.post(
        f"{base}/deliveries/{delivered.get_json()['id']}/acceptance",
        headers=callers.enterprise.headers,
        json={"received_quantity": "150.5", "receipt_grade": "二级"},
    )
    settled = client.post(
        f"{base}/settlements",
        headers=callers.enterprise.headers,
        json={"period_start": "2026-10-01", "period_end": "2026-10-31"},
    )
    return contract, delivered, accepted, settled


def test_a_delivery_is_accepted_settled_and_downloaded_as_pdf_and_csv(client, session, callers):
    _contract, delivered, accepted, settled = settled_delivery(client, session, callers)
    statement = settled.get_json()
    pdf = client.get(
        f"/api/v1/contract-settlements/{statement['settlement_id']}/pdf", headers=callers.cooperative.headers
    )
    table = client.get(
        f"/api/v1/contract-settlements/{statement['settlement_id']}/csv", headers=callers.cooperative.headers
    )
    paid = client.post(
        f"/api/v1/contract-settlements/{statement['settlement_id']}/payment",
        headers=callers.enterprise.headers,
        json={"bank_reference": "BOC-778812"},
    )

    assert delivered.status_code == 201
    # The fixed 二级 price 250 is below its floor 260, so 260: 150.5 × 260 = 39,130 fen.
    assert accepted.get_json()["unit_price_fen"] == 260
    assert statement["lines"][0]["amount_fen"] == 39_130
    assert statement["total_due_fen"] == 39_130 - 10_000
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert pdf.mimetype == "application/pdf" and "291.30" in text and "结算单" in text
    rows = list(csv.reader(io.StringIO(table.data.decode())))
    assert rows[1][3:7] == ["二级", "150.500", "260", "39130"]
    assert rows[-1][:1] + rows[-1][6:7] == ["total_due", "29130"]
    assert paid.status_code == 200 and paid.get_json()["bank_reference"] == "BOC-778812"


def test_another_organisations_contracts_and_settlements_answer_exactly_as_missing_ones(
    client, session, callers
):
    contract, _delivered, _accepted, settled = settled_delivery(client, session, callers)
    settlement_id = settled.get_json()["settlement_id"]
    assert_answered_as_missing(
        client,
        callers.other_cooperative.headers,
        [
            ("/api/v1/contracts/{}", contract["id"]),
            ("/api/v1/contracts/{}/progress", contract["id"]),
            ("/api/v1/contracts/{}/settlements", contract["id"]),
            ("/api/v1/contract-settlements/{}", settlement_id),
            ("/api/v1/contract-settlements/{}/pdf", settlement_id),
            ("/api/v1/contract-settlements/{}/csv", settlement_id),
        ],
    )
    base = f"/api/v1/contracts/{contract['id']}"
    progress = client.get(f"{base}/progress?on=2026-11-01", headers=callers.operator.headers)
    assert progress.get_json()["accepted"] == "150.500"
    assert progress.get_json()["short"] is True


def test_only_operators_record_market_prices(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    body = {
        "product_id": product.id,
        "grade_code": "一级",
        "unit": "jin",
        "priced_on": date(2026, 10, 8).isoformat(),
        "price_fen": 150,
    }
    assert (
        client.post("/api/v1/market-prices", headers=callers.enterprise.headers, json=body).status_code == 403
    )
    assert (
        client.post("/api/v1/market-prices", headers=callers.operator.headers, json=body).status_code == 201
    )
    assert (
        client.post("/api/v1/market-prices", headers=callers.operator.headers, json=body).status_code == 409
    )
