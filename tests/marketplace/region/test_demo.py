"""The demo region a newcomer clicks through, loaded from the seeds."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from catalog import gtin as gtin_rules
from catalog.models import Lot, Sku
from marketplace.parties.models import Cluster, Village
from marketplace.region.demo import region
from marketplace.region.demo.loader import load_demo


def test_the_demo_region_has_the_three_clusters_the_seeds_describe(client, session):
    assert load_demo(session) is True
    session.commit()
    clusters = client.get("/api/v1/clusters").get_json()
    names = {cluster["name_zh"] for cluster in clusters}
    assert len(clusters) == 3
    assert any("云飞寿潜" in name for name in names)
    assert any("龙井" in name for name in names)
    assert any("共富智" in name for name in names)
    brands = {brand["name_zh"] for brand in client.get("/api/v1/brands").get_json()}
    assert {"云飞寿潜", "西湖龙井", "共富智"} <= brands
    celery_union = client.get("/api/v1/villages?sort=name&page_size=100").get_json()
    assert {"群围村", "三围村", "民围村"} <= {village["name_zh"] for village in celery_union}


def test_loading_the_demo_twice_changes_nothing(session):
    assert load_demo(session) is True
    counts = [
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Cluster, Village, Sku, Lot)
    ]
    assert load_demo(session) is False
    assert [
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Cluster, Village, Sku, Lot)
    ] == counts


def test_every_demo_account_gets_a_token_and_knows_its_role(client, session):
    load_demo(session)
    session.commit()
    for account in region.USERS:
        response = client.post(
            "/api/v1/auth/token", json={"email": account["email"], "password": region.DEMO_PASSWORD}
        )
        assert response.status_code == 201, account["email"]
        token = response.get_json()["access_token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert me["role"] == account["role"]
        assert me["user"]["email"] == account["email"]


def test_the_demo_cooperative_cannot_touch_the_second_cooperatives_lot(client, session):
    load_demo(session)
    session.commit()
    token = client.post(
        "/api/v1/auth/token", json={"email": "cooperative@example.com", "password": region.DEMO_PASSWORD}
    ).get_json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    lots = client.get("/api/v1/lots?page_size=100").get_json()
    foreign = next(lot for lot in lots if lot["cooperative_id"] != me["organisation"]["id"])
    response = client.patch(
        f"/api/v1/lots/{foreign['id']}",
        json={"inputs_used": "mine"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403


def test_the_demo_data_is_consistent_with_itself():
    keys = {
        name: {item["key"] for item in getattr(region, name)}
        for name in ("VILLAGES", "ORGANISATIONS", "CLUSTERS", "BRANDS", "PRODUCTS", "CATEGORIES")
    }
    for product in region.PRODUCTS:
        assert product["brand"] in keys["BRANDS"] and product["village"] in keys["VILLAGES"]
    for sku in region.SKUS:
        assert gtin_rules.is_valid(sku["gtin"]) and sku["product"] in keys["PRODUCTS"]
    for lot in region.LOTS:
        assert 0 <= lot["stock_on_hand"] <= lot["quantity"]
    for village in region.VILLAGES:
        assert 27 < village["latitude"] < 32 and 118 < village["longitude"] < 123  # Zhejiang


def test_the_demo_has_hewei_foods_celery_contract_with_yinong_signed_and_delivering(session):
    from orders.contracts.models import Contract, ContractStatus, Delivery, DeliveryStatus

    load_demo(session)
    contract = session.scalar(sa.select(Contract))
    delivery = session.scalar(sa.select(Delivery))
    assert contract.status is ContractStatus.ACTIVE
    assert contract.terms_in_force.fingerprint is not None
    assert {contract.enterprise.name_zh, contract.grower.name_zh} >= {"杭州萧山益农共富智芹菜专业合作社"}
    # 一级 at 150 × 1.10 = 165 fen/jin; 11,950 jin × 165 = 1,971,750 fen.
    assert (delivery.status, delivery.unit_price_fen, delivery.amount_fen) == (
        DeliveryStatus.ACCEPTED,
        165,
        1_971_750,
    )
    assert delivery.lot.stock_on_hand == Decimal("3600")
    assert load_demo(session) is False
    assert session.scalar(sa.select(sa.func.count()).select_from(Contract)) == 1
