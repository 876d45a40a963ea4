"""Load the demo region through the same services the API uses, once."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import licences, units
from catalog import service as catalog_service
from catalog.models import Lot, LotStatus, Sku
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.config import Settings
from marketplace.core.db import utcnow
from marketplace.parties import service as parties_service
from marketplace.parties.models import OrganisationKind, Role
from marketplace.region.demo import region
from marketplace.traceability import scans
from marketplace.traceability import service as codes_service
from marketplace.traceability import trace as trace_service
from marketplace.traceability.models import Code, CodeLevel
from orders.contracts import service as contracts_service
from orders.contracts.models import AdvanceKind
from orders.ledger import service as ledger
from orders.ledger.models import Party
from quality import grading
from quality import service as quality_service
from quality.models import Grade, Inspection, QualityStandard

RECALL_REASON = "演示：抽检发现农残快检阳性，已下架召回 (demo: positive residue re-test, recalled)"


def demo_loaded(session: Session) -> bool:
    operator_email = region.USERS[0]["email"]
    return session.scalar(sa.select(User.id).where(User.email == operator_email)) is not None


def load_demo(
    session: Session,
    *,
    currency: str = "CNY",
    signing_keys: tuple[tuple[str, bytes], ...] | None = None,
    zone: ZoneInfo | None = None,
) -> bool:
    """Build the demo region; returns False, changing nothing, when it is already there."""
    zone = zone or ZoneInfo(Settings.timezone)
    if demo_loaded(session):
        return False
    villages = {
        v["key"]: parties_service.create_village(session, **_fields(v, "key", "source"))
        for v in region.VILLAGES
    }
    organisations = {}
    for organisation in region.ORGANISATIONS:
        organisations[organisation["key"]] = parties_service.create_organisation(
            session,
            kind=OrganisationKind(organisation["kind"]),
            name_zh=organisation["name_zh"],
            name_en=organisation["name_en"],
            contact_phone=organisation["contact_phone"],
            village_id=villages[organisation["village"]].id if organisation["village"] else None,
        )
    clusters = {}
    for cluster in region.CLUSTERS:
        clusters[cluster["key"]] = parties_service.create_cluster(
            session,
            slug=cluster["key"],
            name_zh=cluster["name_zh"],
            name_en=cluster["name_en"],
            description_zh=cluster["description_zh"],
            description_en=cluster["description_en"],
            key_village_id=villages[cluster["key_village"]].id,
            village_ids=[villages[key].id for key in cluster["villages"]],
            operator_id=organisations[cluster["operator"]].id,
        )
    for pairing in region.PAIRINGS:
        parties_service.create_pairing(
            session,
            village_id=villages[pairing["village"]].id,
            enterprise_id=organisations[pairing["enterprise"]].id,
            since=pairing["since"],
            note_zh=pairing["note_zh"],
        )
    users = {}
    for item in region.USERS:
        users[item["organisation"]] = auth_service.create_user(
            session,
            email=item["email"],
            password=region.DEMO_PASSWORD,
            display_name=item["display_name"],
            role=Role(item["role"]),
            organisation_id=organisations[item["organisation"]].id,
        )
    operator = users["region-operator"]
    categories = {
        c["key"]: catalog_service.create_category(
            session, slug=c["key"], name_zh=c["name_zh"], name_en=c["name_en"]
        )
        for c in region.CATEGORIES
    }
    brands = {
        b["key"]: catalog_service.create_brand(
            session,
            slug=b["key"],
            cluster_id=clusters[b["cluster"]].id,
            **_fields(b, "key", "cluster", "source"),
        )
        for b in region.BRANDS
    }
    _load_licences_and_villages(session, operator, brands, categories, organisations, villages)
    products = {}
    for item in region.PRODUCTS:
        products[item["key"]] = catalog_service.create_product(
            session,
            actor=operator,
            brand_id=brands[item["brand"]].id,
            category_id=categories[item["category"]].id,
            village_id=villages[item["village"]].id,
            cooperative_id=organisations[item["cooperative"]].id,
            **_fields(item, "key", "brand", "category", "village", "cooperative"),
        )
    for sku in region.SKUS:
        catalog_service.create_sku(
            session,
            actor=operator,
            product_id=products[sku["product"]].id,
            currency=currency,
            **_fields(sku, "key", "product"),
        )
    for rule in region.SHARING_RULES:
        ledger.create_rule(
            session,
            name=rule["name"],
            cluster_id=clusters[rule["cluster"]].id,
            shares=[{"party": Party(party), "basis_points": points} for party, points in rule["shares"]],
        )
    lots = {item["key"]: _load_lot(session, item, products, villages, organisations) for item in region.LOTS}
    session.flush()
    standards = {
        standard.category_id: standard
        for standard in quality_service.publish_shipped_standards(
            session, category_ids={slug: category.id for slug, category in categories.items()}
        )
    }
    for item in region.BRAND_MINIMUM_GRADES:
        quality_service.set_brand_minimum(
            session,
            brand_id=brands[item["brand"]].id,
            standard_code=item["standard_code"],
            grade_code=item["grade_code"],
        )
    _load_sales_history(session, lots.values())
    inspector = next(user for user in users.values() if user.role is Role.INSPECTOR)
    for key, example in region.LOT_INSPECTIONS.items():
        lot = lots[key]
        _load_quality(session, lot, standards[lot.product.category_id], example, inspector)
    session.flush()
    for lot in lots.values():
        trace_service.record_lot_commissioned(session, lot=lot, actor_organisation_id=lot.cooperative_id)
    if signing_keys:
        _mint_demo_codes(session, list(lots.values()), operator, signing_keys)
        _load_scan_history(session, zone)
    for contract in region.CONTRACTS:
        _load_contract(session, contract, users, products, lots, organisations)
    return True


def _load_licences_and_villages(
    session: Session, operator: User, brands, categories, organisations, villages
) -> None:
    valid_from, valid_until = region.LICENCE_PERIOD
    for item in region.BRAND_LICENCES:
        licences.grant_licence(
            session,
            actor=operator,
            brand_id=brands[item["brand"]].id,
            licensee_id=organisations[item["licensee"]].id,
            category_id=categories[item["category"]].id,
            valid_from=valid_from,
            valid_until=valid_until,
            note="演示授权 demo licence",
        )
    for membership in region.VILLAGE_MEMBERSHIPS:
        for village in membership["villages"]:
            parties_service.add_village_membership(
                session,
                organisation_id=organisations[membership["organisation"]].id,
                village_id=villages[village].id,
                since=region.MEMBERSHIP_SINCE,
            )


def _load_contract(session: Session, item: dict, users, products, lots, organisations) -> None:
    """A contract signed by both demo accounts, with market prices, an advance and a delivery."""
    enterprise, grower = users[item["enterprise"]], users[item["grower"]]
    operator = users["region-operator"]
    product = products[item["product"]]
    contract = contracts_service.draft_contract(
        session,
        actor=enterprise,
        grower_id=organisations[item["grower"]].id,
        product_id=product.id,
        terms=item["terms"],
    )
    for signer in (enterprise, grower):
        contracts_service.sign(
            session,
            actor=signer,
            contract_id=contract.id,
            version=1,
            fingerprint_seen=contracts_service.fingerprint(contract.latest.terms),
        )
    for grade, priced_on, price in item["market_prices"]:
        contracts_service.record_market_price(
            session,
            actor=operator,
            product_id=product.id,
            grade_code=grade,
            unit=item["terms"]["unit"],
            priced_on=priced_on,
            price_fen=price,
            source="demo: illustrative wholesale price",
        )
    for kind, description, amount, given_on in item["advances"]:
        contracts_service.record_advance(
            session,
            actor=enterprise,
            contract_id=contract.id,
            kind=AdvanceKind(kind),
            description=description,
            amount_fen=amount,
            given_on=given_on,
        )
    for spec in item["deliveries"]:
        delivery = contracts_service.deliver(
            session,
            actor=grower,
            contract_id=contract.id,
            lot_id=lots[spec["lot"]].id,
            window=spec["window"],
            quantity=spec["quantity"],
            delivered_on=spec["delivered_on"],
        )
        contracts_service.accept_delivery(
            session,
            actor=enterprise,
            contract_id=contract.id,
            delivery_id=delivery.id,
            received_quantity=spec["received"],
            receipt_grade=spec["receipt_grade"],
        )


def _load_quality(
    session: Session, lot: Lot, standard: QualityStandard, example_name: str, inspector: User
) -> None:
    """The inspection (and, past inspection, the grade) that put a demo lot where it stands."""
    example = next(e for e in standard.definition["examples"] if e["name"] == example_name)
    sample = example["sample"]
    inspected_at = datetime.combine(lot.harvested_on + timedelta(days=1), time(2, 0), tzinfo=UTC)
    inspection = Inspection(
        lot=lot,
        inspector_id=inspector.id,
        inspected_at=inspected_at,
        sample_size=20,
        measurements=sample.get("measurements", {}),
        unit_classes=sample.get("unit_classes"),
        lab_results=sample.get("lab_results", {}),
        sensory=sample.get("sensory", {}),
        note=f"演示抽样 demo sample: {example_name}",
    )
    session.add(inspection)
    if lot.status in (LotStatus.REGISTERED, LotStatus.INSPECTED):
        return
    verdict = grading.grade(standard.definition, sample)
    session.add(
        Grade(
            lot=lot,
            inspection=inspection,
            standard=standard,
            grade_code=verdict.grade,
            grade_rank=verdict.rank,
            residue_result=verdict.residue,
            explanation=verdict.explanation(),
            summary=verdict.summary(),
            graded_by_id=inspector.id,
            graded_at=inspected_at + timedelta(hours=3),
        )
    )


def _mint_demo_codes(session: Session, lots: list[Lot], operator, signing_keys) -> None:
    """A lot code and a few unit codes per lot that is not recalled, ready to scan."""
    for lot in lots:
        sku = session.scalar(catalog_service.list_skus(session, product_id=lot.product_id).limit(1))
        if sku is None or lot.status is LotStatus.RECALLED:
            continue
        for level, quantity in ((CodeLevel.LOT, 1), (CodeLevel.UNIT, 3)):
            codes_service.mint_codes(
                session,
                actor=operator,
                lot_id=lot.id,
                sku_id=sku.id,
                level=level,
                quantity=quantity,
                keys=signing_keys,
            )


def _load_scan_history(session: Session, zone: ZoneInfo) -> None:
    """Illustrative: consumers' scans of the demo codes over the last six weeks, a handful per
    pack and more per lot code, so that the dashboard's scans-by-day chart has a shape. Seeded,
    so every demo region is the same; never enough for a code to look copied."""
    rng = random.Random(2026)
    now = utcnow()
    records = []
    for code_id, serial in session.execute(sa.select(Code.id, Code.serial).order_by(Code.id)):
        for n in range(rng.randint(0, 4) if serial else rng.randint(3, 15)):
            at = now - timedelta(days=rng.uniform(0, 42))
            records.append(
                scans.ScanRecord(code_id, serial is not None, at, None, f"demo-scanner-{code_id}-{n}")
            )
    records.sort(key=lambda record: record.scanned_at)
    scans.apply_scans(session, records, thresholds=scans.Thresholds(), zone=zone)


def _load_lot(session: Session, item: dict, products, villages, organisations) -> Lot:
    # The demo's history happened before the app existed: lots are placed in their
    # statuses directly rather than replayed through inspections and sales.
    status = LotStatus(item["status"])
    lot = Lot(
        product=products[item["product"]],
        village=villages[item["village"]],
        cooperative=organisations[item["cooperative"]],
        lot_code=item["lot_code"],
        harvested_on=item["harvested_on"],
        quantity=item["quantity"],
        unit=item["unit"],
        stock_on_hand=item["stock_on_hand"],
        status=status,
        status_changed_at=utcnow(),
        inputs_used=item.get("inputs_used", ""),
        recall_reason=RECALL_REASON if status is LotStatus.RECALLED else None,
    )
    session.add(lot)
    return lot


def _load_sales_history(session: Session, lots) -> None:
    """What each lot already sold (quantity less stock) at its SKU's price, spread over the months
    since harvest, so that the dashboard has a year to show; posted as offline sales ("sale")."""
    today = utcnow().date()
    for lot in lots:
        sold = lot.quantity - lot.stock_on_hand
        fitting = [
            (sku, units.convert(sku.pack_size, sku.pack_unit, lot.unit))
            for sku in session.scalars(
                sa.select(Sku).where(Sku.product_id == lot.product_id).order_by(Sku.id)
            )
        ]
        fitting = [(sku, pack) for sku, pack in fitting if pack]
        if sold <= 0 or not fitting or lot.status is LotStatus.RECALLED:
            continue
        sku, pack = fitting[0]
        amount = int(sold / pack) * sku.price_fen
        months = [
            date(lot.harvested_on.year, month, 15)
            for month in range(lot.harvested_on.month, 13)
            if date(lot.harvested_on.year, month, 15) < today
        ] or [lot.harvested_on]
        for month, part in zip(months, ledger.largest_remainder(amount, [1] * len(months)), strict=True):
            ledger.post_sale(
                session,
                source_type="sale",
                source_id=f"demo-{lot.lot_code}-{month:%Y%m}",
                amount_fen=part,
                currency=sku.currency,
                lot=lot,
                memo="演示：平台上线前的线下销售 demo offline sales",
                posted_at=datetime.combine(month, time(12), UTC),
            )


def _fields(item: Mapping[str, Any], *leave_out: str) -> dict:
    return {key: value for key, value in item.items() if key not in leave_out}
