"""The catalog through HTTP: what cooperatives, operators and the public see and may do."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from catalog.models import LotStatus
from tests.factories import (
    make_brand,
    make_category,
    make_grade,
    make_licence,
    make_lot,
    make_membership,
    make_png,
    make_product,
    make_sku,
    make_village,
)

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


def test_cooperative_lists_a_product_and_anyone_reads_it_back(client, session, callers):
    brand, category, village = make_brand(session), make_category(session), make_village(session)
    make_licence(session, licensee=callers.cooperative.organisation, brand=brand, category=category)
    make_membership(session, organisation_id=callers.cooperative.organisation.id, village_id=village.id)

    created = client.post(
        "/api/v1/products",
        headers=callers.cooperative.headers,
        json={
            "brand_id": brand.id,
            "category_id": category.id,
            "village_id": village.id,
            "name_zh": "西湖龙井",
            "name_en": "West Lake Longjing tea",
        },
    )

    assert created.status_code == 201
    product = created.get_json()
    assert product == {
        "id": product["id"],
        "brand_id": brand.id,
        "category_id": category.id,
        "village_id": village.id,
        "cooperative_id": callers.cooperative.organisation.id,
        "name_zh": "西湖龙井",
        "name_en": "West Lake Longjing tea",
        "description_zh": "",
        "description_en": "",
    }
    read = client.get(f"/api/v1/products/{product['id']}")
    assert read.status_code == 200
    assert read.get_json() == product


def test_cooperative_renames_its_product(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation, name_en="Longjing")

    response = client.patch(
        f"/api/v1/products/{product.id}",
        headers=callers.cooperative.headers,
        json={"name_en": "West Lake Longjing tea"},
    )

    assert response.status_code == 200
    assert response.get_json()["name_en"] == "West Lake Longjing tea"
    assert response.get_json()["name_zh"] == product.name_zh
    assert client.get(f"/api/v1/products/{product.id}").get_json()["name_en"] == ("West Lake Longjing tea")


def test_cooperative_cannot_hand_its_product_to_another_cooperative(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.patch(
        f"/api/v1/products/{product.id}",
        headers=callers.cooperative.headers,
        json={"cooperative_id": callers.other_cooperative.organisation.id},
    )

    body = assert_problem(response, 422)
    assert "cooperative_id" in body["errors"]["json"]
    assert client.get(f"/api/v1/products/{product.id}").get_json()["cooperative_id"] == (
        callers.cooperative.organisation.id
    )


def test_cooperative_adds_a_sku_priced_in_whole_fen(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    created = client.post(
        "/api/v1/skus",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "name_zh": "250克礼盒",
            "name_en": "250 g gift box",
            "pack_size": "250",
            "pack_unit": "g",
            "price_fen": 12_800,
            "gtin": "4006381333931",
        },
    )

    assert created.status_code == 201
    sku = created.get_json()
    assert sku == {
        "id": sku["id"],
        "product_id": product.id,
        "name_zh": "250克礼盒",
        "name_en": "250 g gift box",
        "pack_size": "250.000",
        "pack_unit": "g",
        "price_fen": 12_800,
        "currency": "CNY",
        "gtin": "04006381333931",
        "is_active": True,
    }
    assert client.get(f"/api/v1/skus/{sku['id']}").get_json() == sku


@pytest.mark.parametrize("price", ["12800", 128.5])
def test_sku_price_that_is_not_an_integer_of_fen_is_refused(client, session, callers, price):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/skus",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "name_zh": "礼盒",
            "name_en": "Gift box",
            "pack_size": "250",
            "pack_unit": "g",
            "price_fen": price,
            "gtin": "4006381333931",
        },
    )

    body = assert_problem(response, 422)
    assert "price_fen" in body["errors"]["json"]


def test_sku_with_a_wrong_gtin_check_digit_is_refused_naming_the_gtin(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/skus",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "name_zh": "礼盒",
            "name_en": "Gift box",
            "pack_size": "250",
            "pack_unit": "g",
            "price_fen": 12_800,
            "gtin": "4006381333932",
        },
    )

    body = assert_problem(response, 422)
    assert "gtin" in body["errors"]["json"]
    assert client.get(f"/api/v1/skus?product_id={product.id}").get_json() == []


def test_sku_is_found_by_its_gtin_written_with_13_digits(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    sku = make_sku(session, product=product, gtin="04006381333931")
    make_sku(session, product=product)

    response = client.get("/api/v1/skus?gtin=4006381333931")

    assert [found["id"] for found in response.get_json()] == [sku.id]


def test_cooperative_changes_the_price_of_its_sku(client, session, callers):
    sku = make_sku(
        session, product=make_product(session, cooperative=callers.cooperative.organisation), price_fen=12_800
    )

    response = client.patch(
        f"/api/v1/skus/{sku.id}", headers=callers.cooperative.headers, json={"price_fen": 9_900}
    )

    assert response.status_code == 200
    assert response.get_json()["price_fen"] == 9_900
    assert client.get(f"/api/v1/skus/{sku.id}").get_json()["price_fen"] == 9_900


def test_cooperative_registers_a_lot_and_reads_it_back(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    created = client.post(
        "/api/v1/lots",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "2026-A1",
            "harvested_on": "2026-04-02",
            "quantity": "120.5",
            "unit": "kg",
        },
    )

    assert created.status_code == 201
    lot = created.get_json()
    assert lot == {
        "id": lot["id"],
        "product_id": product.id,
        "village_id": product.village_id,
        "cooperative_id": callers.cooperative.organisation.id,
        "lot_code": "2026-A1",
        "harvested_on": "2026-04-02",
        "quantity": "120.500",
        "unit": "kg",
        "stock_on_hand": "120.500",
        "inputs_used": "",
        "status": "registered",
        "status_changed_at": lot["status_changed_at"],
        "recall_reason": None,
    }
    assert lot["status_changed_at"]
    assert client.get(f"/api/v1/lots/{lot['id']}").get_json() == lot


def test_lot_cannot_be_registered_straight_on_sale(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/lots",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "2026-A1",
            "harvested_on": "2026-04-02",
            "quantity": "120.5",
            "unit": "kg",
            "status": "on_sale",
        },
    )

    body = assert_problem(response, 422)
    assert "status" in body["errors"]["json"]
    assert client.get(f"/api/v1/lots?product_id={product.id}").get_json() == []


def test_lot_harvested_in_the_future_is_refused_naming_the_harvest_date(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/lots",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "F1",
            "harvested_on": "2099-01-01",
            "quantity": "10",
            "unit": "kg",
        },
    )

    body = assert_problem(response, 422)
    assert "harvested_on" in body["errors"]["json"]
    assert client.get(f"/api/v1/lots?product_id={product.id}").get_json() == []


def test_second_lot_with_the_same_code_for_a_product_is_a_409_problem(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    make_lot(session, product=product, lot_code="2026-A1")

    response = client.post(
        "/api/v1/lots",
        headers=callers.cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "2026-A1",
            "harvested_on": "2026-04-02",
            "quantity": "10",
            "unit": "kg",
        },
    )

    assert_problem(response, 409)
    assert len(client.get(f"/api/v1/lots?product_id={product.id}").get_json()) == 1


def test_lot_moved_to_an_unknown_village_is_a_404_problem(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    lot = make_lot(session, product=product)

    response = client.patch(
        f"/api/v1/lots/{lot.id}", headers=callers.cooperative.headers, json={"village_id": 999_999}
    )

    assert_problem(response, 404)
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["village_id"] == product.village_id


def test_cooperative_corrects_the_quantity_of_its_registered_lot(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        quantity=Decimal("100"),
    )

    response = client.patch(
        f"/api/v1/lots/{lot.id}", headers=callers.cooperative.headers, json={"quantity": "95.25"}
    )

    assert response.status_code == 200
    assert response.get_json()["quantity"] == "95.250"
    assert response.get_json()["stock_on_hand"] == "95.250"


def test_quantity_of_a_graded_lot_cannot_be_corrected(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.GRADED,
        quantity=Decimal("100"),
    )

    response = client.patch(
        f"/api/v1/lots/{lot.id}", headers=callers.cooperative.headers, json={"quantity": "95"}
    )

    assert_problem(response, 409)
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["quantity"] == "100.000"


def test_cooperative_cannot_edit_another_cooperatives_lot(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        quantity=Decimal("100"),
    )

    response = client.patch(
        f"/api/v1/lots/{lot.id}", headers=callers.other_cooperative.headers, json={"quantity": "1"}
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:not-yours"
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["quantity"] == "100.000"


def test_cooperative_cannot_edit_another_cooperatives_product(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation, name_en="Longjing")

    response = client.patch(
        f"/api/v1/products/{product.id}", headers=callers.other_cooperative.headers, json={"name_en": "Fake"}
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:not-yours"
    assert client.get(f"/api/v1/products/{product.id}").get_json()["name_en"] == "Longjing"


def test_cooperative_cannot_reprice_another_cooperatives_sku(client, session, callers):
    sku = make_sku(
        session, product=make_product(session, cooperative=callers.cooperative.organisation), price_fen=12_800
    )

    response = client.patch(
        f"/api/v1/skus/{sku.id}", headers=callers.other_cooperative.headers, json={"price_fen": 1}
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:not-yours"
    assert client.get(f"/api/v1/skus/{sku.id}").get_json()["price_fen"] == 12_800


def test_cooperative_cannot_register_a_lot_of_another_cooperatives_product(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/lots",
        headers=callers.other_cooperative.headers,
        json={
            "product_id": product.id,
            "lot_code": "X1",
            "harvested_on": "2026-04-02",
            "quantity": "10",
            "unit": "kg",
        },
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:not-yours"
    assert client.get(f"/api/v1/lots?product_id={product.id}").get_json() == []


def test_cooperative_cannot_add_a_sku_to_another_cooperatives_product(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)

    response = client.post(
        "/api/v1/skus",
        headers=callers.other_cooperative.headers,
        json={
            "product_id": product.id,
            "name_zh": "礼盒",
            "name_en": "Gift box",
            "pack_size": "250",
            "pack_unit": "g",
            "price_fen": 100,
            "gtin": "4006381333931",
        },
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:not-yours"
    assert client.get(f"/api/v1/skus?product_id={product.id}").get_json() == []


CATALOG_WRITES = [
    (
        "POST",
        "/api/v1/products",
        lambda ids: {
            "brand_id": ids["brand"],
            "category_id": ids["category"],
            "village_id": ids["village"],
            "name_zh": "龙井茶",
            "name_en": "Longjing tea",
        },
    ),
    ("PATCH", "/api/v1/products/{product}", lambda ids: {"name_en": "Renamed"}),
    (
        "POST",
        "/api/v1/skus",
        lambda ids: {
            "product_id": ids["product"],
            "name_zh": "礼盒",
            "name_en": "Gift box",
            "pack_size": "250",
            "pack_unit": "g",
            "price_fen": 100,
            "gtin": "4006381333931",
        },
    ),
    ("PATCH", "/api/v1/skus/{sku}", lambda ids: {"price_fen": 1}),
    (
        "POST",
        "/api/v1/lots",
        lambda ids: {
            "product_id": ids["product"],
            "lot_code": "X1",
            "harvested_on": "2026-04-02",
            "quantity": "10",
            "unit": "kg",
        },
    ),
    ("PATCH", "/api/v1/lots/{lot}", lambda ids: {"inputs_used": "none"}),
    ("POST", "/api/v1/lots/{lot}/status", lambda ids: {"status": "on_sale"}),
]


@pytest.mark.parametrize("role", ["enterprise", "inspector"])
@pytest.mark.parametrize(
    ("method", "path", "body"), CATALOG_WRITES, ids=[f"{method} {path}" for method, path, _ in CATALOG_WRITES]
)
def test_enterprises_and_inspectors_cannot_write_the_catalog(
    client, session, callers, role, method, path, body
):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    sku = make_sku(session, product=product, price_fen=12_800)
    lot = make_lot(session, product=product, status=LotStatus.GRADED)
    ids = {
        "brand": make_brand(session).id,
        "category": make_category(session).id,
        "village": make_village(session).id,
        "product": product.id,
        "sku": sku.id,
        "lot": lot.id,
    }

    response = client.open(
        path.format(**ids), method=method, json=body(ids), headers=getattr(callers, role).headers
    )

    assert assert_problem(response, 403)["type"] == "urn:shanhai:problem:role-not-allowed"
    assert client.get(f"/api/v1/products/{product.id}").get_json()["name_en"] == product.name_en
    assert client.get(f"/api/v1/skus/{sku.id}").get_json()["price_fen"] == 12_800
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "graded"
    assert len(client.get("/api/v1/products").get_json()) == 1
    assert len(client.get("/api/v1/lots").get_json()) == 1


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["no token", "unknown token"]
)
@pytest.mark.parametrize(
    ("method", "path", "body"), CATALOG_WRITES, ids=[f"{method} {path}" for method, path, _ in CATALOG_WRITES]
)
def test_catalog_writes_without_a_valid_token_are_answered_401(
    client, session, callers, headers, method, path, body
):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    sku = make_sku(session, product=product)
    lot = make_lot(session, product=product, status=LotStatus.GRADED)
    ids = {
        "brand": make_brand(session).id,
        "category": make_category(session).id,
        "village": make_village(session).id,
        "product": product.id,
        "sku": sku.id,
        "lot": lot.id,
    }

    response = client.open(path.format(**ids), method=method, json=body(ids), headers=headers)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "graded"


def test_lists_are_paged_and_report_their_total(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    lots = [make_lot(session, product=product) for _ in range(3)]

    first = client.get("/api/v1/lots?page=1&page_size=2")
    second = client.get("/api/v1/lots?page=2&page_size=2")

    assert first.status_code == 200
    assert [lot["id"] for lot in first.get_json()] == [lots[0].id, lots[1].id]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    assert [lot["id"] for lot in second.get_json()] == [lots[2].id]


def test_lots_can_be_filtered_by_status(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    make_lot(session, product=product, status=LotStatus.REGISTERED)
    on_sale = make_lot(session, product=product, status=LotStatus.ON_SALE)
    make_lot(session, product=product, status=LotStatus.GRADED)

    response = client.get("/api/v1/lots?status=on_sale")

    assert response.status_code == 200
    assert [lot["id"] for lot in response.get_json()] == [on_sale.id]
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_unknown_lot_status_filter_is_refused(client):
    body = assert_problem(client.get("/api/v1/lots?status=ripe"), 422)
    assert "status" in body["errors"]["query"]


def test_products_can_be_searched_by_part_of_either_name(client, session, callers):
    cooperative = callers.cooperative.organisation
    longjing = make_product(
        session, cooperative=cooperative, name_zh="西湖龙井", name_en="West Lake Longjing Tea"
    )
    white_tea = make_product(session, cooperative=cooperative, name_zh="安吉白茶", name_en="Anji White Tea")
    make_product(session, cooperative=cooperative, name_zh="毛竹笋", name_en="Bamboo shoots")

    by_english = client.get("/api/v1/products?q=tea")
    by_chinese = client.get("/api/v1/products?q=龙井")

    assert [product["id"] for product in by_english.get_json()] == [longjing.id, white_tea.id]
    assert [product["id"] for product in by_chinese.get_json()] == [longjing.id]


def test_lots_can_be_sorted_newest_harvest_first(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation)
    april = make_lot(session, product=product, harvested_on=date(2026, 4, 1))
    june = make_lot(session, product=product, harvested_on=date(2026, 6, 1))
    may = make_lot(session, product=product, harvested_on=date(2026, 5, 1))

    response = client.get("/api/v1/lots?sort=-harvested_on")

    assert [lot["id"] for lot in response.get_json()] == [june.id, may.id, april.id]


def test_unchanged_lot_is_answered_304_to_the_etag_the_client_holds(client, session, callers):
    lot = make_lot(session, product=make_product(session, cooperative=callers.cooperative.organisation))

    first = client.get(f"/api/v1/lots/{lot.id}")
    again = client.get(f"/api/v1/lots/{lot.id}", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert first.headers["ETag"]
    assert again.status_code == 304
    assert again.data == b""


def test_lot_edited_since_the_client_read_it_refuses_a_stale_if_match(client, session, callers):
    lot = make_lot(
        session, product=make_product(session, cooperative=callers.cooperative.organisation), inputs_used=""
    )
    headers = callers.cooperative.headers
    stale = client.get(f"/api/v1/lots/{lot.id}").headers["ETag"]
    client.patch(f"/api/v1/lots/{lot.id}", headers=headers, json={"inputs_used": "organic manure"})

    response = client.patch(
        f"/api/v1/lots/{lot.id}",
        headers={**headers, "If-Match": stale},
        json={"inputs_used": "nothing at all"},
    )

    assert_problem(response, 412)
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["inputs_used"] == "organic manure"


def test_lot_edit_with_the_current_etag_succeeds_and_returns_a_new_etag(client, session, callers):
    lot = make_lot(
        session, product=make_product(session, cooperative=callers.cooperative.organisation), inputs_used=""
    )
    current = client.get(f"/api/v1/lots/{lot.id}").headers["ETag"]

    response = client.patch(
        f"/api/v1/lots/{lot.id}",
        headers={**callers.cooperative.headers, "If-Match": current},
        json={"inputs_used": "organic manure"},
    )

    assert response.status_code == 200
    assert response.get_json()["inputs_used"] == "organic manure"
    assert response.headers["ETag"] != current
    assert response.headers["ETag"] == client.get(f"/api/v1/lots/{lot.id}").headers["ETag"]


def test_product_edit_with_a_stale_etag_changes_nothing(client, session, callers):
    product = make_product(session, cooperative=callers.cooperative.organisation, name_en="Longjing")
    stale = client.get(f"/api/v1/products/{product.id}").headers["ETag"]
    client.patch(
        f"/api/v1/products/{product.id}",
        headers=callers.cooperative.headers,
        json={"name_en": "West Lake Longjing"},
    )

    response = client.patch(
        f"/api/v1/products/{product.id}",
        headers={**callers.cooperative.headers, "If-Match": stale},
        json={"name_en": "Something else"},
    )

    assert_problem(response, 412)
    assert client.get(f"/api/v1/products/{product.id}").get_json()["name_en"] == "West Lake Longjing"


def test_cooperative_puts_its_graded_lot_on_sale_and_withdraws_it(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.GRADED,
    )
    make_grade(session, lot=lot)
    url = f"/api/v1/lots/{lot.id}/status"

    on_sale = client.post(url, headers=callers.cooperative.headers, json={"status": "on_sale"})
    withdrawn = client.post(url, headers=callers.cooperative.headers, json={"status": "graded"})

    assert on_sale.status_code == 200
    assert on_sale.get_json()["status"] == "on_sale"
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "graded"


def test_bad_lot_transition_is_a_409_problem(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.REGISTERED,
    )

    response = client.post(
        f"/api/v1/lots/{lot.id}/status", headers=callers.cooperative.headers, json={"status": "graded"}
    )

    body = assert_problem(response, 409)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == "urn:shanhai:problem:invalid-lot-transition"
    assert "registered" in body["detail"]
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "registered"


def test_recall_without_a_reason_is_refused_naming_the_reason(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.ON_SALE,
    )

    response = client.post(
        f"/api/v1/lots/{lot.id}/status", headers=callers.operator.headers, json={"status": "recalled"}
    )

    body = assert_problem(response, 422)
    assert "reason" in body["errors"]["json"]
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "on_sale"


def test_operator_recalls_a_lot_with_a_reason(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.ON_SALE,
    )

    response = client.post(
        f"/api/v1/lots/{lot.id}/status",
        headers=callers.operator.headers,
        json={"status": "recalled", "reason": "pesticide residue above the limit"},
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "recalled"
    assert response.get_json()["recall_reason"] == "pesticide residue above the limit"


def test_cooperative_cannot_recall_its_own_lot(client, session, callers):
    lot = make_lot(
        session,
        product=make_product(session, cooperative=callers.cooperative.organisation),
        status=LotStatus.ON_SALE,
    )

    response = client.post(
        f"/api/v1/lots/{lot.id}/status",
        headers=callers.cooperative.headers,
        json={"status": "recalled", "reason": "we changed our mind"},
    )

    assert_problem(response, 403)
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "on_sale"


def test_operator_uploads_a_brand_logo_that_is_served_as_a_bounded_png(client, session, callers):
    brand = make_brand(session)

    uploaded = client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.operator.headers,
        data={"logo": (io.BytesIO(make_png(1024, 600)), "logo.png")},
        content_type="multipart/form-data",
    )
    served = client.get(f"/api/v1/brands/{brand.id}/logo")

    assert uploaded.status_code == 200
    assert uploaded.get_json()["logo_url"] == f"/api/v1/brands/{brand.id}/logo"
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    with Image.open(io.BytesIO(served.data)) as logo:
        assert logo.format == "PNG"
        assert max(logo.size) <= 512
        assert logo.size == (512, 300)


def test_text_file_named_like_a_png_is_not_accepted_as_a_logo(client, session, callers):
    brand = make_brand(session)

    response = client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.operator.headers,
        data={"logo": (io.BytesIO(b"this is not an image\n"), "logo.png")},
        content_type="multipart/form-data",
    )

    assert_problem(response, 415)
    assert_problem(client.get(f"/api/v1/brands/{brand.id}/logo"), 404)


@pytest.mark.parametrize("side", [900, 1250], ids=["over the 2 MB logo limit", "over the 4 MB request limit"])
def test_logo_over_2_mb_is_refused_as_too_large(client, session, callers, side):
    brand = make_brand(session)
    png = make_png(side, side, noise=True)
    assert len(png) > 2 * 1024 * 1024

    response = client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.operator.headers,
        data={"logo": (io.BytesIO(png), "logo.png")},
        content_type="multipart/form-data",
    )

    assert_problem(response, 413)
    assert_problem(client.get(f"/api/v1/brands/{brand.id}/logo"), 404)


@pytest.mark.parametrize("side", [2_100, 6_300, 10_000])
def test_logo_of_more_than_4_megapixels_is_refused_before_it_is_decoded(client, session, callers, side):
    # 6300×6300 is the 38 KB PNG that cost a worker +285 MiB when it was decoded.
    brand = make_brand(session)
    png = make_png(side, side, mode="1")
    assert len(png) < 100 * 1024

    response = client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.operator.headers,
        data={"logo": (io.BytesIO(png), "logo.png")},
        content_type="multipart/form-data",
    )

    assert_problem(response, 413)
    assert_problem(client.get(f"/api/v1/brands/{brand.id}/logo"), 404)


def test_served_logo_is_answered_304_to_the_etag_the_client_holds(client, session, callers):
    brand = make_brand(session)
    client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.operator.headers,
        data={"logo": (io.BytesIO(make_png(64, 64)), "logo.png")},
        content_type="multipart/form-data",
    )
    first = client.get(f"/api/v1/brands/{brand.id}/logo")

    again = client.get(f"/api/v1/brands/{brand.id}/logo", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.data == b""


def test_logo_sent_as_json_is_refused_as_unsupported_media(client, session, callers):
    brand = make_brand(session)

    response = client.put(
        f"/api/v1/brands/{brand.id}/logo", headers=callers.operator.headers, json={"logo": "iVBORw0KGgo="}
    )

    assert_problem(response, 415)


def test_cooperative_cannot_change_a_brand_logo(client, session, callers):
    brand = make_brand(session)

    response = client.put(
        f"/api/v1/brands/{brand.id}/logo",
        headers=callers.cooperative.headers,
        data={"logo": (io.BytesIO(make_png(64, 64)), "logo.png")},
        content_type="multipart/form-data",
    )

    assert_problem(response, 403)
    assert_problem(client.get(f"/api/v1/brands/{brand.id}/logo"), 404)


def test_product_search_treats_percent_and_underscore_literally(client, session, callers):
    cooperative = callers.cooperative.organisation
    make_product(session, cooperative=cooperative, name_zh="100%纯芹菜", name_en="Pure celery")
    make_product(session, cooperative=cooperative, name_zh="龙井", name_en="Longjing_tea")
    make_product(session, cooperative=cooperative, name_zh="寿梅", name_en="Plum")
    assert [p["name_en"] for p in client.get("/api/v1/products?q=%25").get_json()] == ["Pure celery"]
    assert [p["name_en"] for p in client.get("/api/v1/products?q=_").get_json()] == ["Longjing_tea"]
