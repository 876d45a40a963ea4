"""The brand gate: which lots may be sold under their brand, and each brand's minimum grades."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import licences, units
from catalog import service as catalog_service
from catalog import signals as catalog_signals
from catalog.models import Lot, LotStatus, Product, Sku
from marketplace.core.db import utcnow
from marketplace.parties import service as parties_service
from marketplace.parties import signals as parties_signals
from quality.errors import (
    GradeBelowBrandMinimum,
    LotNotGraded,
    LotRecalled,
    LotRejected,
    ResidueNotNegative,
    UnknownGrade,
)
from quality.models import BrandMinimumGrade, Certificate, QualityStandard
from quality.service.inspections import current_grade, latest_inspection

SELLABLE_STATUSES = {LotStatus.GRADED, LotStatus.ON_SALE, LotStatus.SOLD_OUT}


def list_brand_minimums(session: Session, *, brand_id: int | None = None) -> sa.Select:
    statement = sa.select(BrandMinimumGrade)
    if brand_id is not None:
        statement = statement.where(BrandMinimumGrade.brand_id == brand_id)
    return statement.order_by(BrandMinimumGrade.brand_id, BrandMinimumGrade.standard_code)


def set_brand_minimum(
    session: Session, *, brand_id: int, standard_code: str, grade_code: str
) -> BrandMinimumGrade:
    """Set (or change) the lowest grade of a standard that may carry a brand."""
    catalog_service.get_brand(session, brand_id)
    latest = session.scalar(
        sa.select(QualityStandard)
        .where(QualityStandard.code == standard_code, QualityStandard.published_at.is_not(None))
        .order_by(QualityStandard.effective_from.desc(), QualityStandard.id.desc())
        .limit(1)
    )
    if latest is None:
        raise UnknownGrade(
            f"no published standard has the code {standard_code}",
            errors={"json": {"standard_code": ["no published standard"]}},
        )
    if grade_code not in latest.grade_codes:
        raise UnknownGrade(
            f"{standard_code} {latest.version} has no grade {grade_code}; its grades "
            f"are {', '.join(latest.grade_codes)}",
            errors={"json": {"grade_code": [f"one of {', '.join(latest.grade_codes)}"]}},
        )
    minimum = session.scalar(
        sa.select(BrandMinimumGrade).where(
            BrandMinimumGrade.brand_id == brand_id, BrandMinimumGrade.standard_code == standard_code
        )
    )
    if minimum is None:
        minimum = BrandMinimumGrade(brand_id=brand_id, standard_code=standard_code)
        session.add(minimum)
    minimum.grade_code = grade_code
    minimum.set_at = utcnow()
    session.flush()
    withdraw_unsaleable(session, lots=sa.select(Lot).join(Lot.product).where(Product.brand_id == brand_id))
    return minimum


def saleability(session: Session, *, lot: Lot) -> tuple[bool, str | None, type | None]:
    """Whether a lot may be sold under its brand, and if not why and as which problem."""
    refusal = graded_clean(session, lot) or brand_refusal(session, lot)
    if refusal is not None:
        return False, *refusal
    return True, None, None


def below_brand_minimum(session: Session, lot: Lot) -> tuple[str, type] | None:
    """Why the lot's current grade is below its brand's minimum; None when it is not (or when
    there is no grade or no minimum to compare)."""
    grade = current_grade(session, lot.id)
    if grade is None or grade.rejected or grade.grade_rank is None:
        return None
    minimum = session.scalar(
        sa.select(BrandMinimumGrade).where(
            BrandMinimumGrade.brand_id == lot.product.brand_id,
            BrandMinimumGrade.standard_code == grade.standard.code,
        )
    )
    if minimum is not None:
        codes = grade.standard.grade_codes
        if minimum.grade_code not in codes or codes.index(minimum.grade_code) + 1 < grade.grade_rank:
            return (
                f"lot {lot.id} is graded {grade.grade_code} under {grade.standard.code} "
                f"{grade.standard.version}; the brand {lot.product.brand.name_zh} needs "
                f"{minimum.grade_code} or better"
            ), GradeBelowBrandMinimum
    return None


def brand_refusal(session: Session, lot: Lot) -> tuple[str, type] | None:
    """Why a lot may not carry its product's brand now: licence, village or minimum grade."""
    return licences.carry_refusal(session, lot) or below_brand_minimum(session, lot)


def withdraw_unsaleable(session: Session, *, lots: sa.Select) -> list[Lot]:
    """Run the brand's side of the gate again on these lots, after the brand, its licence, its
    minimum or a village changed: those on sale (or sold out, whose stock could come back) that
    may no longer carry the brand go back to graded, with the reason in their trace."""
    withdrawn = []
    for lot in session.scalars(
        lots.where(Lot.status.in_((LotStatus.ON_SALE, LotStatus.SOLD_OUT)))
        .order_by(Lot.id)
        .with_for_update(of=Lot)
    ):
        refusal = brand_refusal(session, lot)
        if refusal is not None:
            catalog_service.transition_lot(lot, LotStatus.GRADED, reason=f"withdrawn from sale: {refusal[0]}")
            withdrawn.append(lot)
    session.flush()
    return withdrawn


