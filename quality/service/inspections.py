"""Inspections of lots and the grades the engine gives them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from decimal import Decimal

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.models import Lot, LotStatus
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from quality import grading
from quality.errors import (
    InspectionNotFound,
    InvalidPhoto,
    InvalidSample,
    LotNotInspected,
    NoCurrentStandard,
    OwnLot,
    PhotoNotFound,
)
from quality.models import Grade, Inspection, InspectionPhoto
from quality.service.standards import get_current_standard, get_standard, plan_sample

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_PIXELS = 40_000_000


def get_inspection(session: Session, inspection_id: int) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise InspectionNotFound(f"inspection {inspection_id} does not exist")
    return inspection


def list_inspections(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Inspection).where(Inspection.lot_id == lot_id).order_by(Inspection.id)


def latest_inspection(session: Session, lot_id: int) -> Inspection | None:
    return session.scalar(
        sa.select(Inspection).where(Inspection.lot_id == lot_id).order_by(Inspection.id.desc()).limit(1)
    )


def record_inspection(
    session: Session,
    *,
    actor: User,
    lot_id: int,
    sample_size: int,
    sampling: dict | None = None,
    measurements: dict | None = None,
    unit_classes: dict | None = None,
    lab_results: dict | None = None,
    sensory: dict | None = None,
    photos: list[dict] | None = None,
    note: str = "",
) -> Inspection:
    """Record a sample of a lot; the lot becomes inspected. Earlier inspections stay as they were."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    ensure_independent(actor, lot)
    plan = None
    if sampling:
        plan = plan_sample(**sampling)
        if sample_size < plan.sample_size:
            raise InvalidSample(
                f"the ISO 2859-1 plan (code letter {plan.plan_letter}) needs a sample of "
                f"{plan.sample_size}; {sample_size} were taken",
                errors={"json": {"sample_size": [f"at least {plan.sample_size}"]}},
            )
    catalog_service.transition_lot(lot, LotStatus.INSPECTED)
    inspection = Inspection(
        lot=lot,
        inspector_id=actor.id,
        sample_size=sample_size,
        sampling_plan=plan.as_dict() if plan else None,
        measurements=_plain(measurements or {}),
        unit_classes=_plain(unit_classes) if unit_classes else None,
        lab_results=_plain(lab_results or {}),
        sensory=_plain(sensory or {}),
        note=note,
        inspected_at=utcnow(),
    )
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
    return InspectionPhoto(
        media_type=PHOTO_FORMATS[image_format],
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def _plain(value):
    """Decimals as strings: JSON columns keep exact figures and the engine reads them back exactly."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return grading.fmt(value) if value == value.quantize(Decimal("0.001")) else str(value)
    return value


def ensure_independent(actor: User, lot: Lot) -> None:
    if actor.organisation_id == lot.cooperative_id:
        raise OwnLot(
            f"lot {lot.id} is your organisation's own produce: an independent inspector "
            "must sample and grade it"
        )


def list_grades(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Grade).where(Grade.lot_id == lot_id).order_by(Grade.id)


def current_grade(session: Session, lot_id: int) -> Grade | None:
    return session.scalar(sa.select(Grade).where(Grade.lot_id == lot_id).order_by(Grade.id.desc()).limit(1))


def grade_lot(session: Session, *, actor: User, lot_id: int, standard_id: int | None = None) -> Grade:
    """Grade a lot's newest inspection under the standard in force on its day."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    ensure_independent(actor, lot)
    inspection = latest_inspection(session, lot_id)
    if lot.status is not LotStatus.INSPECTED or inspection is None:
        raise LotNotInspected(
            f"lot {lot_id} is {lot.status.value}: record an inspection first, then grade it"
        )
    category_id = lot.product.category_id
    on = inspection.inspected_at.date()
    if standard_id is None:
        standard = get_current_standard(session, category_id=category_id, on=on)
    else:
        standard = get_standard(session, standard_id)
        if not standard.is_published or standard.category_id != category_id or standard.effective_from > on:
            raise NoCurrentStandard(
                f"standard {standard_id} is not a published standard of this "
                f"lot's category in force on {on.isoformat()}"
            )
    verdict = grading.grade(standard.definition, inspection.sample())
    grade = Grade(
        lot=lot,
        inspection=inspection,
        standard=standard,
        grade_code=verdict.grade,
        grade_rank=verdict.rank,
        residue_result=verdict.residue,
        explanation=verdict.explanation(),
        summary=verdict.summary(),
        graded_by_id=actor.id,
        graded_at=utcnow(),
    )
    session.add(grade)
    catalog_service.transition_lot(lot, LotStatus.REJECTED if verdict.rejected else LotStatus.GRADED)
    session.flush()
    return grade
