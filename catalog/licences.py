"""Use cases of brand licences: which grower may use which brand, for which product line, when.

A brand is the product's promise, so a grower may sell under it only with the operator's licence,
and only produce from villages the grower works in. Every path that puts the brand on produce
(listing a product, registering a lot, minting codes, selling) asks here.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.errors import (
    BrandNotFound,
    BrandNotLicensed,
    CategoryNotFound,
    LicenceNotFound,
    LicencePeriodEmpty,
    LicenceRevoked,
)
from catalog.models import Brand, BrandLicence, Category, Lot, LotStatus, Product
from catalog.signals import lots_may_be_unsaleable
from marketplace.accounts.models import User
from marketplace.core.db import sorted_by, utcnow
from marketplace.core.signals import send_required
from marketplace.parties import service as parties_service
from marketplace.parties.errors import VillageNotServed
from marketplace.parties.models import Role


def in_force_clause(at: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        BrandLicence.revoked_at.is_(None),
        BrandLicence.valid_from <= at,
        sa.or_(BrandLicence.valid_until.is_(None), BrandLicence.valid_until > at),
    )


def licensed_clause(licensee_id, brand_id, category_id, at: datetime) -> sa.Exists:
    """SQL: a licence in force covers this grower, brand and product line. Takes values or
    columns, so that the order path can filter lots with it in one query."""
    return sa.exists().where(
        BrandLicence.licensee_id == licensee_id,
        BrandLicence.brand_id == brand_id,
        sa.or_(BrandLicence.category_id.is_(None), BrandLicence.category_id == category_id),
        in_force_clause(at),
    )


def ensure_licensed(
    session: Session, *, licensee_id: int, brand_id: int, category_id: int, at: datetime | None = None
) -> None:
    """Refuse with BrandNotLicensed, saying why, unless a licence in force covers the use."""
    at = at or utcnow()
    if session.scalar(sa.select(licensed_clause(licensee_id, brand_id, category_id, at))):
        return
    brand = session.get(Brand, brand_id)
    category = session.get(Category, category_id)
    line = f"{brand.name_zh if brand else brand_id} ({category.slug if category else category_id})"
    held = session.scalars(
        sa.select(BrandLicence)
        .where(
            BrandLicence.licensee_id == licensee_id,
            BrandLicence.brand_id == brand_id,
            sa.or_(BrandLicence.category_id.is_(None), BrandLicence.category_id == category_id),
        )
        .order_by(BrandLicence.valid_from.desc(), BrandLicence.id.desc())
    ).first()
    if held is None:
        why = "holds no licence for it"
    elif held.revoked_at is not None:
        why = f"had licence {held.id}, revoked at {held.revoked_at:%Y-%m-%d %H:%M}Z"
    elif held.valid_from > at:
        why = f"holds licence {held.id}, which starts at {held.valid_from:%Y-%m-%d %H:%M}Z"
    else:
        why = f"held licence {held.id}, which ended at {held.valid_until:%Y-%m-%d %H:%M}Z"
    raise BrandNotLicensed(
        f"organisation {licensee_id} may not use the brand {line}: it {why}",
        brand_id=brand_id,
        category_id=category_id,
    )


def ensure_may_carry(
    session: Session, *, grower_id: int, product: Product, village_id: int, at: datetime | None = None
) -> None:
    """The whole promise of a brand on produce: the grower is licensed for the brand and product
    line, and the produce comes from a village the grower works in."""
    ensure_licensed(
        session, licensee_id=grower_id, brand_id=product.brand_id, category_id=product.category_id, at=at
    )
    parties_service.ensure_serves_village(session, organisation_id=grower_id, village_id=village_id)


def carry_refusal(session: Session, lot: Lot, at: datetime | None = None) -> tuple[str, type] | None:
    """Why a lot may not carry its product's brand now (licence or village); None when it may."""
    try:
        ensure_may_carry(
            session, grower_id=lot.cooperative_id, product=lot.product, village_id=lot.village_id, at=at
        )
    except (BrandNotLicensed, VillageNotServed) as refusal:
        return f"lot {lot.id}: {refusal.detail}", type(refusal)
    return None


