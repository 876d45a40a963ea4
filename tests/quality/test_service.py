"""Quality use cases without HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog import service as catalog_service
from catalog.errors import InvalidLotTransition
from catalog.models import LotStatus
from marketplace.parties.models import OrganisationKind, Role
from marketplace.region.demo.loader import load_demo
from quality import service
from quality.errors import (
    GradeBelowBrandMinimum,
    InvalidPhoto,
    InvalidSample,
    InvalidStandard,
    LotNotGraded,
    LotNotInspected,
    LotRecalled,
    LotRejected,
    NoCurrentStandard,
    OwnLot,
    ResidueNotNegative,
    StandardPublished,
    StandardVersionTaken,
)
from quality.models import Grade, Inspection
from tests import factories


@pytest.fixture
def inspector(session):
    return factories.make_user(
        session,
        role=Role.INSPECTOR,
        organisation=factories.make_organisation(session, OrganisationKind.INSPECTION_BODY),
    )


@pytest.fixture
def cooperative(session):
    return factories.make_organisation(session, OrganisationKind.COOPERATIVE, contact_phone="0571-1")


@pytest.fixture
def lot(session, cooperative):
    return factories.make_lot(session, product=factories.make_product(session, cooperative=cooperative))


def draft(session, category, **fields):
    return service.create_standard(
        session,
        category_id=category.id,
        code=fields.pop("code", "T/SH 1"),
        version=fields.pop("version", "1"),
        title_zh="测试",
        title_en="Test",
        effective_from=fields.pop("effective_from", date(2024, 1, 1)),
        source="test",
        definition=fields.pop("definition", factories.simple_definition()),
    )


def test_a_draft_standard_changes_until_it_is_published_and_never_after(session):
    category = factories.make_category(session)
    standard = draft(session, category)
    service.update_standard(session, standard_id=standard.id, changes={"title_en": "Renamed"})
    service.publish_standard(session, standard_id=standard.id)
    with pytest.raises(StandardPublished):
        service.update_standard(session, standard_id=standard.id, changes={"title_en": "Again"})
    with pytest.raises(StandardPublished):
        service.publish_standard(session, standard_id=standard.id)
    assert standard.title_en == "Renamed" and standard.is_published


def test_a_standard_the_engine_cannot_use_is_refused_with_its_paths(session):
    definition = factories.simple_definition()
    definition["grades"][0]["criteria"][0] = {"kind": "measure", "measurement": "moisture", "min": "6"}
    with pytest.raises(InvalidStandard) as refused:
        draft(session, factories.make_category(session), definition=definition)
    assert "grades.0.criteria.0" in refused.value.extensions["errors"]["json"]["definition"]


def test_a_code_and_version_are_taken_once(session):
    category = factories.make_category(session)
    draft(session, category)
    with pytest.raises(StandardVersionTaken):
        draft(session, category)


def test_a_new_version_supersedes_the_old_one_from_its_effective_date(session):
    category = factories.make_category(session)
    old = draft(session, category, version="2024", effective_from=date(2024, 1, 1))
    new = draft(session, category, version="2026", effective_from=date(2026, 3, 1))
    service.publish_standard(session, standard_id=old.id)
    service.publish_standard(session, standard_id=new.id)
    assert service.current_standard(session, category_id=category.id, on=date(2026, 2, 28)) is old
    assert service.current_standard(session, category_id=category.id, on=date(2026, 3, 1)) is new
    assert service.current_standard(session, category_id=category.id, on=date(2023, 12, 31)) is None


def test_a_draft_is_never_in_force(session):
    category = factories.make_category(session)
    draft(session, category)
    with pytest.raises(NoCurrentStandard):
        service.get_current_standard(session, category_id=category.id, on=date(2026, 1, 1))


def test_an_inspection_makes_the_lot_inspected_and_a_reinspection_adds_another(session, lot, inspector):
    first = service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=5,
        measurements={"moisture": {"unit": "%", "values": [Decimal("7.5")]}},
    )
    assert lot.status is LotStatus.INSPECTED
    assert first.measurements == {"moisture": {"unit": "%", "values": ["7.5"]}}
    factories.make_standard(session, category=lot.product.category)
    service.grade_lot(session, actor=inspector, lot_id=lot.id)
    second = service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=5,
        measurements={"moisture": {"unit": "%", "values": ["5"]}},
    )
    assert lot.status is LotStatus.INSPECTED
    assert [i.id for i in session.scalars(service.list_inspections(session, lot_id=lot.id))] == [
        first.id,
        second.id,
    ]
    assert first.measurements["moisture"]["values"] == ["7.5"]


def test_a_sample_smaller_than_the_iso_plan_is_refused(session, lot, inspector):
    with pytest.raises(InvalidSample) as refused:
        service.record_inspection(
            session,
            actor=inspector,
            lot_id=lot.id,
            sample_size=20,
            sampling={"lot_size": 1000, "level": "II", "aql": "2.5"},
        )
    assert "80" in refused.value.detail
    inspection = service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=80,
        sampling={"lot_size": 1000, "level": "II", "aql": "2.5"},
    )
    assert inspection.sampling_plan["accept"] == 5


def test_photos_are_checked_with_pillow_and_kept(session, lot, inspector):
    png = factories.make_png(8, 6)
    inspection = service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=1,
        photos=[{"content_base64": base64.b64encode(png).decode()}],
    )
    photo = inspection.photos[0]
    assert (photo.media_type, photo.width, photo.height) == ("image/png", 8, 6)
    assert service.get_photo(session, inspection_id=inspection.id, photo_id=photo.id).data == png


@pytest.mark.parametrize(
    "content",
    [
        "not base64!",
        base64.b64encode(b"GIF89a-not-really").decode(),
        base64.b64encode(b"plain text").decode(),
    ],
)
def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_recorded(session, lot, inspector, content):
    with pytest.raises(InvalidPhoto):
        service.record_inspection(
            session, actor=inspector, lot_id=lot.id, sample_size=1, photos=[{"content_base64": content}]
        )
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 0


def test_an_inspector_of_the_lots_own_organisation_may_not_inspect_or_grade_it(session, lot):
    insider = factories.make_user(session, role=Role.INSPECTOR, organisation=lot.cooperative)
    with pytest.raises(OwnLot):
        service.record_inspection(session, actor=insider, lot_id=lot.id, sample_size=1)
    with pytest.raises(OwnLot):
        service.grade_lot(session, actor=insider, lot_id=lot.id)


def test_grading_uses_the_version_in_force_on_the_inspection_day_and_records_it(session, lot, inspector):
    category = lot.product.category
    factories.make_standard(session, category=category, effective_from=date(2020, 1, 1))
    strict = factories.simple_definition()
    strict["grades"][1]["criteria"][0]["max"] = "7"
    newer = factories.make_standard(
        session, category=category, definition=strict, effective_from=date(2025, 1, 1)
    )
    service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=3,
        measurements={"moisture": {"unit": "%", "values": ["7.4"]}},
        lab_results={"residue": {"inhibition_percent": "8"}},
    )
    grade = service.grade_lot(session, actor=inspector, lot_id=lot.id)
    assert grade.standard is newer and grade.rejected and lot.status is LotStatus.REJECTED
    assert grade.explanation[1]["criteria"][1]["shortfall"] == "0.4 % over"


def test_a_lot_is_graded_only_after_an_inspection(session, lot, inspector):
    factories.make_standard(session, category=lot.product.category)
    with pytest.raises(LotNotInspected):
        service.grade_lot(session, actor=inspector, lot_id=lot.id)


def test_a_graded_lot_records_the_grade_and_its_residue_result(session, lot, inspector):
    factories.make_standard(session, category=lot.product.category)
    service.record_inspection(
        session,
        actor=inspector,
        lot_id=lot.id,
        sample_size=3,
        measurements={"moisture": {"unit": "%", "values": ["6.5"]}},
        lab_results={"residue": {"inhibition_percent": "8"}},
    )
    grade = service.grade_lot(session, actor=inspector, lot_id=lot.id)
    assert (grade.grade_code, grade.grade_rank, grade.residue_result) == ("B", 2, "negative")
    assert lot.status is LotStatus.GRADED
    assert session.scalar(sa.select(sa.func.count()).select_from(Grade)) == 1


def put_on_sale(session, lot):
    operator = factories.make_user(
        session,
        role=Role.OPERATOR,
        organisation=factories.make_organisation(session, OrganisationKind.OPERATOR),
    )
    return catalog_service.change_lot_status(session, actor=operator, lot_id=lot.id, status=LotStatus.ON_SALE)


def test_the_brand_gate_lets_a_lot_at_or_above_the_minimum_on_sale(session, lot):
    grade = factories.make_grade(session, lot=lot, sample=factories.simple_sample(moisture="7"))
    service.set_brand_minimum(
        session, brand_id=lot.product.brand_id, standard_code=grade.standard.code, grade_code="B"
    )
    assert put_on_sale(session, lot).status is LotStatus.ON_SALE


def test_the_brand_gate_refuses_a_lot_below_the_brands_minimum(session, lot):
    grade = factories.make_grade(session, lot=lot, sample=factories.simple_sample(moisture="7"))
    service.set_brand_minimum(
        session, brand_id=lot.product.brand_id, standard_code=grade.standard.code, grade_code="A"
    )
    with pytest.raises(GradeBelowBrandMinimum) as refused:
        put_on_sale(session, lot)
    assert "graded B" in refused.value.detail and "needs A or better" in refused.value.detail


def test_the_brand_gate_refuses_ungraded_rejected_and_recalled_lots(session, cooperative):
    product = factories.make_product(session, cooperative=cooperative)
    ungraded = factories.make_lot(session, product=product, status=LotStatus.GRADED)
    with pytest.raises(LotNotGraded):
        put_on_sale(session, ungraded)
    rejected = factories.make_lot(session, product=product)
    factories.make_grade(session, lot=rejected, sample=factories.simple_sample(moisture="9"))
    with pytest.raises(LotRejected):
        put_on_sale(session, rejected)
    recalled = factories.make_lot(session, product=product)
    factories.make_grade(session, lot=recalled)
    recalled.status, recalled.recall_reason = LotStatus.RECALLED, "金属异物"
    with pytest.raises(LotRecalled) as refused:
        put_on_sale(session, recalled)
    assert "金属异物" in refused.value.detail


def test_the_brand_gate_needs_a_negative_residue_test_even_when_the_grade_does_not(session, lot):
    lenient = factories.simple_definition()
    lenient["requirements"] = []
    standard = factories.make_standard(session, category=lot.product.category, definition=lenient)
    factories.make_grade(session, lot=lot, standard=standard, sample=factories.simple_sample(inhibition="70"))
    assert lot.status is LotStatus.GRADED
    with pytest.raises(ResidueNotNegative):
        put_on_sale(session, lot)


def test_a_certificate_is_issued_for_a_graded_lot_with_a_negative_residue_test(session, lot):
    factories.make_grade(session, lot=lot)
    owner = factories.make_user(session, role=Role.COOPERATIVE, organisation=lot.cooperative)
    certificate = service.issue_certificate(
        session,
        actor=owner,
        lot_id=lot.id,
        basis=["quality_control", "self_test"],
        quantity=Decimal(40),
        issued_on=date(2026, 4, 3),
    )
    assert certificate.number == f"HG20260403-{lot.id:06d}-01"
    assert certificate.basis == ["self_test", "quality_control"]
    assert certificate.producer == lot.cooperative.name_zh and certificate.contact_phone == "0571-1"
    assert certificate.origin.endswith(lot.village.name_zh)
    with pytest.raises(InvalidSample):
        service.issue_certificate(
            session, actor=owner, lot_id=lot.id, basis=["self_test"], quantity=Decimal("100.001")
        )


def test_no_certificate_for_a_rejected_or_recalled_lot(session, lot):
    owner = factories.make_user(session, role=Role.COOPERATIVE, organisation=lot.cooperative)
    factories.make_grade(session, lot=lot, sample=factories.simple_sample(inhibition="80"))
    with pytest.raises(LotRejected):
        service.issue_certificate(session, actor=owner, lot_id=lot.id, basis=["self_test"])
    lot.status, lot.recall_reason = LotStatus.RECALLED, "复检阳性"
    with pytest.raises(LotRecalled):
        service.issue_certificate(session, actor=owner, lot_id=lot.id, basis=["self_test"])


def test_a_recalled_lot_can_never_be_inspected_again(session, lot, inspector):
    lot.status = LotStatus.RECALLED
    with pytest.raises(InvalidLotTransition):
        service.record_inspection(session, actor=inspector, lot_id=lot.id, sample_size=1)


def test_every_demo_lot_on_sale_or_graded_has_an_inspection_and_passes_the_brand_gate(session):
    load_demo(session)
    for status in (LotStatus.ON_SALE, LotStatus.GRADED):
        for lot in session.scalars(catalog_service.list_lots(session, status=status)):
            quality = service.lot_quality(session, lot.id)
            assert quality["grade"] is not None and quality["inspection"] is not None, lot.lot_code
            assert quality["saleable"], (lot.lot_code, quality["not_saleable_because"])
    recalled = session.scalar(catalog_service.list_lots(session, status=LotStatus.RECALLED))
    assert service.lot_quality(session, recalled.id)["saleable"] is False
    assert load_demo(session) is False
