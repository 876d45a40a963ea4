"""Load the demo region through the same services the API uses, once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from catalog.models import Lot, LotStatus
from marketplace.auth import service as auth_service
from marketplace.auth.models import Role, User
from marketplace.codes import service as codes_service
from marketplace.codes.models import CodeLevel
from marketplace.db import utcnow
from marketplace.demo import region
from marketplace.parties import service as parties_service
from marketplace.parties.models import OrganisationKind
from marketplace.trace import service as trace_service

RECALL_REASON = "演示：抽检发现农残快检阳性，已下架召回 (demo: positive residue re-test, recalled)"


def demo_loaded(session: Session) -> bool:
    operator_email = region.USERS[0]["email"]
    return session.scalar(sa.select(User.id).where(User.email == operator_email)) is not None


def load_demo(session: Session, *, currency: str = "CNY",
              signing_keys: tuple[tuple[str, bytes], ...] | None = None) -> bool:
    """Build the demo region; returns False, changing nothing, when it is already there."""
    if demo_loaded(session):
        return False
    villages = {v["key"]: parties_service.create_village(session, **_fields(v, "key", "source"))
                for v in region.VILLAGES}
    organisations = {}
    for item in region.ORGANISATIONS:
        organisations[item["key"]] = parties_service.create_organisation(
            session, kind=OrganisationKind(item["kind"]), name_zh=item["name_zh"],
            name_en=item["name_en"], contact_phone=item["contact_phone"],
            village_id=villages[item["village"]].id if item["village"] else None)
    clusters = {}
    for item in region.CLUSTERS:
        clusters[item["key"]] = parties_service.create_cluster(
            session, slug=item["key"], name_zh=item["name_zh"], name_en=item["name_en"],
            description_zh=item["description_zh"], description_en=item["description_en"],
            key_village_id=villages[item["key_village"]].id,
            village_ids=[villages[key].id for key in item["villages"]],
            operator_id=organisations[item["operator"]].id)
    for item in region.PAIRINGS:
        parties_service.create_pairing(session, village_id=villages[item["village"]].id,
                                       enterprise_id=organisations[item["enterprise"]].id,
                                       since=item["since"], note_zh=item["note_zh"])
    users = {}
    for item in region.USERS:
        users[item["organisation"]] = auth_service.create_user(
            session, email=item["email"], password=region.DEMO_PASSWORD,
            display_name=item["display_name"], role=Role(item["role"]),
            organisation_id=organisations[item["organisation"]].id)
    operator = users["region-operator"]
    categories = {c["key"]: catalog_service.create_category(
        session, slug=c["key"], name_zh=c["name_zh"], name_en=c["name_en"])
        for c in region.CATEGORIES}
    brands = {b["key"]: catalog_service.create_brand(
        session, slug=b["key"], cluster_id=clusters[b["cluster"]].id,
        **_fields(b, "key", "cluster", "source")) for b in region.BRANDS}
    products = {}
    for item in region.PRODUCTS:
        products[item["key"]] = catalog_service.create_product(
            session, actor=operator, brand_id=brands[item["brand"]].id,
            category_id=categories[item["category"]].id, village_id=villages[item["village"]].id,
            cooperative_id=organisations[item["cooperative"]].id,
            **_fields(item, "key", "brand", "category", "village", "cooperative"))
    for item in region.SKUS:
        catalog_service.create_sku(session, actor=operator, product_id=products[item["product"]].id,
                                   currency=currency, **_fields(item, "key", "product"))
    lots = [_load_lot(session, item, products, villages, organisations) for item in region.LOTS]
    session.flush()
    for lot in lots:
        trace_service.record_lot_commissioned(session, lot=lot,
                                              actor_organisation_id=lot.cooperative_id)
    if signing_keys:
        _mint_demo_codes(session, lots, operator, signing_keys)
    return True


def _mint_demo_codes(session: Session, lots: list[Lot], operator, signing_keys) -> None:
    """A lot code and a few unit codes per lot that is not recalled, ready to scan."""
    for lot in lots:
        sku = session.scalar(catalog_service.list_skus(session, product_id=lot.product_id).limit(1))
        if sku is None or lot.status is LotStatus.RECALLED:
            continue
        for level, quantity in ((CodeLevel.LOT, 1), (CodeLevel.UNIT, 3)):
            codes_service.mint_codes(session, actor=operator, lot_id=lot.id, sku_id=sku.id,
                                     level=level, quantity=quantity, keys=signing_keys)


def _load_lot(session: Session, item: dict, products, villages, organisations) -> Lot:
    # The demo's history happened before the app existed: lots are placed in their
    # statuses directly rather than replayed through inspections and sales.
    status = LotStatus(item["status"])
    lot = Lot(product=products[item["product"]], village=villages[item["village"]],
              cooperative=organisations[item["cooperative"]], lot_code=item["lot_code"],
              harvested_on=item["harvested_on"], quantity=item["quantity"], unit=item["unit"],
              stock_on_hand=item["stock_on_hand"], status=status, status_changed_at=utcnow(),
              inputs_used=item.get("inputs_used", ""),
              recall_reason=RECALL_REASON if status is LotStatus.RECALLED else None)
    session.add(lot)
    return lot


def _fields(item: dict, *leave_out: str) -> dict:
    return {key: value for key, value in item.items() if key not in leave_out}
