"""Every CSV and XLSX we hand out shows user text as text: no cell of it runs as a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from marketplace.core.spreadsheets import inert
from tests import factories
from tests.marketplace.region.test_dashboard import a_cluster_with_sales
from tests.orders.test_contracts_api import signed_contract

FORMULAS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def test_text_that_starts_a_formula_is_quoted_and_other_values_pass():
    assert [inert(text) for text in FORMULAS] == ["'" + text for text in FORMULAS]
    assert [inert(value) for value in ("西湖龙井", "a=b", "", -5, Decimal("-1.5"), None)] == [
        "西湖龙井",
        "a=b",
        "",
        -5,
        Decimal("-1.5"),
        None,
    ]


def test_trace_csv_quotes_a_place_that_is_a_formula(client, session, callers):
    product = factories.make_product(session, cooperative=callers.cooperative.organisation, name_en="=1+2")
    lot = factories.make_lot(session, product=product)
    for place in FORMULAS:
        response = client.post(
            f"/api/v1/lots/{lot.id}/trace-events",
            headers=callers.cooperative.headers,
            json={"event_type": "shipping", "place": place, "details": {"reference": "@ref"}},
        )
        assert response.status_code == 201, response.get_json()
    table = rows(client.get(f"/api/v1/lots/{lot.id}/trace.csv"))
    header, shipped = table[0], table[1:]
    places = [row[header.index("location_description")] for row in shipped]
    assert places == ["'" + place for place in FORMULAS]
    assert {row[header.index("product_description")] for row in shipped} == {"'=1+2"}
    assert {row[header.index("reference")] for row in shipped} == {"'@ref"}


def test_codes_csv_quotes_product_and_sku_names_that_are_formulas(client, session, callers):
    product = factories.make_product(
        session, cooperative=callers.cooperative.organisation, name_zh="=cmd|'/C calc'!A0"
    )
    sku = factories.make_sku(session, product=product, name_zh="@SUM(A1:A9)")
    lot = factories.make_lot(session, product=product)
    batch = client.post(
        f"/api/v1/lots/{lot.id}/codes",
        headers=callers.cooperative.headers,
        json={"sku_id": sku.id, "level": "unit", "quantity": 2},
    ).get_json()
    table = rows(client.get(batch["csv_url"], headers=callers.cooperative.headers))
    assert [row[5:] for row in table[1:]] == [["'=cmd|'/C calc'!A0", "'@SUM(A1:A9)"]] * 2


def test_village_exports_quote_formulas_in_csv_and_write_strings_in_xlsx(client, session, callers):
    cluster, villages, _ = a_cluster_with_sales(session)
    villages[0].name_zh, villages[0].name_en = "=1+1", "-2+3"
    session.flush()
    base = f"/api/v1/dashboard/clusters/{cluster.id}"

    table = rows(client.get(f"{base}/villages.csv", headers=callers.operator.headers))
    by_id = {row[0]: row for row in table[1:]}
    assert by_id[str(villages[0].id)][1:3] == ["'=1+1", "'-2+3"]
    assert int(by_id[str(villages[0].id)][7]) > 0

    workbook = load_workbook(
        io.BytesIO(client.get(f"{base}/villages.xlsx", headers=callers.operator.headers).data)
    )
    sheet = workbook["villages"]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}[villages[0].id]
    assert [(cell.value, cell.data_type, cell.quotePrefix) for cell in cells[1:3]] == [
        ("=1+1", "s", True),
        ("-2+3", "s", True),
    ]
    assert cells[7].data_type == "n"
    assert all(cell.data_type != "f" for sheet in workbook for row in sheet.iter_rows() for cell in row)


def test_settlement_csv_quotes_a_grade_that_is_a_formula_and_keeps_deductions_negative(
    client, session, callers
):
    grades = ["=A", "-B"]
    category = factories.make_category(session)
    standard = factories.make_standard(
        session, category=category, definition=factories.graded_definition(*grades)
    )
    product = factories.make_product(session, cooperative=callers.cooperative.organisation, category=category)
    contract = signed_contract(
        client,
        callers,
        product.id,
        grades=grades,
        minimum_grade="-B",
        price_rule={"kind": "fixed", "prices_fen": {"=A": 300, "-B": 250}},
    )
    lot = factories.make_lot(session, product=product, quantity=Decimal("200"))
    factories.make_grade(session, lot=lot, standard=standard, sample=factories.simple_sample("5"))
    base = f"/api/v1/contracts/{contract['id']}"
    advance = client.post(
        f"{base}/advances",
        headers=callers.enterprise.headers,
        json={"kind": "cash", "amount_fen": 500, "given_on": "2026-09-20"},
    )
    delivered = client.post(
        f"{base}/deliveries",
        headers=callers.cooperative.headers,
        json={"lot_id": lot.id, "window": 1, "quantity": "100", "delivered_on": "2026-10-05"},
    )
    accepted = client.post(
        f"{base}/deliveries/{delivered.get_json()['id']}/acceptance",
        headers=callers.enterprise.headers,
        json={"received_quantity": "100", "receipt_grade": "=A"},
    )
    settled = client.post(
        f"{base}/settlements",
        headers=callers.enterprise.headers,
        json={"period_start": "2026-10-01", "period_end": "2026-10-31"},
    )
    assert [advance.status_code, delivered.status_code, accepted.status_code, settled.status_code] == [
        201,
        201,
        200,
        201,
    ], settled.get_json()
    table = rows(
        client.get(
            f"/api/v1/contract-settlements/{settled.get_json()['settlement_id']}/csv",
            headers=callers.cooperative.headers,
        )
    )
    assert [row[3] for row in table if row[0] == "delivery"] == ["'=A"]
    assert [row[6] for row in table if row[0] == "deduction"] == ["-500", "-10000"]