def graded_clean(session: Session, lot: Lot) -> tuple[str, type] | None:
    """Why a lot is not graded with a negative residue test and not recalled; None when it is."""
    if lot.status is LotStatus.RECALLED:
        return f"lot {lot.id} was recalled: {lot.recall_reason or 'no reason given'}", LotRecalled
    grade = current_grade(session, lot.id)
    if lot.status is LotStatus.REJECTED or (grade is not None and grade.rejected):
        return f"lot {lot.id} was rejected at grading", LotRejected
    if lot.status not in SELLABLE_STATUSES or grade is None:
        return (
            f"lot {lot.id} is {lot.status.value} and has no current grade: only a lot an "
            "inspector has graded may be sold or certified"
        ), LotNotGraded
    if grade.residue_result != "negative":
        return (
            f"lot {lot.id} has no negative residue test (it is {grade.residue_result})",
            ResidueNotNegative,
        )
    return None


def withdraw_unserved(session: Session, *, organisation_id: int, village_id: int) -> list[Lot]:
    """The grower left the village: its lots from there may no longer carry their brand."""
    return withdraw_unsaleable(
        session,
        lots=sa.select(Lot).where(Lot.cooperative_id == organisation_id, Lot.village_id == village_id),
    )


def ensure_saleable(session: Session, *, lot: Lot) -> None:
    """The brand gate: catalog asks it (through its signal) before a lot goes on sale."""
    _, reason, problem = saleability(session, lot=lot)
    if problem is not None:
        raise problem(reason, lot_id=lot.id)


def sellable_lots(session: Session, sku: Sku) -> list[tuple[Lot, Decimal]]:
    """Lots on sale that can fill this SKU, oldest harvest first, with one pack in lot units.

    Only lots that may carry the brand today: a licence in force for their grower, a village
    the grower works in, and a grade at or above the brand's minimum. A licence can run out
    with no event to take its lots off sale, so this is asked at every sale."""
    product = sku.product
    lots = session.scalars(
        sa.select(Lot)
        .where(
            Lot.product_id == sku.product_id,
            Lot.status == LotStatus.ON_SALE,
            licences.licensed_clause(Lot.cooperative_id, product.brand_id, product.category_id, utcnow()),
            parties_service.serves_village_clause(Lot.cooperative_id, Lot.village_id),
        )
        .order_by(Lot.harvested_on, Lot.id)
    ).all()
    fitting = []
    for lot in lots:
        pack = units.convert(sku.pack_size, sku.pack_unit, lot.unit)
        if pack is not None and below_brand_minimum(session, lot) is None:
            fitting.append((lot, pack))
    return fitting


def lot_quality(session: Session, lot_id: int) -> dict:
    """Everything quality knows about a lot, for the lot page and the scan page."""
    lot = catalog_service.get_lot(session, lot_id)
    allowed, reason, _ = saleability(session, lot=lot)
    certificates = session.scalars(
        sa.select(Certificate).where(Certificate.lot_id == lot_id).order_by(Certificate.id)
    ).all()
    return {
        "lot_id": lot.id,
        "status": lot.status,
        "recalled": lot.status is LotStatus.RECALLED,
        "recall_reason": lot.recall_reason,
        "grade": current_grade(session, lot_id),
        "inspection": latest_inspection(session, lot_id),
        "certificates": certificates,
        "saleable": allowed,
        "not_saleable_because": reason,
    }


def scan_summary(session: Session, *, lot_id: int) -> dict | None:
    """What the consumer's scan page shows of quality: grade, standard, inspection, certificate."""
    grade = current_grade(session, lot_id)
    inspection = latest_inspection(session, lot_id)
    if grade is None and inspection is None:
        return None
    certificate = session.scalar(
        sa.select(Certificate).where(Certificate.lot_id == lot_id).order_by(Certificate.id.desc()).limit(1)
    )
    return {
        "grade": (grade.grade_code or "不合格 rejected") if grade else None,
        "standard_name": f"{grade.standard.code} {grade.standard.title_zh}" if grade else None,
        "standard_version": grade.standard.version if grade else None,
        "inspection": {
            "summary": grade.summary if grade else ((inspection and inspection.note) or ""),
            "inspected_at": inspection.inspected_at.isoformat(timespec="minutes") if inspection else None,
        },
        "certificate": {"number": certificate.number, "url": f"/api/v1/certificates/{certificate.id}/pdf"}
        if certificate
        else None,
    }


# The gate's rules run inside the transaction that puts a lot on sale or changes what its
# brand promises; catalog and parties refuse to go on when these are not connected.
catalog_signals.lot_going_on_sale.connect(ensure_saleable)
catalog_signals.lots_may_be_unsaleable.connect(withdraw_unsaleable)
parties_signals.village_left.connect(withdraw_unserved)
