"""Catalog use cases, called as the API calls them but without HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog import service
from catalog.errors import (
    GrowerRequired,
    GtinTaken,
    HarvestInFuture,
    InvalidGtin,
    InvalidLotTransition,
    LotCodeTaken,
    LotNotEditable,
)
from catalog.models import Lot, LotStatus, Product, Sku
from marketplace.accounts.errors import RoleNotAllowed
from marketplace.core.db import utcnow
from marketplace.parties.errors import NotYours, VillageNotFound, WrongOrganisationKind
from marketplace.parties.models import OrganisationKind, Role
from quality.errors import LotNotGraded, LotRecalled
from tests.factories import (
    make_brand,
    make_category,
    make_grade,
    make_licence,
    make_lot,
    make_membership,
    make_organisation,
    make_product,
    make_sku,
    make_user,
    make_village,
)


def test_registered_lot_starts_registered_with_all_its_quantity_in_stock(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)

    lot = service.register_lot(
        session,
        actor=member,
        product_id=product.id,
        lot_code="2026-A1",
        harvested_on=date(2026, 4, 2),
        quantity=Decimal("120.5"),
        unit="kg",
    )

    assert lot.status is LotStatus.REGISTERED
    assert lot.stock_on_hand == Decimal("120.5")
    assert lot.cooperative_id == cooperative.id
    assert lot.village_id == product.village_id
    assert lot.status_changed_at is not None


def test_lot_may_come_from_another_village_than_its_products(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    neighbour = make_village(session)
    make_membership(session, organisation_id=cooperative.id, village_id=neighbour.id)

    lot = service.register_lot(
        session,
        actor=member,
        product_id=product.id,
        lot_code="N1",
        harvested_on=date(2026, 4, 2),
        quantity=Decimal("10"),
        unit="kg",
        village_id=neighbour.id,
    )

    assert lot.village_id == neighbour.id


def test_lot_harvested_today_anywhere_on_earth_is_accepted(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    # UTC+14 is a day ahead of UTC for ten hours of each day.
    latest_today = (utcnow() + timedelta(hours=14)).date()

    lot = service.register_lot(
        session,
        actor=member,
        product_id=product.id,
        lot_code="T1",
        harvested_on=latest_today,
        quantity=Decimal("1"),
        unit="kg",
    )

    assert lot.harvested_on == latest_today


def test_lot_harvested_in_the_future_is_refused(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)

    with pytest.raises(HarvestInFuture) as refusal:
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="F1",
            harvested_on=utcnow().date() + timedelta(days=2),
            quantity=Decimal("10"),
            unit="kg",
        )

    assert "harvested_on" in refusal.value.extensions["errors"]["json"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Lot)) == 0


def test_lot_code_cannot_be_used_twice_for_one_product(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    make_lot(session, product=product, lot_code="2026-A1")

    with pytest.raises(LotCodeTaken):
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="2026-A1",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
        )


def test_the_same_lot_code_may_be_used_for_another_product(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    tea = make_product(session, cooperative=cooperative)
    bamboo_shoots = make_product(session, cooperative=cooperative)
    make_lot(session, product=tea, lot_code="2026-A1")

    lot = service.register_lot(
        session,
        actor=member,
        product_id=bamboo_shoots.id,
        lot_code="2026-A1",
        harvested_on=date(2026, 4, 2),
        quantity=Decimal("10"),
        unit="kg",
    )

    assert lot.product_id == bamboo_shoots.id


def test_cooperative_cannot_register_a_lot_of_another_cooperatives_product(session):
    member = make_user(session, role=Role.COOPERATIVE, organisation=make_organisation(session))
    product = make_product(session, cooperative=make_organisation(session))

    with pytest.raises(NotYours):
        service.register_lot(
            session,
            actor=member,
            product_id=product.id,
            lot_code="X1",
            harvested_on=date(2026, 4, 2),
            quantity=Decimal("10"),
            unit="kg",
        )

    assert session.scalar(sa.select(sa.func.count()).select_from(Lot)) == 0


def test_owner_puts_a_graded_lot_on_sale(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(
        session,
        product=make_product(session, cooperative=cooperative),
        status=LotStatus.GRADED,
        status_changed_at=utcnow() - timedelta(days=3),
    )
    make_grade(session, lot=lot)
    graded_at = lot.status_changed_at

    service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    assert lot.status is LotStatus.ON_SALE
    assert lot.status_changed_at > graded_at


def test_registered_lot_cannot_go_on_sale_before_it_is_graded(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative))

    with pytest.raises(LotNotGraded):
        service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    assert lot.status is LotStatus.REGISTERED


def test_withdrawing_a_lot_from_sale_makes_it_graded_again(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative), status=LotStatus.ON_SALE)

    service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.GRADED)

    assert lot.status is LotStatus.GRADED


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (LotStatus.REGISTERED, LotStatus.INSPECTED),
        (LotStatus.INSPECTED, LotStatus.GRADED),
        (LotStatus.INSPECTED, LotStatus.REJECTED),
        (LotStatus.ON_SALE, LotStatus.SOLD_OUT),
    ],
)
def test_statuses_set_by_inspection_or_stock_cannot_be_requested_even_by_an_operator(
    session, current, requested
):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    lot = make_lot(
        session, product=make_product(session, cooperative=make_organisation(session)), status=current
    )

    with pytest.raises(InvalidLotTransition):
        service.change_lot_status(session, actor=operator, lot_id=lot.id, status=requested)

    assert lot.status is current


def test_cooperative_cannot_recall_even_its_own_lot(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative), status=LotStatus.ON_SALE)

    with pytest.raises(RoleNotAllowed):
        service.change_lot_status(
            session,
            actor=member,
            lot_id=lot.id,
            status=LotStatus.RECALLED,
            reason="pesticide residue above the limit",
        )

    assert lot.status is LotStatus.ON_SALE


def test_operator_recalls_a_lot_and_the_reason_is_kept(session):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    lot = make_lot(
        session,
        product=make_product(session, cooperative=make_organisation(session)),
        status=LotStatus.ON_SALE,
    )

    service.change_lot_status(
        session,
        actor=operator,
        lot_id=lot.id,
        status=LotStatus.RECALLED,
        reason="pesticide residue above the limit",
    )

    assert lot.status is LotStatus.RECALLED
    assert lot.recall_reason == "pesticide residue above the limit"


@pytest.mark.parametrize("requested", [LotStatus.ON_SALE, LotStatus.GRADED, LotStatus.RECALLED])
def test_recalled_lot_never_changes_status_again(session, requested):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    lot = make_lot(
        session,
        product=make_product(session, cooperative=make_organisation(session)),
        status=LotStatus.RECALLED,
        recall_reason="mould",
    )

    with pytest.raises((InvalidLotTransition, LotRecalled)):
        service.change_lot_status(session, actor=operator, lot_id=lot.id, status=requested, reason="again")

    assert lot.status is LotStatus.RECALLED
    assert lot.recall_reason == "mould"


def test_lot_without_stock_cannot_go_on_sale(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(
        session,
        product=make_product(session, cooperative=cooperative),
        status=LotStatus.GRADED,
        quantity=Decimal("50"),
        stock_on_hand=Decimal("0"),
    )
    make_grade(session, lot=lot)

    with pytest.raises(InvalidLotTransition):
        service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    assert lot.status is LotStatus.GRADED


def test_cooperative_cannot_change_the_status_of_another_cooperatives_lot(session):
    member = make_user(session, role=Role.COOPERATIVE, organisation=make_organisation(session))
    lot = make_lot(
        session,
        product=make_product(session, cooperative=make_organisation(session)),
        status=LotStatus.GRADED,
    )

    with pytest.raises(NotYours):
        service.change_lot_status(session, actor=member, lot_id=lot.id, status=LotStatus.ON_SALE)

    assert lot.status is LotStatus.GRADED


def test_inspection_workflow_moves_a_lot_from_registered_to_graded(session):
    lot = make_lot(session, product=make_product(session, cooperative=make_organisation(session)))

    service.transition_lot(lot, LotStatus.INSPECTED)
    service.transition_lot(lot, LotStatus.GRADED)

    assert lot.status is LotStatus.GRADED


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (LotStatus.REGISTERED, LotStatus.GRADED),
        (LotStatus.REGISTERED, LotStatus.SOLD_OUT),
        (LotStatus.REJECTED, LotStatus.ON_SALE),
        (LotStatus.RECALLED, LotStatus.INSPECTED),
    ],
)
def test_transition_lot_refuses_moves_outside_the_lifecycle(session, current, requested):
    lot = make_lot(
        session, product=make_product(session, cooperative=make_organisation(session)), status=current
    )

    with pytest.raises(InvalidLotTransition):
        service.transition_lot(lot, requested)

    assert lot.status is current


def test_correcting_the_quantity_of_a_registered_lot_resets_its_stock(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative), quantity=Decimal("100"))

    service.update_lot(session, actor=member, lot_id=lot.id, changes={"quantity": Decimal("80")})

    assert lot.quantity == Decimal("80")
    assert lot.stock_on_hand == Decimal("80")


@pytest.mark.parametrize("status", [LotStatus.INSPECTED, LotStatus.GRADED, LotStatus.ON_SALE])
@pytest.mark.parametrize(
    "changes", [{"quantity": Decimal("80")}, {"unit": "jin"}, {"harvested_on": date(2026, 3, 30)}]
)
def test_quantity_unit_and_harvest_date_are_fixed_once_a_lot_is_inspected(session, status, changes):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(
        session,
        product=make_product(session, cooperative=cooperative),
        status=status,
        quantity=Decimal("100"),
        unit="kg",
        harvested_on=date(2026, 4, 1),
    )

    with pytest.raises(LotNotEditable):
        service.update_lot(session, actor=member, lot_id=lot.id, changes=changes)

    assert (lot.quantity, lot.stock_on_hand, lot.unit, lot.harvested_on) == (
        Decimal("100"),
        Decimal("100"),
        "kg",
        date(2026, 4, 1),
    )


def test_inputs_used_can_still_be_corrected_on_a_lot_on_sale(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(session, product=make_product(session, cooperative=cooperative), status=LotStatus.ON_SALE)

    service.update_lot(
        session, actor=member, lot_id=lot.id, changes={"inputs_used": "organic fertiliser, no pesticide"}
    )

    assert lot.inputs_used == "organic fertiliser, no pesticide"


@pytest.mark.parametrize(
    "changes", [{"quantity": Decimal("80")}, {"inputs_used": "none"}, {"lot_code": "NEW1"}]
)
def test_recalled_lot_cannot_be_edited_at_all(session, changes):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    lot = make_lot(
        session,
        product=make_product(session, cooperative=make_organisation(session)),
        status=LotStatus.RECALLED,
        lot_code="OLD1",
        inputs_used="lime sulphur",
    )

    with pytest.raises(LotNotEditable):
        service.update_lot(session, actor=operator, lot_id=lot.id, changes=changes)

    assert (lot.quantity, lot.inputs_used, lot.lot_code) == (Decimal("100"), "lime sulphur", "OLD1")


def test_cooperative_cannot_edit_another_cooperatives_lot(session):
    member = make_user(session, role=Role.COOPERATIVE, organisation=make_organisation(session))
    lot = make_lot(session, product=make_product(session, cooperative=make_organisation(session)))

    with pytest.raises(NotYours):
        service.update_lot(session, actor=member, lot_id=lot.id, changes={"quantity": Decimal("1")})

    assert lot.quantity == Decimal("100")


def test_harvest_date_of_a_registered_lot_cannot_be_corrected_into_the_future(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    lot = make_lot(
        session, product=make_product(session, cooperative=cooperative), harvested_on=date(2026, 4, 1)
    )

    with pytest.raises(HarvestInFuture):
        service.update_lot(
            session,
            actor=member,
            lot_id=lot.id,
            changes={"harvested_on": utcnow().date() + timedelta(days=2)},
        )

    assert lot.harvested_on == date(2026, 4, 1)


def test_lot_cannot_be_moved_to_a_village_that_does_not_exist(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    lot = make_lot(session, product=product)

    with pytest.raises(VillageNotFound):
        service.update_lot(session, actor=member, lot_id=lot.id, changes={"village_id": 999_999})

    assert lot.village_id == product.village_id


def test_lot_code_correction_cannot_take_a_code_another_lot_of_the_product_has(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    make_lot(session, product=product, lot_code="A1")
    lot = make_lot(session, product=product, lot_code="A2")

    with pytest.raises(LotCodeTaken):
        service.update_lot(session, actor=member, lot_id=lot.id, changes={"lot_code": "A1"})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("4006381333931", "04006381333931"),
        ("10614141000415", "10614141000415"),
    ],
)
def test_valid_gtin_of_any_length_is_stored_as_gtin14(session, given, stored):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)

    sku = service.create_sku(
        session,
        actor=member,
        product_id=product.id,
        gtin=given,
        currency="CNY",
        name_zh="礼盒",
        name_en="Gift box",
        pack_size=Decimal("250"),
        pack_unit="g",
        price_fen=12_800,
    )

    assert sku.gtin == stored


def test_gtin_with_a_wrong_check_digit_is_refused(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)

    with pytest.raises(InvalidGtin) as refusal:
        service.create_sku(
            session,
            actor=member,
            product_id=product.id,
            gtin="4006381333932",
            currency="CNY",
            name_zh="礼盒",
            name_en="Gift box",
            pack_size=Decimal("250"),
            pack_unit="g",
            price_fen=12_800,
        )

    assert "gtin" in refusal.value.extensions["errors"]["json"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Sku)) == 0


def test_gtin_already_used_is_taken_even_when_written_with_13_digits(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    make_sku(session, product=product, gtin="04006381333931")

    with pytest.raises(GtinTaken):
        service.create_sku(
            session,
            actor=member,
            product_id=product.id,
            gtin="4006381333931",
            currency="CNY",
            name_zh="礼盒",
            name_en="Gift box",
            pack_size=Decimal("250"),
            pack_unit="g",
            price_fen=12_800,
        )


def test_sku_can_be_saved_with_its_own_gtin_but_not_with_another_skus(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    product = make_product(session, cooperative=cooperative)
    other = make_sku(session, product=product, gtin="04006381333931")
    sku = make_sku(session, product=product, gtin="00036000291452")

    service.update_sku(session, actor=member, sku_id=sku.id, changes={"gtin": "036000291452"})
    with pytest.raises(GtinTaken):
        service.update_sku(session, actor=member, sku_id=sku.id, changes={"gtin": "4006381333931"})

    assert sku.gtin == "00036000291452"
    assert other.gtin == "04006381333931"


def test_operator_must_say_which_cooperative_a_product_is_for(session):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )

    with pytest.raises(GrowerRequired) as refusal:
        service.create_product(
            session,
            actor=operator,
            brand_id=make_brand(session).id,
            category_id=make_category(session).id,
            village_id=make_village(session).id,
            name_zh="龙井茶",
            name_en="Longjing tea",
        )

    assert "cooperative_id" in refusal.value.extensions["errors"]["json"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_operator_lists_a_product_for_the_cooperative_it_names(session):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    cooperative = make_organisation(session)
    brand, village = make_brand(session), make_village(session)
    make_licence(session, licensee=cooperative, brand=brand)
    make_membership(session, organisation_id=cooperative.id, village_id=village.id)

    product = service.create_product(
        session,
        actor=operator,
        cooperative_id=cooperative.id,
        brand_id=brand.id,
        category_id=make_category(session).id,
        village_id=village.id,
        name_zh="龙井茶",
        name_en="Longjing tea",
    )

    assert product.cooperative_id == cooperative.id


def test_operator_cannot_list_a_product_for_an_enterprise(session):
    operator = make_user(
        session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
    )
    enterprise = make_organisation(session, OrganisationKind.ENTERPRISE)

    with pytest.raises(WrongOrganisationKind):
        service.create_product(
            session,
            actor=operator,
            cooperative_id=enterprise.id,
            brand_id=make_brand(session).id,
            category_id=make_category(session).id,
            village_id=make_village(session).id,
            name_zh="龙井茶",
            name_en="Longjing tea",
        )


def test_cooperative_lists_a_product_for_itself(session):
    cooperative = make_organisation(session)
    member = make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
    brand, village = make_brand(session), make_village(session)
    make_licence(session, licensee=cooperative, brand=brand)
    make_membership(session, organisation_id=cooperative.id, village_id=village.id)

    product = service.create_product(
        session,
        actor=member,
        brand_id=brand.id,
        category_id=make_category(session).id,
        village_id=village.id,
        name_zh="龙井茶",
        name_en="Longjing tea",
    )

    assert product.cooperative_id == cooperative.id


def test_cooperative_cannot_list_a_product_for_another_cooperative(session):
    member = make_user(session, role=Role.COOPERATIVE, organisation=make_organisation(session))
    other_cooperative = make_organisation(session)

    with pytest.raises(NotYours):
        service.create_product(
            session,
            actor=member,
            cooperative_id=other_cooperative.id,
            brand_id=make_brand(session).id,
            category_id=make_category(session).id,
            village_id=make_village(session).id,
            name_zh="龙井茶",
            name_en="Longjing tea",
        )

    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_cooperative_cannot_move_another_cooperatives_product_or_sku(session):
    member = make_user(session, role=Role.COOPERATIVE, organisation=make_organisation(session))
    product = make_product(session, cooperative=make_organisation(session), name_zh="龙井茶")
    sku = make_sku(session, product=product, price_fen=12_800)

    with pytest.raises(NotYours):
        service.update_product(session, actor=member, product_id=product.id, changes={"name_zh": "假茶"})
    with pytest.raises(NotYours):
        service.update_sku(session, actor=member, sku_id=sku.id, changes={"price_fen": 1})
    with pytest.raises(NotYours):
        service.create_sku(
            session,
            actor=member,
            product_id=product.id,
            gtin="4006381333931",
            currency="CNY",
            name_zh="礼盒",
            name_en="Gift box",
            pack_size=Decimal("250"),
            pack_unit="g",
            price_fen=100,
        )

    assert (product.name_zh, sku.price_fen) == ("龙井茶", 12_800)
