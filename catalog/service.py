"""Use cases of the catalog: brands, categories, products, SKUs and harvest lots."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from catalog import gtin as gtin_rules
from catalog import licences
from catalog.errors import (
    BrandNotFound,
    CategoryNotFound,
    DuplicateSlug,
    GrowerRequired,
    GtinTaken,
    HarvestInFuture,
    InvalidGtin,
    InvalidLotTransition,
    LogoNotFound,
    LotCodeTaken,
    LotNotEditable,
    LotNotFound,
    ProductNotFound,
    SkuNotFound,
)
from catalog.logo import normalise_logo
from catalog.models import LOT_TRANSITIONS, Brand, Category, Lot, LotStatus, Product, Sku
from catalog.signals import lot_commissioned, lot_going_on_sale, lot_status_changed, lots_may_be_unsaleable
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.db import rows_matched, sorted_by, utcnow
from marketplace.core.models import apply_changes
from marketplace.core.signals import send_required
from marketplace.parties import service as parties_service
from marketplace.parties.errors import NotYours
from marketplace.parties.models import Role

GROWER_KINDS = parties_service.GROWER_KINDS


def get_brand(session: Session, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise BrandNotFound(f"brand {brand_id} does not exist")
    return brand


def list_brands(session: Session, *, cluster_id: int | None = None, sort: str | None = None) -> sa.Select:
    statement = sa.select(Brand)
    if cluster_id is not None:
        statement = statement.where(Brand.cluster_id == cluster_id)
    return sorted_by(statement, sort, {"name": Brand.name_zh, "slug": Brand.slug}, Brand.id)


def create_brand(session: Session, *, slug: str, cluster_id: int, **fields) -> Brand:
    parties_service.get_cluster(session, cluster_id)
    _ensure_free_slug(session, Brand, slug)
    brand = Brand(slug=slug, cluster_id=cluster_id, **fields)
    session.add(brand)
    session.flush()
    return brand


def update_brand(session: Session, *, brand_id: int, changes: dict) -> Brand:
    brand = get_brand(session, brand_id)
    if "cluster_id" in changes:
        parties_service.get_cluster(session, changes["cluster_id"])
    if "slug" in changes and changes["slug"] != brand.slug:
        _ensure_free_slug(session, Brand, changes["slug"])
    apply_changes(brand, changes)
    session.flush()
    return brand


def set_brand_logo(session: Session, *, brand_id: int, data: bytes, max_bytes: int) -> Brand:
    brand = get_brand(session, brand_id)
    brand.logo_png, brand.logo_sha256 = normalise_logo(data, max_bytes=max_bytes)
    session.flush()
    return brand


def get_brand_logo(session: Session, brand_id: int) -> tuple[bytes, str]:
    brand = get_brand(session, brand_id)
    if brand.logo_png is None or brand.logo_sha256 is None:
        raise LogoNotFound(f"brand {brand_id} has no logo yet")
    return brand.logo_png, brand.logo_sha256


def get_category(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise CategoryNotFound(f"category {category_id} does not exist")
    return category


def list_categories(session: Session) -> sa.Select:
    return sa.select(Category).order_by(Category.id)


def create_category(session: Session, *, slug: str, name_zh: str, name_en: str) -> Category:
    _ensure_free_slug(session, Category, slug)
    category = Category(slug=slug, name_zh=name_zh, name_en=name_en)
    session.add(category)
    session.flush()
    return category


def _ensure_free_slug(session: Session, model, slug: str) -> None:
    if session.scalar(sa.select(model.id).where(model.slug == slug)) is not None:
        raise DuplicateSlug(f"the slug {slug!r} is taken")


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise ProductNotFound(f"product {product_id} does not exist")
    return product


def list_products(
    session: Session,
    *,
    brand_id: int | None = None,
    category_id: int | None = None,
    cooperative_id: int | None = None,
    village_id: int | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(Product)
    for column, value in (
        (Product.brand_id, brand_id),
        (Product.category_id, category_id),
        (Product.cooperative_id, cooperative_id),
        (Product.village_id, village_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if q:
        # The search text is literal: % and _ in it are not wildcards.
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            sa.or_(Product.name_zh.ilike(pattern, escape="\\"), Product.name_en.ilike(pattern, escape="\\"))
        )
    return sorted_by(statement, sort, {"name": Product.name_zh, "created_at": Product.created_at}, Product.id)


def create_product(
    session: Session,
    *,
    actor: User,
    brand_id: int,
    category_id: int,
    village_id: int,
    cooperative_id: int | None = None,
    **fields,
) -> Product:
    cooperative_id = _acting_grower(session, actor, cooperative_id)
    get_brand(session, brand_id)
    get_category(session, category_id)
    licences.ensure_licensed(session, licensee_id=cooperative_id, brand_id=brand_id, category_id=category_id)
    parties_service.ensure_serves_village(session, organisation_id=cooperative_id, village_id=village_id)
    product = Product(
        brand_id=brand_id,
        category_id=category_id,
        village_id=village_id,
        cooperative_id=cooperative_id,
        **fields,
    )
    session.add(product)
    session.flush()
    return product


def update_product(session: Session, *, actor: User, product_id: int, changes: dict) -> Product:
    product = get_product(session, product_id)
    auth_service.ensure_owner(actor, product.cooperative_id, f"product {product_id}")
    if "brand_id" in changes:
        get_brand(session, changes["brand_id"])
    if "category_id" in changes:
        get_category(session, changes["category_id"])
    if "village_id" in changes:
        parties_service.get_village(session, changes["village_id"])
    promise = ("brand_id", "category_id", "village_id")
    merged = {key: changes.get(key, getattr(product, key)) for key in promise}
    brand_changed = any(merged[key] != getattr(product, key) for key in ("brand_id", "category_id"))
    if any(merged[key] != getattr(product, key) for key in promise):
        # Checked against the product's grower, also when an operator makes the change.
        licences.ensure_licensed(
            session,
            licensee_id=product.cooperative_id,
            brand_id=merged["brand_id"],
            category_id=merged["category_id"],
        )
        parties_service.ensure_serves_village(
            session, organisation_id=product.cooperative_id, village_id=merged["village_id"]
        )
    apply_changes(product, changes)
    session.flush()
    if brand_changed:
        # Lots on sale went through the old brand's gate: the new brand's minimum grade applies.
        send_required(
            lots_may_be_unsaleable, session, lots=sa.select(Lot).where(Lot.product_id == product.id)
        )
    return product


def _acting_grower(session: Session, actor: User, cooperative_id: int | None) -> int:
    """The grower a cooperative user acts for is its own; an operator must name one."""
    if actor.role is Role.OPERATOR:
        if cooperative_id is None:
            raise GrowerRequired(
                "an operator must say which cooperative this is for",
                errors={"json": {"cooperative_id": ["required for operators"]}},
            )
        grower = parties_service.get_organisation(session, cooperative_id)
        parties_service.require_kind(grower, GROWER_KINDS, "cooperative_id")
        return grower.id
    if cooperative_id is not None and cooperative_id != actor.organisation_id:
        raise NotYours("you can only list produce for your own cooperative")
    return actor.organisation_id


def get_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise SkuNotFound(f"SKU {sku_id} does not exist")
    return sku


def list_skus(
    session: Session,
    *,
    product_id: int | None = None,
    gtin: str | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(Sku)
    if product_id is not None:
        statement = statement.where(Sku.product_id == product_id)
    if gtin:
        statement = statement.where(Sku.gtin == gtin_rules.to_gtin14(gtin))
    if is_active is not None:
        statement = statement.where(Sku.is_active == is_active)
    return sorted_by(statement, sort, {"price_fen": Sku.price_fen, "name": Sku.name_zh}, Sku.id)


def create_sku(session: Session, *, actor: User, product_id: int, gtin: str, currency: str, **fields) -> Sku:
    product = get_product(session, product_id)
    auth_service.ensure_owner(actor, product.cooperative_id, f"product {product_id}")
    gtin = _checked_gtin(session, gtin)
    sku = Sku(product=product, gtin=gtin, currency=currency, **fields)
    session.add(sku)
    session.flush()
    return sku


def update_sku(session: Session, *, actor: User, sku_id: int, changes: dict) -> Sku:
    sku = get_sku(session, sku_id)
    auth_service.ensure_owner(actor, sku.product.cooperative_id, f"SKU {sku_id}")
    if "gtin" in changes:
        changes["gtin"] = _checked_gtin(session, changes["gtin"], exclude_id=sku.id)
    apply_changes(sku, changes)
    session.flush()
    return sku


def _checked_gtin(session: Session, gtin: str, exclude_id: int | None = None) -> str:
    if not gtin_rules.is_valid(gtin):
        raise InvalidGtin(
            f"{gtin} is not a GTIN: the check digit does not match",
            errors={"json": {"gtin": ["check digit does not match"]}},
        )
    gtin = gtin_rules.to_gtin14(gtin)
    statement = sa.select(Sku.id).where(Sku.gtin == gtin)
    if exclude_id is not None:
        statement = statement.where(Sku.id != exclude_id)
    if session.scalar(statement) is not None:
        raise GtinTaken(f"GTIN {gtin} is already used by another SKU")
    return gtin


def get_lot(session: Session, lot_id: int, *, for_update: bool = False) -> Lot:
    lot = session.get(Lot, lot_id, with_for_update=for_update)
    if lot is None:
        raise LotNotFound(f"lot {lot_id} does not exist")
    return lot


def list_lots(
    session: Session,
    *,
    product_id: int | None = None,
    cooperative_id: int | None = None,
    village_id: int | None = None,
    status: LotStatus | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(Lot)
    for column, value in (
        (Lot.product_id, product_id),
        (Lot.cooperative_id, cooperative_id),
        (Lot.village_id, village_id),
        (Lot.status, status),
    ):
        if value is not None:
            statement = statement.where(column == value)
    columns = {
        "harvested_on": Lot.harvested_on,
        "created_at": Lot.created_at,
        "stock_on_hand": Lot.stock_on_hand,
    }
    return sorted_by(statement, sort, columns, Lot.id)


def register_lot(
    session: Session,
    *,
    actor: User,
    product_id: int,
    lot_code: str,
    harvested_on: date,
    quantity: Decimal,
    unit: str,
    village_id: int | None = None,
    inputs_used: str = "",
) -> Lot:
    """Register a harvest lot: it starts registered, ungraded, with all its quantity in stock."""
    product = get_product(session, product_id)
    auth_service.ensure_owner(actor, product.cooperative_id, f"product {product_id}")
    _ensure_not_in_future(harvested_on)
    village_id = village_id or product.village_id
    licences.ensure_may_carry(
        session, grower_id=product.cooperative_id, product=product, village_id=village_id
    )
    _ensure_free_lot_code(session, product_id, lot_code)
    lot = Lot(
        product=product,
        village_id=village_id,
        cooperative_id=product.cooperative_id,
        lot_code=lot_code,
        harvested_on=harvested_on,
        quantity=quantity,
        unit=unit,
        stock_on_hand=quantity,
        inputs_used=inputs_used,
        status=LotStatus.REGISTERED,
        status_changed_at=utcnow(),
    )
    session.add(lot)
    session.flush()
    send_required(lot_commissioned, session, lot=lot, actor_organisation_id=actor.organisation_id)
    return lot


def update_lot(session: Session, *, actor: User, lot_id: int, changes: dict) -> Lot:
    lot = get_lot(session, lot_id, for_update=True)
    auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
    if lot.status is LotStatus.RECALLED:
        raise LotNotEditable(f"lot {lot_id} was recalled and can no longer change")
    if {"quantity", "unit", "harvested_on"} & changes.keys() and lot.status is not LotStatus.REGISTERED:
        raise LotNotEditable(
            f"lot {lot_id} is {lot.status.value}: its quantity, unit and harvest "
            "date were fixed when it was inspected"
        )
    if "harvested_on" in changes:
        _ensure_not_in_future(changes["harvested_on"])
    if "village_id" in changes and changes["village_id"] != lot.village_id:
        # A lot's village says whose collective its sales credit: only one its grower works in.
        licences.ensure_may_carry(
            session, grower_id=lot.cooperative_id, product=lot.product, village_id=changes["village_id"]
        )
    if "lot_code" in changes and changes["lot_code"] != lot.lot_code:
        _ensure_free_lot_code(session, lot.product_id, changes["lot_code"])
    if "quantity" in changes:
        changes["stock_on_hand"] = changes["quantity"]
    apply_changes(lot, changes)
    session.flush()
    return lot


# Statuses a caller may ask for; the quality workflow and the stock movements set the others.
REQUESTABLE_STATUSES = {
    LotStatus.ON_SALE: {Role.COOPERATIVE, Role.OPERATOR},
    LotStatus.GRADED: {Role.COOPERATIVE, Role.OPERATOR},
    LotStatus.RECALLED: {Role.OPERATOR},
}


def change_lot_status(
    session: Session, *, actor: User, lot_id: int, status: LotStatus, reason: str | None = None
) -> Lot:
    """Put a graded lot on sale, withdraw it from sale, or (operators) recall it."""
    lot = get_lot(session, lot_id, for_update=True)
    auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
    allowed_roles = REQUESTABLE_STATUSES.get(status)
    if allowed_roles is None:
        raise InvalidLotTransition(
            f"a lot becomes {status.value} through its inspection or its stock, not by request"
        )
    auth_service.ensure_role(actor, *allowed_roles)
    if status is LotStatus.ON_SALE:
        # The brand gate is quality's: it raises the refusal.
        send_required(lot_going_on_sale, session, lot=lot)
    if status is LotStatus.GRADED and lot.status is not LotStatus.ON_SALE:
        raise InvalidLotTransition(f"only a lot on sale can be withdrawn; lot {lot_id} is {lot.status.value}")
    if status is LotStatus.ON_SALE and lot.stock_on_hand <= 0:
        raise InvalidLotTransition(f"lot {lot_id} has no stock to sell")
    if status is LotStatus.RECALLED and lot.can_move_to(status):
        lot.recall_reason = reason
    transition_lot(lot, status)
    session.flush()
    return lot


def transition_lot(lot: Lot, status: LotStatus, *, reason: str | None = None) -> None:
    """Move a lot along its lifecycle; every module that changes a lot's status comes here."""
    if not lot.can_move_to(status):
        allowed = ", ".join(sorted(s.value for s in LOT_TRANSITIONS[lot.status])) or "nothing"
        raise InvalidLotTransition(
            f"lot {lot.id} is {lot.status.value} and cannot become {status.value}; it can become {allowed}"
        )
    lot.status = status
    lot.status_changed_at = utcnow()
    session = object_session(lot)
    if session is not None:
        # The trace chain records every lifecycle step, whichever module moved the lot.
        session.flush()
        send_required(lot_status_changed, session, lot=lot, status=status, reason=reason or lot.recall_reason)


