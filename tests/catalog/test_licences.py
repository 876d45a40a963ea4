"""A brand is the product's promise: only a licensed grower, only from villages it works in, only
produce at or above the brand's minimum grade may carry it, on every path that puts it on produce."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog import licences, service
from catalog.errors import BrandNotLicensed
from catalog.models import Lot, LotStatus, Product
from marketplace.core.db import utcnow
from marketplace.parties import service as parties_service
from marketplace.parties.errors import VillageNotServed
from marketplace.parties.models import Role
from marketplace.traceability import service as codes_service
from marketplace.traceability import trace as trace_service
from marketplace.traceability.models import Code, CodeLevel
from orders import service as orders_service
from orders.errors import OutOfStock
from quality import service as quality_service
from quality.errors import GradeBelowBrandMinimum
from tests.factories import (
    CELERY_GRADES,
    MOISTURE_FOR,
    SIGNING_KEYS,
    graded_definition,
    make_brand,
    make_contract,
    make_grade,
    make_graded_lot,
    make_licence,
    make_lot,
    make_membership,
    make_organisation,
    make_product,
    make_sku,
    make_standard,
    make_user,
    make_village,
    simple_sample,
)


def grower(session):
    cooperative = make_organisation(session)
    return cooperative, make_user(session, role=Role.COOPERATIVE, organisation=cooperative)


def order_one(session, sku):
    return orders_service.place_order(
        session,
        lines=[{"sku_id": sku.id, "quantity": 1}],
        buyer=None,
        email="buyer@example.test",
        hold=timedelta(minutes=15),
        currency="CNY",
    )


def graded(session, product, grade: str, standard, **fields):
    lot = make_lot(session, product=product, quantity=Decimal("10"), **fields)
    make_grade(session, lot=lot, standard=standard, sample=simple_sample(MOISTURE_FOR[grade]))
    return lot


def lapsed_licence(session, cooperative, product):
    """The grower's only licence for the product's brand ended yesterday."""
    return make_licence(
        session,
        licensee=cooperative,
        brand=product.brand,
        category=product.category,
        valid_from=utcnow() - timedelta(days=400),
        valid_until=utcnow() - timedelta(days=1),
    )


def test_a_cooperative_cannot_list_a_product_under_a_brand_it_holds_no_licence_for(session):
    cooperative, member = grower(session)
    village = make_village(session)
    make_membership(session, organisation_id=cooperative.id, village_id=village.id)
    someone_elses = make_product(session, cooperative=make_organisation(session))

    with pytest.raises(BrandNotLicensed):
        service.create_product(
            session,
            actor=member,
            brand_id=someone_elses.brand_id,
            category_id=someone_elses.category_id,
            village_id=village.id,
            name_zh="西湖龙井",
            name_en="West Lake Longjing",
        )

    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(Product).where(Product.cooperative_id == cooperative.id)
        )
        == 0
    )


def test_a_licence_for_one_product_line_does_not_cover_another(session):
    cooperative, member = grower(session)
    tea = make_product(session, cooperative=cooperative)
    other_line = make_product(session, cooperative=make_organisation(session), brand=tea.brand)

    with pytest.raises(BrandNotLicensed):
        service.create_product(
            session,
            actor=member,
            brand_id=tea.brand_id,
            category_id=other_line.category_id,
            village_id=tea.village_id,
            name_zh="龙井芹菜",
            name_en="Longjing celery",
        )


def test_an_operator_listing_for_a_cooperative_is_held_to_the_cooperatives_licences(session):
    operator = make_user(
        session,
        role=Role.OPERATOR,
        organisation=make_organisation(session, parties_service.OrganisationKind.OPERATOR),
    )
    cooperative, _member = grower(session)
    village = make_village(session)
    make_membership(session, organisation_id=cooperative.id, village_id=village.id)
    brand = make_brand(session)

    with pytest.raises(BrandNotLicensed):
        service.create_product(
            session,
            actor=operator,
            cooperative_id=cooperative.id,
            brand_id=brand.id,
            category_id=make_product(
                session, cooperative=make_organisation(session), brand=brand
            ).category_id,
            village_id=village.id,
            name_zh="龙井",
            name_en="Longjing",
        )


def test_a_cooperative_cannot_list_a_product_from_a_village_it_does_not_work_in(session):
    cooperative, member = grower(session)
    own = make_product(session, cooperative=cooperative)

    with pytest.raises(VillageNotServed):
        service.create_product(
            session,
            actor=member,
            brand_id=own.brand_id,
            category_id=own.category_id,
            village_id=make_village(session).id,
            name_zh="芹菜",
            name_en="Celery",
        )


def test_a_cooperative_cannot_register_a_lot_in_a_village_it_does_not_work_in(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative)
    elsewhere = make_village(session)

    with pytest.raises(VillageNotServed):
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="X1",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
            village_id=elsewhere.id,
        )

    assert (
        session.scalar(sa.select(sa.func.count()).select_from(Lot).where(Lot.product_id == product.id)) == 0
    )


def test_a_cooperative_cannot_move_its_lot_to_a_village_it_does_not_work_in(session):
    cooperative, member = grower(session)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative), status=LotStatus.ON_SALE)
    home = lot.village_id

    with pytest.raises(VillageNotServed):
        service.update_lot(
            session, actor=member, lot_id=lot.id, changes={"village_id": make_village(session).id}
        )

    assert lot.village_id == home


def test_a_cooperative_cannot_mint_codes_for_a_product_it_holds_no_licence_for(session):
    cooperative, member = grower(session)
    # Listed before licences existed, e.g. carried over from before the operator revoked it.
    product = make_product(session, cooperative=cooperative, licensed=False)
    make_membership(session, organisation_id=cooperative.id, village_id=product.village_id)
    lot = make_lot(session, product=product, status=LotStatus.ON_SALE, licensed=False)
    sku = make_sku(session, product=product)

    with pytest.raises(BrandNotLicensed):
        codes_service.mint_codes(
            session,
            actor=member,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=3,
            keys=SIGNING_KEYS,
        )

    assert session.scalar(sa.select(sa.func.count()).select_from(Code).where(Code.lot_id == lot.id)) == 0


def test_a_licence_past_its_end_stops_new_products_lots_codes_and_sales(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative, licensed=False)
    make_membership(session, organisation_id=cooperative.id, village_id=product.village_id)
    lapsed_licence(session, cooperative, product)
    sku = make_sku(session, product=product)
    on_sale = make_lot(session, product=product, status=LotStatus.ON_SALE, licensed=False)
    waiting = graded(
        session,
        product,
        "一级",
        make_standard(session, category=product.category, definition=graded_definition(*CELERY_GRADES)),
        licensed=False,
    )

    with pytest.raises(BrandNotLicensed) as refused:
        service.create_product(
            session,
            actor=member,
            brand_id=product.brand_id,
            category_id=product.category_id,
            village_id=product.village_id,
            name_zh="又一个",
            name_en="Another",
        )
    assert "ended" in refused.value.detail
    with pytest.raises(BrandNotLicensed):
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="L2",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
        )
    with pytest.raises(BrandNotLicensed):
        codes_service.mint_codes(
            session,
            actor=member,
            lot_id=on_sale.id,
            sku_id=sku.id,
            level=CodeLevel.LOT,
            quantity=1,
            keys=SIGNING_KEYS,
        )
    with pytest.raises(BrandNotLicensed):
        service.change_lot_status(session, actor=member, lot_id=waiting.id, status=LotStatus.ON_SALE)
    with pytest.raises(OutOfStock):
        order_one(session, sku)

    assert waiting.status is LotStatus.GRADED
    session.refresh(on_sale)
    assert on_sale.reserved == 0


def test_a_licence_that_has_not_started_yet_does_not_count(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative, licensed=False)
    make_membership(session, organisation_id=cooperative.id, village_id=product.village_id)
    make_licence(
        session,
        licensee=cooperative,
        brand=product.brand,
        category=product.category,
        valid_from=utcnow() + timedelta(days=30),
    )

    with pytest.raises(BrandNotLicensed) as refused:
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="EARLY",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
        )

    assert "starts" in refused.value.detail


def test_switching_a_products_brand_away_and_back_leaves_no_below_minimum_lot_on_sale(session):
    cooperative, member = grower(session)
    strict = make_brand(session)
    product = make_product(session, cooperative=cooperative, brand=strict)
    lenient = make_brand(session)
    make_licence(session, licensee=cooperative, brand=lenient)
    sku = make_sku(session, product=product)
    standard = make_standard(session, category=product.category, definition=graded_definition(*CELERY_GRADES))
    quality_service.set_brand_minimum(
        session, brand_id=strict.id, standard_code=standard.code, grade_code="一级"
    )
    lot = graded(session, product, "二级", standard)
    with pytest.raises(GradeBelowBrandMinimum):
        service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    service.update_product(session, actor=member, product_id=product.id, changes={"brand_id": lenient.id})
    service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)
    service.update_product(session, actor=member, product_id=product.id, changes={"brand_id": strict.id})

    assert lot.status is LotStatus.GRADED
    withdrawal = json.loads(trace_service.lot_events(session, lot_id=lot.id)[-1].details)
    assert withdrawal["status"] == "graded"
    assert withdrawal["reason"].startswith("withdrawn from sale")
    assert "一级" in withdrawal["reason"]
    with pytest.raises(OutOfStock):
        order_one(session, sku)


def test_an_order_is_never_filled_from_a_lot_below_its_brands_minimum_even_if_marked_on_sale(session):
    cooperative, _member = grower(session)
    product = make_product(session, cooperative=cooperative)
    sku = make_sku(session, product=product)
    standard = make_standard(session, category=product.category, definition=graded_definition(*CELERY_GRADES))
    quality_service.set_brand_minimum(
        session, brand_id=product.brand_id, standard_code=standard.code, grade_code="一级"
    )
    lot = graded(session, product, "二级", standard)
    # As a database written before this check would hold it.
    lot.status = LotStatus.ON_SALE
    session.flush()

    with pytest.raises(OutOfStock):
        order_one(session, sku)


def test_raising_a_brands_minimum_withdraws_the_lots_on_sale_that_no_longer_meet_it(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative)
    standard = make_standard(session, category=product.category, definition=graded_definition(*CELERY_GRADES))
    good, fair = graded(session, product, "一级", standard), graded(session, product, "二级", standard)
    for lot in (good, fair):
        service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    quality_service.set_brand_minimum(
        session, brand_id=product.brand_id, standard_code=standard.code, grade_code="一级"
    )

    assert (good.status, fair.status) == (LotStatus.ON_SALE, LotStatus.GRADED)


def test_switching_to_a_brand_without_a_licence_is_refused_and_changes_nothing(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative)
    before = product.brand_id

    with pytest.raises(BrandNotLicensed):
        service.update_product(
            session, actor=member, product_id=product.id, changes={"brand_id": make_brand(session).id}
        )

    assert product.brand_id == before


def test_revoking_a_licence_takes_the_growers_lots_under_it_off_sale(session):
    operator = make_user(
        session,
        role=Role.OPERATOR,
        organisation=make_organisation(session, parties_service.OrganisationKind.OPERATOR),
    )
    cooperative, _member = grower(session)
    product = make_product(session, cooperative=cooperative, licensed=False)
    licence = make_licence(session, licensee=cooperative, brand=product.brand)
    make_membership(session, organisation_id=cooperative.id, village_id=product.village_id)
    sku = make_sku(session, product=product)
    lot = make_lot(session, product=product, status=LotStatus.ON_SALE)

    licences.revoke_licence(session, actor=operator, licence_id=licence.id, reason="not a member")

    assert lot.status is LotStatus.GRADED
    with pytest.raises(OutOfStock):
        order_one(session, sku)


def test_a_grower_that_stops_working_in_a_village_sells_nothing_more_from_it(session):
    cooperative, member = grower(session)
    product = make_product(session, cooperative=cooperative)
    sku = make_sku(session, product=product)
    lot = make_lot(session, product=product, status=LotStatus.ON_SALE)

    parties_service.remove_village_membership(
        session, organisation_id=cooperative.id, village_id=lot.village_id
    )

    assert lot.status is LotStatus.GRADED
    with pytest.raises(OutOfStock):
        order_one(session, sku)
    with pytest.raises(VillageNotServed):
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="AGAIN",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
        )


def test_a_contract_delivery_from_a_lot_whose_licence_was_revoked_is_refused(session):
    from orders.contracts import service as contracts_service

    operator = make_user(
        session,
        role=Role.OPERATOR,
        organisation=make_organisation(session, parties_service.OrganisationKind.OPERATOR),
    )
    cooperative, member = grower(session)
    buyer = make_user(
        session,
        role=Role.ENTERPRISE,
        organisation=make_organisation(session, parties_service.OrganisationKind.ENTERPRISE),
    )
    product = make_product(session, cooperative=cooperative)
    standard = make_standard(session, category=product.category, definition=graded_definition(*CELERY_GRADES))
    contract = make_contract(session, enterprise_user=buyer, grower_user=member, product=product)
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("10"), standard=standard)
    licence = session.scalars(licences.list_licences(session, actor=member)).one()
    licences.revoke_licence(session, actor=operator, licence_id=licence.id, reason="expelled")

    with pytest.raises(BrandNotLicensed):
        contracts_service.deliver(
            session,
            actor=member,
            contract_id=contract.id,
            lot_id=lot.id,
            window=1,
            quantity=Decimal("10"),
            delivered_on=date(2026, 10, 2),
        )

    assert lot.stock_on_hand == Decimal("10")
