"""Brand licences and growers' villages through HTTP: the demo's celery cooperative tries to wear
西湖龙井 and 龙坞's villages; the operator grants and revokes; other growers see nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from catalog import licences
from catalog.models import Brand, Category, Lot, LotStatus, Sku
from marketplace.accounts.models import User
from marketplace.parties.models import Village
from marketplace.region.demo.loader import load_demo
from tests import factories

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["type"] == f"urn:shanhai:problem:{slug}"
    return body


@pytest.fixture
def region(session, callers):
    """The demo's two clusters in small: 龙坞 with 西湖龙井 tea, 益农 with 共富智 celery; each
    cooperative licensed for its own brand and working in its own villages."""
    make = factories
    qunwei, shangchengdai = (
        make.make_village(session, name_zh="群围村"),
        make.make_village(session, name_zh="上城埭村"),
    )
    yinong, longwu = callers.cooperative.organisation, callers.other_cooperative.organisation
    gongfuzhi = make.make_brand(
        session, name_zh="共富智", cluster=make.make_cluster(session, villages=[qunwei])
    )
    longjing = make.make_brand(
        session, name_zh="西湖龙井", cluster=make.make_cluster(session, villages=[shangchengdai])
    )
    tea, vegetables = make.make_category(session, slug="tea"), make.make_category(session, slug="vegetables")
    celery = make.make_product(
        session, cooperative=yinong, brand=gongfuzhi, category=vegetables, village=qunwei
    )
    make.make_product(session, cooperative=longwu, brand=longjing, category=tea, village=shangchengdai)
    celery_lot = make.make_lot(session, product=celery)
    make.make_grade(session, lot=celery_lot)
    celery_lot.status = LotStatus.ON_SALE
    make.make_sku(session, product=celery)
    session.flush()
    return {
        "celery_coop": callers.cooperative.headers,
        "tea_coop": callers.other_cooperative.headers,
        "operator": callers.operator.headers,
        "yinong": yinong,
        "longwu": longwu,
        "longjing": longjing,
        "gongfuzhi": gongfuzhi,
        "tea": tea,
        "vegetables": vegetables,
        "shangchengdai": shangchengdai,
        "qunwei": qunwei,
        "celery": celery,
        "celery_lot": celery_lot,
    }


def test_in_the_demo_every_lot_may_carry_its_brand_and_the_celery_cooperative_not_xihu_longjing(
    client, session
):
    load_demo(session)
    session.flush()
    one = lambda model, **where: session.scalar(sa.select(model).filter_by(**where))  # noqa: E731
    lots = session.scalars(sa.select(Lot).order_by(Lot.id)).all()

    response = client.post(
        "/api/v1/products",
        headers=factories.headers_for(session, one(User, email="cooperative@example.com")),
        json={
            "brand_id": one(Brand, slug="xihu-longjing").id,
            "category_id": one(Category, slug="tea").id,
            "village_id": one(Village, name_zh="上城埭村").id,
            "name_zh": "西湖龙井",
            "name_en": "West Lake Longjing",
        },
    )

    assert lots and [licences.carry_refusal(session, lot) for lot in lots] == [None] * len(lots)
    assert_problem(response, 403, "brand-not-licensed")


def test_the_celery_cooperative_cannot_list_a_product_under_xihu_longjing(client, region):
    response = client.post(
        "/api/v1/products",
        headers=region["celery_coop"],
        json={
            "brand_id": region["longjing"].id,
            "category_id": region["tea"].id,
            "village_id": region["qunwei"].id,
            "name_zh": "西湖龙井",
            "name_en": "West Lake Longjing",
        },
    )

    body = assert_problem(response, 403, "brand-not-licensed")
    assert "西湖龙井" in body["detail"]


def test_the_operator_cannot_list_xihu_longjing_for_the_celery_cooperative_either(client, region):
    response = client.post(
        "/api/v1/products",
        headers=region["operator"],
        json={
            "brand_id": region["longjing"].id,
            "category_id": region["tea"].id,
            "village_id": region["shangchengdai"].id,
            "cooperative_id": region["yinong"].id,
            "name_zh": "西湖龙井",
            "name_en": "West Lake Longjing",
        },
    )

    assert_problem(response, 403, "brand-not-licensed")


def test_the_celery_cooperative_cannot_place_its_own_brand_in_a_longwu_village(client, region):
    response = client.post(
        "/api/v1/products",
        headers=region["celery_coop"],
        json={
            "brand_id": region["gongfuzhi"].id,
            "category_id": region["vegetables"].id,
            "village_id": region["shangchengdai"].id,
            "name_zh": "芹菜",
            "name_en": "Celery",
        },
    )

    assert_problem(response, 403, "village-not-served")


def test_the_celery_cooperative_cannot_register_a_lot_in_a_longwu_village(client, session, region):
    response = client.post(
        "/api/v1/lots",
        headers=region["celery_coop"],
        json={
            "product_id": region["celery"].id,
            "village_id": region["shangchengdai"].id,
            "lot_code": "XQ-LW-1",
            "harvested_on": "2026-11-20",
            "quantity": "100",
            "unit": "kg",
        },
    )

    assert_problem(response, 403, "village-not-served")
    assert session.scalar(sa.select(Lot.id).where(Lot.lot_code == "XQ-LW-1")) is None


def test_the_celery_cooperative_cannot_move_its_lot_to_another_clusters_village(client, region):
    lot = region["celery_lot"]

    response = client.patch(
        f"/api/v1/lots/{lot.id}",
        headers=region["celery_coop"],
        json={"village_id": region["shangchengdai"].id},
    )

    assert_problem(response, 403, "village-not-served")
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["village_id"] == region["qunwei"].id


def test_the_celery_cooperative_cannot_mint_codes_for_a_xihu_longjing_product(client, session, region):
    # As the attack left it: a 西湖龙井 product of the celery cooperative, listed before licences.
    product = factories.make_product(
        session,
        cooperative=region["yinong"],
        brand=region["longjing"],
        category=region["tea"],
        village=region["qunwei"],
        licensed=False,
    )
    sku = factories.make_sku(session, product=product)
    lot = factories.make_lot(session, product=product, status=LotStatus.ON_SALE, licensed=False)

    response = client.post(
        f"/api/v1/lots/{lot.id}/codes",
        headers=region["celery_coop"],
        json={"sku_id": sku.id, "level": "unit", "quantity": 3},
    )

    assert_problem(response, 403, "brand-not-licensed")
    order = client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": sku.id, "quantity": 1}], "email": "buyer@example.test"}
    )
    assert_problem(order, 409, "out-of-stock")


def test_the_operator_grants_a_licence_and_the_grower_can_then_use_the_brand(client, region):
    granted = client.post(
        "/api/v1/brand-licences",
        headers=region["operator"],
        json={
            "brand_id": region["longjing"].id,
            "licensee_id": region["yinong"].id,
            "category_id": region["tea"].id,
            "valid_from": "2026-01-01T00:00:00+08:00",
            "valid_until": "2027-01-01T00:00:00+08:00",
            "note": "trial season",
        },
    )
    assert granted.status_code == 201, granted.get_json()
    licence = granted.get_json()
    assert licence["in_force"] is True and licence["revoked_at"] is None
    assert datetime.fromisoformat(licence["valid_from"]) == datetime(2025, 12, 31, 16, tzinfo=UTC)

    listed = client.post(
        "/api/v1/products",
        headers=region["celery_coop"],
        json={
            "brand_id": region["longjing"].id,
            "category_id": region["tea"].id,
            "village_id": region["qunwei"].id,
            "name_zh": "群围龙井",
            "name_en": "Qunwei Longjing",
        },
    )

    assert listed.status_code == 201, listed.get_json()
    own = client.get("/api/v1/brand-licences", headers=region["celery_coop"]).get_json()
    assert licence["id"] in {item["id"] for item in own}
    assert {item["licensee_id"] for item in own} == {region["yinong"].id}


def test_the_operator_revokes_a_licence_and_the_growers_lots_leave_the_shop(client, session, region):
    licence = client.get(
        f"/api/v1/brand-licences?licensee_id={region['yinong'].id}", headers=region["operator"]
    ).get_json()[0]

    revoked = client.post(
        f"/api/v1/brand-licences/{licence['id']}/revocation",
        headers=region["operator"],
        json={"reason": "cooperative dissolved"},
    )

    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["in_force"] is False
    assert revoked.get_json()["revoke_reason"] == "cooperative dissolved"
    celery_lots = client.get(f"/api/v1/lots?product_id={region['celery'].id}").get_json()
    assert "on_sale" not in {lot["status"] for lot in celery_lots}
    sku = session.scalar(sa.select(Sku).where(Sku.product_id == region["celery"].id))
    order = client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": sku.id, "quantity": 1}], "email": "buyer@example.test"}
    )
    assert_problem(order, 409, "out-of-stock")
    again = client.post(
        f"/api/v1/brand-licences/{licence['id']}/revocation",
        headers=region["operator"],
        json={"reason": "twice"},
    )
    assert_problem(again, 409, "licence-revoked")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_until": "2025-01-01T00:00:00+08:00"}, "valid_until"),
        ({"valid_from": "0001-01-01T00:00:00+01:00"}, "valid_from"),
        ({"valid_from": "2026-01-01T00:00:00"}, "valid_from"),
    ],
)
def test_a_licence_with_an_impossible_period_is_refused(client, region, change, field):
    response = client.post(
        "/api/v1/brand-licences",
        headers=region["operator"],
        json={
            "brand_id": region["longjing"].id,
            "licensee_id": region["yinong"].id,
            "valid_from": "2026-01-01T00:00:00+08:00",
            **change,
        },
    )

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["json"]


def test_only_growers_can_hold_a_licence(client, callers, region):
    enterprise = callers.enterprise.organisation

    response = client.post(
        "/api/v1/brand-licences",
        headers=region["operator"],
        json={
            "brand_id": region["longjing"].id,
            "licensee_id": enterprise.id,
            "valid_from": "2026-01-01T00:00:00+08:00",
        },
    )

    assert_problem(response, 422, "wrong-organisation-kind")


def test_another_cooperative_can_neither_read_nor_change_a_licence(client, region):
    theirs = client.get(
        f"/api/v1/brand-licences?licensee_id={region['yinong'].id}", headers=region["operator"]
    ).get_json()[0]

    listed = client.get("/api/v1/brand-licences?page_size=100", headers=region["tea_coop"]).get_json()
    read = client.get(f"/api/v1/brand-licences/{theirs['id']}", headers=region["tea_coop"])
    revoke = client.post(
        f"/api/v1/brand-licences/{theirs['id']}/revocation",
        headers=region["tea_coop"],
        json={"reason": "competitor"},
    )
    grant = client.post(
        "/api/v1/brand-licences",
        headers=region["tea_coop"],
        json={
            "brand_id": region["gongfuzhi"].id,
            "licensee_id": region["longwu"].id,
            "valid_from": "2026-01-01T00:00:00+08:00",
        },
    )

    assert {item["licensee_id"] for item in listed} == {region["longwu"].id}
    missing = client.get("/api/v1/brand-licences/999999", headers=region["tea_coop"])
    assert read.status_code == missing.status_code == 404
    assert read.get_json()["detail"].replace(str(theirs["id"]), "N") == (
        missing.get_json()["detail"].replace("999999", "N")
    )
    assert_problem(revoke, 403, "role-not-allowed")
    assert_problem(grant, 403, "role-not-allowed")
    after = client.get(f"/api/v1/brand-licences/{theirs['id']}", headers=region["operator"])
    assert after.get_json()["in_force"] is True


def test_the_operator_records_the_villages_a_grower_works_in(client, region):
    url = f"/api/v1/organisations/{region['yinong'].id}/villages"

    added = client.post(
        url,
        headers=region["operator"],
        json={"village_id": region["shangchengdai"].id, "since": "2026-12-01"},
    )
    duplicate = client.post(
        url,
        headers=region["operator"],
        json={"village_id": region["shangchengdai"].id, "since": "2026-12-01"},
    )
    own = client.get(url, headers=region["celery_coop"])

    assert added.status_code == 201, added.get_json()
    assert added.get_json()["since"] == "2026-12-01"
    assert_problem(duplicate, 409, "membership-exists")
    assert own.status_code == 200
    assert {item["village_id"] for item in own.get_json()} >= {
        region["qunwei"].id,
        region["shangchengdai"].id,
    }


def test_removing_a_village_takes_the_growers_lots_from_there_off_sale(client, region):
    lot = region["celery_lot"]

    removed = client.delete(
        f"/api/v1/organisations/{region['yinong'].id}/villages/{region['qunwei'].id}",
        headers=region["operator"],
    )

    assert removed.status_code == 204
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "graded"
    back = client.post(
        f"/api/v1/lots/{lot.id}/status", headers=region["celery_coop"], json={"status": "on_sale"}
    )
    assert_problem(back, 403, "village-not-served")
    again = client.delete(
        f"/api/v1/organisations/{region['yinong'].id}/villages/{region['qunwei'].id}",
        headers=region["operator"],
    )
    assert_problem(again, 404, "membership-not-found")


def test_another_cooperative_can_neither_read_nor_change_a_growers_villages(client, region):
    url = f"/api/v1/organisations/{region['yinong'].id}/villages"

    read = client.get(url, headers=region["tea_coop"])
    add = client.post(
        url,
        headers=region["tea_coop"],
        json={"village_id": region["shangchengdai"].id, "since": "2026-12-01"},
    )
    remove = client.delete(f"{url}/{region['qunwei'].id}", headers=region["tea_coop"])
    own_add = client.post(
        f"/api/v1/organisations/{region['longwu'].id}/villages",
        headers=region["tea_coop"],
        json={"village_id": region["qunwei"].id, "since": "2026-12-01"},
    )

    assert_problem(read, 403, "not-yours")
    for response in (add, remove, own_add):
        assert_problem(response, 403, "role-not-allowed")
    kept = client.get(url, headers=region["operator"]).get_json()
    assert {item["village_id"] for item in kept} == {region["qunwei"].id}
