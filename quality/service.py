"""Use cases of quality control: standards, inspections, grades, certificates and the brand gate."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.models import Lot, LotStatus
from marketplace.auth import service as auth_service
from marketplace.auth.models import User
from marketplace.db import utcnow
from quality import grading, sampling
from quality.errors import (
    CertificateNotFound,
    GradeBelowBrandMinimum,
    InspectionNotFound,
    InvalidPhoto,
    InvalidSample,
    InvalidSamplingPlan,
    InvalidStandard,
    LotNotGraded,
    LotNotInspected,
    LotRecalled,
    LotRejected,
    NoCurrentStandard,
    OwnLot,
    PhotoNotFound,
    ResidueNotNegative,
    StandardNotFound,
    StandardPublished,
    StandardVersionTaken,
    UnknownGrade,
)
from quality.models import (
    BrandMinimumGrade,
    Certificate,
    Grade,
    Inspection,
    InspectionPhoto,
    QualityStandard,
)
from quality.standards import shipped_standards

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_PIXELS = 40_000_000
CERTIFICATE_BASES = {
    "self_test": "自检合格 (self-test passed)",
    "commissioned_test": "委托检测合格 (commissioned test passed)",
    "quality_control": "内部质量控制合格 (internal quality control passed)",
}
COMMITMENT = ("我承诺对产品质量安全以及合格证真实性负责:不使用禁限用农药兽药;不使用非法添加物;"
              "遵守农药安全间隔期、兽药休药期规定;销售的食用农产品符合农药兽药残留食品安全国家"
              "强制性标准。")
SELLABLE_STATUSES = {LotStatus.GRADED, LotStatus.ON_SALE, LotStatus.SOLD_OUT}


# Standards ----------------------------------------------------------------------------------

def get_standard(session: Session, standard_id: int) -> QualityStandard:
    standard = session.get(QualityStandard, standard_id)
    if standard is None:
        raise StandardNotFound(f"quality standard {standard_id} does not exist")
    return standard


def list_standards(session: Session, *, category_id: int | None = None, code: str | None = None,
                   published: bool | None = None) -> sa.Select:
    statement = sa.select(QualityStandard)
    if category_id is not None:
        statement = statement.where(QualityStandard.category_id == category_id)
    if code is not None:
        statement = statement.where(QualityStandard.code == code)
    if published is not None:
        column = QualityStandard.published_at
        statement = statement.where(column.is_not(None) if published else column.is_(None))
    return statement.order_by(QualityStandard.code, QualityStandard.effective_from, QualityStandard.id)


def create_standard(session: Session, *, category_id: int, code: str, version: str,
                    definition: dict, **fields) -> QualityStandard:
    """Draft a standard version; it can be changed until it is published."""
    catalog_service.get_category(session, category_id)
    _check_definition(definition)
    taken = session.scalar(sa.select(QualityStandard.id).where(QualityStandard.code == code,
                                                               QualityStandard.version == version))
    if taken is not None:
        raise StandardVersionTaken(f"{code} version {version} already exists; give a new version")
    standard = QualityStandard(category_id=category_id, code=code, version=version,
                               definition=definition, **fields)
    session.add(standard)
    session.flush()
    return standard


def update_standard(session: Session, *, standard_id: int, changes: dict) -> QualityStandard:
    standard = get_standard(session, standard_id)
    _ensure_draft(standard)
    if "category_id" in changes:
        catalog_service.get_category(session, changes["category_id"])
    if "definition" in changes:
        _check_definition(changes["definition"])
    code, version = changes.get("code", standard.code), changes.get("version", standard.version)
    taken = session.scalar(sa.select(QualityStandard.id).where(
        QualityStandard.code == code, QualityStandard.version == version,
        QualityStandard.id != standard.id))
    if taken is not None:
        raise StandardVersionTaken(f"{code} version {version} already exists")
    for key, value in changes.items():
        setattr(standard, key, value)
    session.flush()
    return standard


def publish_standard(session: Session, *, standard_id: int,
                     effective_from: date | None = None) -> QualityStandard:
    """Publish a version: from its effective date it supersedes the versions before it."""
    standard = get_standard(session, standard_id)
    _ensure_draft(standard)
    if effective_from is not None:
        standard.effective_from = effective_from
    standard.published_at = utcnow()
    session.flush()
    return standard


def current_standard(session: Session, *, category_id: int, on: date,
                     code: str | None = None) -> QualityStandard | None:
    """The published version in force on a day: the one with the latest effective date before it."""
    statement = (sa.select(QualityStandard)
                 .where(QualityStandard.category_id == category_id,
                        QualityStandard.published_at.is_not(None),
                        QualityStandard.effective_from <= on)
                 .order_by(QualityStandard.effective_from.desc(), QualityStandard.published_at.desc(),
                           QualityStandard.id.desc())
                 .limit(1))
    if code is not None:
        statement = statement.where(QualityStandard.code == code)
    return session.scalar(statement)


def get_current_standard(session: Session, *, category_id: int, on: date | None = None,
                         code: str | None = None) -> QualityStandard:
    on = on or utcnow().date()
    standard = current_standard(session, category_id=category_id, on=on, code=code)
    if standard is None:
        raise NoCurrentStandard(f"no published standard for category {category_id} is in force "
                                f"on {on.isoformat()}")
    return standard


def publish_shipped_standards(session: Session, *, category_ids: dict[str, int]) -> list[QualityStandard]:
    """Publish the standards shipped as data (for categories present), skipping those already there."""
    published = []
    for data in shipped_standards():
        if data["category"] not in category_ids:
            continue
        existing = session.scalar(sa.select(QualityStandard).where(
            QualityStandard.code == data["code"], QualityStandard.version == data["version"]))
        if existing is None:
            existing = create_standard(
                session, category_id=category_ids[data["category"]], code=data["code"],
                version=data["version"], title_zh=data["title_zh"], title_en=data["title_en"],
                effective_from=date.fromisoformat(data["effective_from"]), source=data["source"],
                definition={key: value for key, value in data.items()
                            if key not in {"code", "version", "category", "title_zh", "title_en",
                                           "effective_from", "source"}})
            publish_standard(session, standard_id=existing.id)
        published.append(existing)
    return published


def _ensure_draft(standard: QualityStandard) -> None:
    if standard.is_published:
        raise StandardPublished(f"{standard.code} version {standard.version} is published and "
                                "cannot change; draft a new version instead")


def _check_definition(definition: dict) -> None:
    try:
        grading.validate_definition(definition)
    except grading.DefinitionError as error:
        raise InvalidStandard("the standard cannot be graded with as written",
                              errors={"json": {"definition": error.errors}}) from None


# Sampling -----------------------------------------------------------------------------------

def plan_sample(*, lot_size: int, level: str = "II", aql: str = "2.5") -> sampling.SamplingPlan:
    try:
        return sampling.sampling_plan(lot_size, level, aql)
    except sampling.SamplingError as error:
        raise InvalidSamplingPlan(str(error), errors={"query": {"aql": [str(error)]}}) from None


# Inspections --------------------------------------------------------------------------------

def get_inspection(session: Session, inspection_id: int) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise InspectionNotFound(f"inspection {inspection_id} does not exist")
    return inspection


def list_inspections(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Inspection).where(Inspection.lot_id == lot_id).order_by(Inspection.id)


def latest_inspection(session: Session, lot_id: int) -> Inspection | None:
    return session.scalar(sa.select(Inspection).where(Inspection.lot_id == lot_id)
                          .order_by(Inspection.id.desc()).limit(1))


def record_inspection(session: Session, *, actor: User, lot_id: int, sample_size: int,
                      sampling_request: dict | None = None, measurements: dict | None = None,
                      unit_classes: dict | None = None, lab_results: dict | None = None,
                      sensory: dict | None = None, photos: list[dict] | None = None,
                      note: str = "") -> Inspection:
    """Record a sample of a lot; the lot becomes inspected. Earlier inspections stay as they were."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    _ensure_independent(actor, lot)
    plan = None
    if sampling_request:
        plan = plan_sample(**sampling_request)
        if sample_size < plan.sample_size:
            raise InvalidSample(
                f"the ISO 2859-1 plan (code letter {plan.plan_letter}) needs a sample of "
                f"{plan.sample_size}; {sample_size} were taken",
                errors={"json": {"sample_size": [f"at least {plan.sample_size}"]}})
    catalog_service.transition_lot(lot, LotStatus.INSPECTED)
    inspection = Inspection(lot=lot, inspector_id=actor.id, sample_size=sample_size,
                            sampling_plan=plan.as_dict() if plan else None,
                            measurements=_plain(measurements or {}),
                            unit_classes=_plain(unit_classes) if unit_classes else None,
                            lab_results=_plain(lab_results or {}), sensory=_plain(sensory or {}),
                            note=note, inspected_at=utcnow())
    session.add(inspection)
    for index, photo in enumerate(photos or []):
        inspection.photos.append(_photo(index, photo["content_base64"]))
    session.flush()
    return inspection


