"""Every write endpoint × every role, and writes across organisations."""

from __future__ import annotations

import io
import re

import pytest

from catalog.models import LotStatus
from tests import factories

OPERATOR = {"operator"}
GROWERS = {"cooperative", "operator"}
ANY_ROLE = {"operator", "cooperative", "enterprise", "inspector"}
PUBLIC = None

WRITE_ACCESS = {
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("DELETE", "/api/v1/auth/token"): ANY_ROLE,
    ("POST", "/api/v1/users"): OPERATOR,
    ("POST", "/api/v1/clusters"): OPERATOR,
    ("PATCH", "/api/v1/clusters/<int:cluster_id>"): OPERATOR,
    ("POST", "/api/v1/villages"): OPERATOR,
    ("PATCH", "/api/v1/villages/<int:village_id>"): OPERATOR,
    ("POST", "/api/v1/organisations"): OPERATOR,
    ("PATCH", "/api/v1/organisations/<int:organisation_id>"): OPERATOR,
    ("POST", "/api/v1/pairings"): OPERATOR,
    ("POST", "/api/v1/organisations/<int:organisation_id>/villages"): OPERATOR,
    ("DELETE", "/api/v1/organisations/<int:organisation_id>/villages/<int:village_id>"): OPERATOR,
    ("POST", "/api/v1/brand-licences"): OPERATOR,
    ("POST", "/api/v1/brand-licences/<int:licence_id>/revocation"): OPERATOR,
    ("POST", "/api/v1/brands"): OPERATOR,
    ("PATCH", "/api/v1/brands/<int:brand_id>"): OPERATOR,
    ("PUT", "/api/v1/brands/<int:brand_id>/logo"): OPERATOR,
    ("POST", "/api/v1/categories"): OPERATOR,
    ("POST", "/api/v1/products"): GROWERS,
    ("PATCH", "/api/v1/products/<int:product_id>"): GROWERS,
    ("POST", "/api/v1/skus"): GROWERS,
    ("PATCH", "/api/v1/skus/<int:sku_id>"): GROWERS,
    ("POST", "/api/v1/lots"): {"cooperative"},
    ("PATCH", "/api/v1/lots/<int:lot_id>"): GROWERS,
    ("POST", "/api/v1/lots/<int:lot_id>/status"): GROWERS,
    ("POST", "/api/v1/orders"): PUBLIC,
    ("POST", "/api/v1/orders/<string(length=22):reference>/cancel"): PUBLIC,
    ("POST", "/api/v1/orders/<string(length=22):reference>/payments"): PUBLIC,
    ("POST", "/api/v1/orders/<string(length=22):reference>/refunds"): OPERATOR,
    ("POST", "/api/v1/orders/<string(length=22):reference>/fulfilment"): GROWERS,
    ("POST", "/api/v1/orders/<string(length=22):reference>/completion"): GROWERS,
    ("POST", "/api/v1/seller-orders/<int:order_id>/shipment"): {"cooperative"},
    ("POST", "/api/v1/seller-orders/<int:order_id>/completion"): {"cooperative"},
    ("POST", "/api/v1/payments/stripe/webhook"): PUBLIC,
    ("POST", "/api/v1/sharing-rules"): OPERATOR,
    ("POST", "/api/v1/quality/standards"): OPERATOR,
    ("PATCH", "/api/v1/quality/standards/<int:standard_id>"): OPERATOR,
    ("POST", "/api/v1/quality/standards/<int:standard_id>/publish"): OPERATOR,
    ("POST", "/api/v1/quality/brand-minimum-grades"): OPERATOR,
    ("POST", "/api/v1/lots/<int:lot_id>/inspections"): {"inspector"},
    ("POST", "/api/v1/lots/<int:lot_id>/grades"): {"inspector"},
    ("POST", "/api/v1/lots/<int:lot_id>/certificates"): GROWERS,
    ("POST", "/api/v1/lots/<int:lot_id>/codes"): GROWERS,
    ("POST", "/api/v1/lots/<int:lot_id>/trace-events"): GROWERS,
    ("POST", "/api/v1/contracts"): {"enterprise"},
    ("PUT", "/api/v1/contracts/<int:contract_id>/terms"): {"enterprise"},
    ("POST", "/api/v1/contracts/<int:contract_id>/amendments"): {"enterprise"},
    ("POST", "/api/v1/contracts/<int:contract_id>/signatures"): {"enterprise", "cooperative"},
    ("POST", "/api/v1/contracts/<int:contract_id>/end"): {"enterprise", "cooperative", "operator"},
    ("POST", "/api/v1/contracts/<int:contract_id>/advances"): {"enterprise"},
    ("POST", "/api/v1/contracts/<int:contract_id>/deliveries"): {"cooperative"},
    ("POST", "/api/v1/contracts/<int:contract_id>/deliveries/<int:delivery_id>/acceptance"): {"enterprise"},
    ("POST", "/api/v1/contracts/<int:contract_id>/deliveries/<int:delivery_id>/rejection"): {"enterprise"},
    ("POST", "/api/v1/contracts/<int:contract_id>/settlements"): {"enterprise"},
    ("POST", "/api/v1/contract-settlements/<int:settlement_id>/payment"): {"enterprise", "operator"},
    ("POST", "/api/v1/market-prices"): OPERATOR,
    ("POST", "/api/v1/contracts/<int:contract_id>/call-offs"): {"enterprise"},
    ("POST", "/api/v1/orders/<string(length=22):reference>/bank-transfer"): OPERATOR,
}


