"""承诺达标合格证: issuing certificates for graded lots, and their PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from quality import grading
from quality.certificate import render_pdf
from quality.errors import CertificateNotFound, InvalidSample
from quality.models import CERTIFICATE_BASES, COMMITMENT, Certificate
from quality.service.gate import graded_clean
from quality.service.inspections import current_grade


def get_certificate(session: Session, certificate_id: int) -> Certificate:
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise CertificateNotFound(f"certificate {certificate_id} does not exist")
    return certificate


def list_certificates(session: Session, *, lot_id: int) -> sa.Select:
    catalog_service.get_lot(session, lot_id)
    return sa.select(Certificate).where(Certificate.lot_id == lot_id).order_by(Certificate.id)


def issue_certificate(
    session: Session,
    *,
    actor: User,
    lot_id: int,
    basis: list[str],
    quantity: Decimal | None = None,
    contact_phone: str | None = None,
    issued_on: date | None = None,
) -> Certificate:
    """承诺达标合格证 for a graded lot whose residue test was negative."""
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
    refusal = graded_clean(session, lot)
    if refusal is not None:
        reason, problem = refusal
        raise problem(reason, lot_id=lot.id)
    grade = current_grade(session, lot_id)
    quantity = quantity if quantity is not None else lot.quantity
    if quantity > lot.quantity:
        raise InvalidSample(
            f"the lot holds {grading.fmt(lot.quantity)} {lot.unit}",
            errors={"json": {"quantity": ["more than the lot holds"]}},
        )
    producer = lot.cooperative
    contact_phone = contact_phone or producer.contact_phone
    if not contact_phone:
        raise InvalidSample(
            "the producer has no contact phone on record; give one",
            errors={"json": {"contact_phone": ["required: none on record"]}},
        )
    village = lot.village
    issued_on = issued_on or utcnow().date()
    count = session.execute(
        sa.select(sa.func.count()).select_from(Certificate).where(Certificate.lot_id == lot_id)
    ).scalar_one()
    certificate = Certificate(
        number=f"HG{issued_on:%Y%m%d}-{lot.id:06d}-{count + 1:02d}",
        lot=lot,
        grade=grade,
        product_name=lot.product.name_zh,
        quantity=quantity,
        unit=lot.unit,
        origin=f"{village.county_zh}{village.township_zh}{village.name_zh}",
        producer=producer.name_zh,
        contact_phone=contact_phone,
        issued_on=issued_on,
        basis=sorted(set(basis), key=list(CERTIFICATE_BASES).index),
        commitment=COMMITMENT,
        issued_by_id=actor.id,
    )
    session.add(certificate)
    session.flush()
    return certificate


def certificate_pdf(session: Session, certificate_id: int) -> bytes:
    return render_pdf(get_certificate(session, certificate_id))