def get_photo(session: Session, *, inspection_id: int, photo_id: int) -> InspectionPhoto:
    photo = session.get(InspectionPhoto, photo_id)
    if photo is None or photo.inspection_id != inspection_id:
        raise PhotoNotFound(f"inspection {inspection_id} has no photo {photo_id}")
    return photo


def _photo(index: int, encoded: str) -> InspectionPhoto:
    def refuse(message: str) -> InvalidPhoto:
        return InvalidPhoto(message, errors={"json": {"photos": {str(index): [message]}}})

    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("not base64") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise refuse("more than 40 megapixels")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise refuse("not a readable image") from None
    if image_format not in PHOTO_FORMATS:
        raise refuse(f"{image_format} is not accepted; send JPEG, PNG or WebP")
    return InspectionPhoto(media_type=PHOTO_FORMATS[image_format], width=width, height=height,
                           sha256=hashlib.sha256(data).hexdigest(), data=data)


def _plain(value):
    """Decimals as strings: JSON columns keep exact figures and the engine reads them back exactly."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return grading.fmt(value) if value == value.quantize(Decimal("0.001")) else str(value)
    return value


def _ensure_independent(actor: User, lot: Lot) -> None:
    if actor.organisation_id == lot.cooperative_id:
        raise OwnLot(f"lot {lot.id} is your organisation's own produce: an independent inspector "
                     "must sample and grade it")


# Grades -------------------------------------------------------------------------------------

def list_grades(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Grade).where(Grade.lot_id == lot_id).order_by(Grade.id)


def current_grade(session: Session, lot_id: int) -> Grade | None:
    return session.scalar(sa.select(Grade).where(Grade.lot_id == lot_id)
                          .order_by(Grade.id.desc()).limit(1))


def grade_lot(session: Session, *, actor: User, lot_id: int,
              standard_id: int | None = None) -> Grade:
    """Grade a lot's newest inspection under the standard in force on its day."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    _ensure_independent(actor, lot)
    inspection = latest_inspection(session, lot_id)
    if lot.status is not LotStatus.INSPECTED or inspection is None:
        raise LotNotInspected(f"lot {lot_id} is {lot.status.value}: record an inspection first, "
                              "then grade it")
    category_id = lot.product.category_id
    on = inspection.inspected_at.date()
    if standard_id is None:
        standard = get_current_standard(session, category_id=category_id, on=on)
    else:
        standard = get_standard(session, standard_id)
        if not standard.is_published or standard.category_id != category_id \
                or standard.effective_from > on:
            raise NoCurrentStandard(f"standard {standard_id} is not a published standard of this "
                                    f"lot's category in force on {on.isoformat()}")
    verdict = grading.grade(standard.definition, inspection.sample())
    grade = Grade(lot=lot, inspection=inspection, standard=standard, grade_code=verdict.grade,
                  grade_rank=verdict.rank, residue_result=verdict.residue,
                  explanation=verdict.explanation(), summary=verdict.summary(),
                  graded_by_id=actor.id, graded_at=utcnow())
    session.add(grade)
    catalog_service.transition_lot(lot, LotStatus.REJECTED if verdict.rejected else LotStatus.GRADED)
    session.flush()
    return grade