def write_endpoints(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }


def concrete(rule: str) -> str:
    rule = re.sub(r"<string\(length=22\):\w+>", "NoSuchOrderReference00", rule)
    return re.sub(r"<int:\w+>", "999999", rule)


def empty_body(rule: str) -> dict:
    """An empty body of the media type the endpoint reads."""
    if rule.endswith("/logo"):
        return {"data": {"logo": (io.BytesIO(b""), "logo.png")}, "content_type": "multipart/form-data"}
    return {"json": {}}


def test_every_write_endpoint_has_a_declared_access_rule(app):
    assert write_endpoints(app) == set(WRITE_ACCESS)


@pytest.mark.parametrize(("method", "rule"), sorted(k for k, v in WRITE_ACCESS.items() if v))
def test_write_endpoints_refuse_callers_without_a_token(client, method, rule):
    response = client.open(concrete(rule), method=method, **empty_body(rule))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "rule"), sorted(k for k, v in WRITE_ACCESS.items() if v))
def test_write_endpoints_refuse_a_garbage_token(client, method, rule):
    response = client.open(
        concrete(rule), method=method, **empty_body(rule), headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "rule"), sorted(k for k, v in WRITE_ACCESS.items() if v))
def test_write_endpoints_let_in_exactly_the_declared_roles(client, callers, method, rule):
    allowed = WRITE_ACCESS[(method, rule)]
    for role, caller in callers.by_role().items():
        response = client.open(concrete(rule), method=method, **empty_body(rule), headers=caller.headers)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.get_json())
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.mimetype == "application/problem+json"


@pytest.fixture
def other_cooperatives_goods(session, callers):
    product = factories.make_product(session, cooperative=callers.other_cooperative.organisation)
    return {
        "product": product,
        "sku": factories.make_sku(session, product=product),
        "lot": factories.make_lot(session, product=product, status=LotStatus.GRADED),
    }


def test_a_cooperative_cannot_change_another_cooperatives_goods(client, callers, other_cooperatives_goods):
    goods = other_cooperatives_goods
    attempts = [
        ("PATCH", f"/api/v1/products/{goods['product'].id}", {"name_en": "Mine now"}),
        ("PATCH", f"/api/v1/skus/{goods['sku'].id}", {"price_fen": 1}),
        ("PATCH", f"/api/v1/lots/{goods['lot'].id}", {"inputs_used": "none"}),
        ("POST", f"/api/v1/lots/{goods['lot'].id}/status", {"status": "on_sale"}),
        (
            "POST",
            "/api/v1/skus",
            {
                "product_id": goods["product"].id,
                "name_zh": "冒牌",
                "name_en": "Fake",
                "pack_size": "1",
                "pack_unit": "kg",
                "price_fen": 1,
                "gtin": factories.make_gtin(),
            },
        ),
        (
            "POST",
            "/api/v1/lots",
            {
                "product_id": goods["product"].id,
                "lot_code": "FAKE1",
                "harvested_on": "2026-05-01",
                "quantity": "5",
                "unit": "kg",
            },
        ),
        (
            "POST",
            "/api/v1/products",
            {
                "brand_id": goods["product"].brand_id,
                "category_id": goods["product"].category_id,
                "village_id": goods["product"].village_id,
                "cooperative_id": goods["product"].cooperative_id,
                "name_zh": "冒牌",
                "name_en": "Fake",
            },
        ),
    ]
    for method, path, body in attempts:
        response = client.open(path, method=method, json=body, headers=callers.cooperative.headers)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.get_json()["type"] == "urn:shanhai:problem:not-yours"


def test_the_owning_cooperative_can_change_its_own_goods(client, session, callers):
    product = factories.make_product(session, cooperative=callers.cooperative.organisation)
    lot = factories.make_lot(session, product=product, status=LotStatus.INSPECTED)
    factories.make_grade(session, lot=lot)
    response = client.post(
        f"/api/v1/lots/{lot.id}/status", json={"status": "on_sale"}, headers=callers.cooperative.headers
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "on_sale"