def _ensure_not_in_future(harvested_on: date) -> None:
    # The furthest-ahead time zone is UTC+14: no caller anywhere has a later "today".
    if harvested_on > (utcnow() + timedelta(hours=14)).date():
        raise HarvestInFuture(
            "a lot cannot be harvested in the future", errors={"json": {"harvested_on": ["is in the future"]}}
        )


def _ensure_free_lot_code(session: Session, product_id: int, lot_code: str) -> None:
    exists = session.scalar(sa.select(Lot.id).where(Lot.product_id == product_id, Lot.lot_code == lot_code))
    if exists is not None:
        raise LotCodeTaken(f"product {product_id} already has a lot {lot_code}")


def reserve_stock(session: Session, *, lot_id: int, quantity: Decimal) -> bool:
    """Hold stock for an unpaid order; False when the lot no longer has that much to sell."""
    result = session.execute(
        sa.update(Lot)
        .where(
            Lot.id == lot_id, Lot.status == LotStatus.ON_SALE, Lot.stock_on_hand - Lot.reserved >= quantity
        )
        .values(reserved=Lot.reserved + quantity)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


def release_stock(session: Session, *, lot_id: int, quantity: Decimal) -> None:
    """Give held stock back, e.g. when an order is cancelled or its hold expires."""
    session.execute(
        sa.update(Lot)
        .where(Lot.id == lot_id)
        .values(reserved=Lot.reserved - quantity)
        .execution_options(synchronize_session=False)
    )
    lot = session.get(Lot, lot_id, populate_existing=True)
    if lot is None:
        raise LotNotFound(f"lot {lot_id} does not exist")
    if lot.status is LotStatus.SOLD_OUT and lot.stock_on_hand > lot.reserved:
        transition_lot(lot, LotStatus.ON_SALE)


def consume_stock(session: Session, *, lot_id: int, quantity: Decimal) -> None:
    """Turn held stock into a sale: the lot's stock drops; at zero it is sold out."""
    session.execute(
        sa.update(Lot)
        .where(Lot.id == lot_id)
        .values(reserved=Lot.reserved - quantity, stock_on_hand=Lot.stock_on_hand - quantity)
        .execution_options(synchronize_session=False)
    )
    lot = session.get(Lot, lot_id, populate_existing=True)
    if lot is None:
        raise LotNotFound(f"lot {lot_id} does not exist")
    if lot.stock_on_hand == 0 and lot.status is LotStatus.ON_SALE:
        transition_lot(lot, LotStatus.SOLD_OUT)


def take_stock(session: Session, *, lot_id: int, quantity: Decimal) -> bool:
    """Take unreserved stock off a lot outside a sale (a contract delivery); False if too little."""
    taken = (
        rows_matched(
            session.execute(
                sa.update(Lot)
                .where(Lot.id == lot_id, Lot.stock_on_hand - Lot.reserved >= quantity)
                .values(stock_on_hand=Lot.stock_on_hand - quantity)
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )
    lot = session.get(Lot, lot_id, populate_existing=True)
    if taken and lot is not None and lot.stock_on_hand == 0 and lot.status is LotStatus.ON_SALE:
        transition_lot(lot, LotStatus.SOLD_OUT)
    return taken


def return_stock(session: Session, *, lot_id: int, quantity: Decimal) -> None:
    """Put stock taken by `take_stock` back, e.g. when a delivery is rejected and goes home."""
    session.execute(
        sa.update(Lot)
        .where(Lot.id == lot_id)
        .values(stock_on_hand=Lot.stock_on_hand + quantity)
        .execution_options(synchronize_session=False)
    )
    lot = session.get(Lot, lot_id, populate_existing=True)
    if lot is None:
        raise LotNotFound(f"lot {lot_id} does not exist")
    if lot.status is LotStatus.SOLD_OUT and lot.stock_on_hand > lot.reserved:
        transition_lot(lot, LotStatus.ON_SALE)