# The brand gate -----------------------------------------------------------------------------

def list_brand_minimums(session: Session, *, brand_id: int | None = None) -> sa.Select:
    statement = sa.select(BrandMinimumGrade)
    if brand_id is not None:
        statement = statement.where(BrandMinimumGrade.brand_id == brand_id)
    return statement.order_by(BrandMinimumGrade.brand_id, BrandMinimumGrade.standard_code)


def set_brand_minimum(session: Session, *, brand_id: int, standard_code: str,
                      grade_code: str) -> BrandMinimumGrade:
    """Set (or change) the lowest grade of a standard that may carry a brand."""
    catalog_service.get_brand(session, brand_id)
    latest = session.scalar(sa.select(QualityStandard)
                            .where(QualityStandard.code == standard_code,
                                   QualityStandard.published_at.is_not(None))
                            .order_by(QualityStandard.effective_from.desc(),
                                      QualityStandard.id.desc()).limit(1))
    if latest is None:
        raise UnknownGrade(f"no published standard has the code {standard_code}",
                           errors={"json": {"standard_code": ["no published standard"]}})
    if grade_code not in latest.grade_codes:
        raise UnknownGrade(f"{standard_code} {latest.version} has no grade {grade_code}; its grades "
                           f"are {', '.join(latest.grade_codes)}",
                           errors={"json": {"grade_code": [f"one of {', '.join(latest.grade_codes)}"]}})
    minimum = session.scalar(sa.select(BrandMinimumGrade).where(
        BrandMinimumGrade.brand_id == brand_id, BrandMinimumGrade.standard_code == standard_code))
    if minimum is None:
        minimum = BrandMinimumGrade(brand_id=brand_id, standard_code=standard_code)
        session.add(minimum)
    minimum.grade_code = grade_code
    minimum.set_at = utcnow()
    session.flush()
    return minimum