def get_licence(session: Session, *, actor: User, licence_id: int) -> BrandLicence:
    licence = session.get(BrandLicence, licence_id)
    # Another grower's licence is answered exactly as a missing one.
    if licence is None or (actor.role is not Role.OPERATOR and licence.licensee_id != actor.organisation_id):
        raise LicenceNotFound(f"licence {licence_id} does not exist")
    return licence


def list_licences(
    session: Session,
    *,
    actor: User,
    brand_id: int | None = None,
    licensee_id: int | None = None,
    category_id: int | None = None,
    in_force: bool | None = None,
    sort: str | None = None,
) -> sa.Select:
    """The operator sees every licence; a grower only its own."""
    statement = sa.select(BrandLicence)
    if actor.role is not Role.OPERATOR:
        statement = statement.where(BrandLicence.licensee_id == actor.organisation_id)
    for column, value in (
        (BrandLicence.brand_id, brand_id),
        (BrandLicence.licensee_id, licensee_id),
        (BrandLicence.category_id, category_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if in_force is not None:
        clause = in_force_clause(utcnow())
        statement = statement.where(clause if in_force else sa.not_(clause))
    return sorted_by(
        statement,
        sort,
        {"valid_from": BrandLicence.valid_from, "created_at": BrandLicence.created_at},
        BrandLicence.id,
    )


def grant_licence(
    session: Session,
    *,
    actor: User,
    brand_id: int,
    licensee_id: int,
    valid_from: datetime,
    valid_until: datetime | None = None,
    category_id: int | None = None,
    note: str = "",
) -> BrandLicence:
    """Let a grower use a brand, for one product line (category) or all, from a time to a time."""
    # Looked up here rather than through catalog.service, which builds on this module.
    if session.get(Brand, brand_id) is None:
        raise BrandNotFound(f"brand {brand_id} does not exist")
    if category_id is not None and session.get(Category, category_id) is None:
        raise CategoryNotFound(f"category {category_id} does not exist")
    licensee = parties_service.get_organisation(session, licensee_id)
    parties_service.require_kind(licensee, parties_service.GROWER_KINDS, "licensee_id")
    if valid_until is not None and valid_until <= valid_from:
        raise LicencePeriodEmpty(
            "a licence must end after it starts",
            errors={"json": {"valid_until": ["must be after valid_from"]}},
        )
    licence = BrandLicence(
        brand_id=brand_id,
        licensee_id=licensee_id,
        category_id=category_id,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
        granted_by_id=actor.id,
    )
    session.add(licence)
    session.flush()
    return licence


def revoke_licence(session: Session, *, actor: User, licence_id: int, reason: str) -> BrandLicence:
    """End a licence now; the grower's lots it covered leave the shop unless another covers them."""
    licence = get_licence(session, actor=actor, licence_id=licence_id)
    if licence.revoked_at is not None:
        raise LicenceRevoked(
            f"licence {licence_id} was already revoked at {licence.revoked_at:%Y-%m-%d %H:%M}Z"
        )
    licence.revoked_at = utcnow()
    licence.revoked_by_id = actor.id
    licence.revoke_reason = reason
    session.flush()
    lots = (
        sa.select(Lot)
        .join(Product, Product.id == Lot.product_id)
        .where(
            Lot.cooperative_id == licence.licensee_id,
            Product.brand_id == licence.brand_id,
            Lot.status.in_((LotStatus.ON_SALE, LotStatus.SOLD_OUT)),
        )
    )
    if licence.category_id is not None:
        lots = lots.where(Product.category_id == licence.category_id)
    send_required(lots_may_be_unsaleable, session, lots=lots)
    return licence