def saleability(session: Session, lot: Lot) -> tuple[bool, str | None, type | None]:
    """Whether a lot may be sold under its brand, and if not why and as which problem."""
    refusal = _graded_clean(session, lot)
    if refusal is not None:
        return False, *refusal
    grade = current_grade(session, lot.id)
    minimum = session.scalar(sa.select(BrandMinimumGrade).where(
        BrandMinimumGrade.brand_id == lot.product.brand_id,
        BrandMinimumGrade.standard_code == grade.standard.code))
    if minimum is not None:
        codes = grade.standard.grade_codes
        if minimum.grade_code not in codes or codes.index(minimum.grade_code) + 1 < grade.grade_rank:
            return False, (f"lot {lot.id} is graded {grade.grade_code} under {grade.standard.code} "
                           f"{grade.standard.version}; the brand {lot.product.brand.name_zh} needs "
                           f"{minimum.grade_code} or better"), GradeBelowBrandMinimum
    return True, None, None


def _graded_clean(session: Session, lot: Lot) -> tuple[str, type] | None:
    """Why a lot is not graded with a negative residue test and not recalled; None when it is."""
    if lot.status is LotStatus.RECALLED:
        return f"lot {lot.id} was recalled: {lot.recall_reason or 'no reason given'}", LotRecalled
    grade = current_grade(session, lot.id)
    if lot.status is LotStatus.REJECTED or (grade is not None and grade.rejected):
        return f"lot {lot.id} was rejected at grading", LotRejected
    if lot.status not in SELLABLE_STATUSES or grade is None:
        return (f"lot {lot.id} is {lot.status.value} and has no current grade: only a lot an "
                "inspector has graded may be sold or certified"), LotNotGraded
    if grade.residue_result != "negative":
        return (f"lot {lot.id} has no negative residue test (it is {grade.residue_result})",
                ResidueNotNegative)
    return None


def ensure_saleable(session: Session, *, lot: Lot) -> None:
    """The brand gate: catalog calls this before a lot goes on sale."""
    allowed, reason, problem = saleability(session, lot)
    if not allowed:
        raise problem(reason, lot_id=lot.id)


def lot_quality(session: Session, lot_id: int) -> dict:
    """Everything quality knows about a lot, for the lot page and the scan page."""
    lot = catalog_service.get_lot(session, lot_id)
    allowed, reason, _ = saleability(session, lot)
    certificates = session.scalars(sa.select(Certificate).where(Certificate.lot_id == lot_id)
                                   .order_by(Certificate.id)).all()
    return {"lot_id": lot.id, "status": lot.status, "recalled": lot.status is LotStatus.RECALLED,
            "recall_reason": lot.recall_reason, "grade": current_grade(session, lot_id),
            "inspection": latest_inspection(session, lot_id), "certificates": certificates,
            "saleable": allowed, "not_saleable_because": reason}


# Certificates -------------------------------------------------------------------------------

def get_certificate(session: Session, certificate_id: int) -> Certificate:
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise CertificateNotFound(f"certificate {certificate_id} does not exist")
    return certificate


def list_certificates(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Certificate).where(Certificate.lot_id == lot_id).order_by(Certificate.id)


def issue_certificate(session: Session, *, actor: User, lot_id: int, basis: list[str],
                      quantity: Decimal | None = None, contact_phone: str | None = None,
                      issued_on: date | None = None) -> Certificate:
    """承诺达标合格证 for a graded lot whose residue test was negative."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
    refusal = _graded_clean(session, lot)
    if refusal is not None:
        reason, problem = refusal
        raise problem(reason, lot_id=lot.id)
    grade = current_grade(session, lot_id)
    quantity = quantity if quantity is not None else lot.quantity
    if quantity > lot.quantity:
        raise InvalidSample(f"the lot holds {grading.fmt(lot.quantity)} {lot.unit}",
                            errors={"json": {"quantity": ["more than the lot holds"]}})
    producer = lot.cooperative
    contact_phone = contact_phone or producer.contact_phone
    if not contact_phone:
        raise InvalidSample("the producer has no contact phone on record; give one",
                            errors={"json": {"contact_phone": ["required: none on record"]}})
    village = lot.village
    issued_on = issued_on or utcnow().date()
    count = session.scalar(sa.select(sa.func.count()).select_from(Certificate)
                           .where(Certificate.lot_id == lot_id))
    certificate = Certificate(
        number=f"HG{issued_on:%Y%m%d}-{lot.id:06d}-{count + 1:02d}", lot=lot, grade=grade,
        product_name=lot.product.name_zh, quantity=quantity, unit=lot.unit,
        origin=f"{village.county_zh}{village.township_zh}{village.name_zh}",
        producer=producer.name_zh, contact_phone=contact_phone, issued_on=issued_on,
        basis=sorted(set(basis), key=list(CERTIFICATE_BASES).index), commitment=COMMITMENT,
        issued_by_id=actor.id)
    session.add(certificate)
    session.flush()
    return certificate


def certificate_pdf(session: Session, certificate_id: int) -> bytes:
    from quality.certificate import render_pdf

    return render_pdf(get_certificate(session, certificate_id))
