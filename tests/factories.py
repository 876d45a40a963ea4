"""Builders of test data: each test shows what it builds."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from itertools import count

import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from catalog import gtin as gtin_rules
from catalog.models import Brand, BrandLicence, Category, Lot, LotStatus, Product, Sku
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import AccessToken, User
from marketplace.core.db import utcnow
from marketplace.parties.models import (
    Cluster,
    ClusterVillage,
    CooperativeVillage,
    Organisation,
    OrganisationKind,
    Role,
    Village,
)
from marketplace.traceability import service as codes_service
from marketplace.traceability.models import Code, CodeLevel
from quality import grading
from quality.models import Grade, Inspection, QualityStandard

PASSWORD = "correct horse battery"
_sequence = count(1)


def _n() -> int:
    return next(_sequence)


@cache
def _password_hash() -> str:
    # Argon2 is deliberately slow; hash the shared test password once.
    return auth_service.hash_password(PASSWORD)


def make_village(session: Session, **fields) -> Village:
    n = _n()
    village = Village(
        **{
            "name_zh": f"测试村{n}",
            "name_en": f"Test Village {n}",
            "township_zh": "测试镇",
            "township_en": "Test Town",
            "county_zh": "萧山区",
            "county_en": "Xiaoshan",
            "latitude": Decimal("30.2"),
            "longitude": Decimal("120.3"),
            "baseline_income_fen": 80_000_000,
            "baseline_year": 2024,
            **fields,
        }
    )
    session.add(village)
    session.flush()
    return village


def make_organisation(
    session: Session, kind: OrganisationKind = OrganisationKind.COOPERATIVE, **fields
) -> Organisation:
    n = _n()
    organisation = Organisation(
        **{"kind": kind, "name_zh": f"测试组织{n}", "name_en": f"Test Organisation {n}", **fields}
    )
    session.add(organisation)
    session.flush()
    return organisation


def make_cluster(
    session: Session, *, villages: list[Village] | None = None, operator: Organisation | None = None, **fields
) -> Cluster:
    n = _n()
    villages = villages or [make_village(session)]
    operator = operator or make_organisation(session, OrganisationKind.OPERATOR)
    cluster = Cluster(
        slug=f"cluster-{n}",
        name_zh=f"测试片区{n}",
        name_en=f"Test Cluster {n}",
        key_village_id=villages[0].id,
        operator=operator,
        members=[ClusterVillage(village_id=v.id) for v in villages],
        **fields,
    )
    session.add(cluster)
    session.flush()
    return cluster


def make_user(session: Session, *, role: Role, organisation: Organisation, **fields) -> User:
    n = _n()
    user = User(
        email=f"user{n}@example.test",
        display_name=f"User {n}",
        password_hash=_password_hash(),
        role=role,
        organisation=organisation,
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def make_token(session: Session, user: User, *, expires_in: timedelta = timedelta(hours=1)) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        AccessToken(
            user=user, token_hash=hashlib.sha256(raw.encode()).hexdigest(), expires_at=utcnow() + expires_in
        )
    )
    session.flush()
    return raw


def headers_for(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(session, user)}"}


def make_brand(session: Session, *, cluster: Cluster | None = None, **fields) -> Brand:
    n = _n()
    brand = Brand(
        **{
            "slug": f"brand-{n}",
            "cluster": cluster or make_cluster(session),
            "name_zh": f"品牌{n}",
            "name_en": f"Brand {n}",
            **fields,
        }
    )
    session.add(brand)
    session.flush()
    return brand


def make_category(session: Session, **fields) -> Category:
    n = _n()
    category = Category(
        **{"slug": f"category-{n}", "name_zh": f"类别{n}", "name_en": f"Category {n}", **fields}
    )
    session.add(category)
    session.flush()
    return category


def make_licence(
    session: Session, *, licensee: Organisation, brand: Brand, category: Category | None = None, **fields
) -> BrandLicence:
    """The operator's licence for a grower to use a brand (for one category, or all)."""
    licence = BrandLicence(
        **{
            "brand": brand,
            "licensee": licensee,
            "category": category,
            "valid_from": utcnow() - timedelta(days=365),
            **fields,
        }
    )
    session.add(licence)
    session.flush()
    return licence


def make_membership(session: Session, *, organisation_id: int, village_id: int) -> CooperativeVillage:
    """The operator's record that a grower works in a village (one per pair)."""
    membership = session.get(CooperativeVillage, (organisation_id, village_id))
    if membership is None:
        membership = CooperativeVillage(
            organisation_id=organisation_id, village_id=village_id, since=date(2024, 1, 1)
        )
        session.add(membership)
        session.flush()
    return membership


def _license_lot_or_product(session: Session, *, grower_id: int, product: Product, village_id: int) -> None:
    """What a grower needs to list this product and sell lots of it from this village."""
    licensed = session.scalar(
        sa.select(BrandLicence.id).where(
            BrandLicence.licensee_id == grower_id,
            BrandLicence.brand_id == product.brand_id,
            sa.or_(BrandLicence.category_id.is_(None), BrandLicence.category_id == product.category_id),
            BrandLicence.revoked_at.is_(None),
        )
    )
    if licensed is None:
        make_licence(
            session,
            licensee=session.get(Organisation, grower_id),
            brand=product.brand,
            category=product.category,
        )
    make_membership(session, organisation_id=grower_id, village_id=village_id)


def make_product(
    session: Session,
    *,
    cooperative: Organisation,
    brand: Brand | None = None,
    village: Village | None = None,
    licensed: bool = True,
    **fields,
) -> Product:
    """A product; unless `licensed=False` its cooperative holds a licence for the brand and
    category and works in the village, as the operator would have recorded."""
    n = _n()
    brand = brand or make_brand(session)
    product = Product(
        **{
            "brand": brand,
            "category": make_category(session),
            "village": village or make_village(session),
            "cooperative": cooperative,
            "name_zh": f"产品{n}",
            "name_en": f"Product {n}",
            **fields,
        }
    )
    session.add(product)
    session.flush()
    if licensed:
        _license_lot_or_product(
            session, grower_id=cooperative.id, product=product, village_id=product.village_id
        )
    return product


def make_gtin() -> str:
    body = f"0697{_n():09d}"
    return body + str(gtin_rules.check_digit(body))


def make_sku(session: Session, *, product: Product, **fields) -> Sku:
    n = _n()
    sku = Sku(
        **{
            "product": product,
            "name_zh": f"规格{n}",
            "name_en": f"SKU {n}",
            "pack_size": Decimal("250"),
            "pack_unit": "g",
            "price_fen": 12_800,
            "currency": "CNY",
            "gtin": make_gtin(),
            **fields,
        }
    )
    session.add(sku)
    session.flush()
    return sku


def make_lot(
    session: Session,
    *,
    product: Product,
    status: LotStatus = LotStatus.REGISTERED,
    quantity: Decimal = Decimal("100"),
    licensed: bool = True,
    **fields,
) -> Lot:
    """A lot; unless `licensed=False` its grower may carry the brand and works in its village."""
    n = _n()
    lot = Lot(
        **{
            "product": product,
            "village_id": product.village_id,
            "cooperative_id": product.cooperative_id,
            "lot_code": f"LOT{n}",
            "harvested_on": date(2026, 4, 1),
            "quantity": quantity,
            "unit": "kg",
            "stock_on_hand": quantity,
            "status": status,
            "status_changed_at": utcnow(),
            **fields,
        }
    )
    session.add(lot)
    session.flush()
    if licensed:
        _license_lot_or_product(
            session, grower_id=lot.cooperative_id, product=product, village_id=lot.village_id
        )
    return lot


def simple_definition() -> dict:
    """A small standard: grades A and B bound moisture; every grade needs a negative residue test."""
    return {
        "measurements": {"moisture": {"unit": "%", "better": "lower", "label_zh": "水分"}},
        "lab_tests": {
            "residue": {"rule": "enzyme_inhibition", "threshold_percent": "50", "confirmations": 2}
        },
        "residue_test": "residue",
        "unit_categories": [],
        "requirements": [{"kind": "lab", "test": "residue"}],
        "grades": [
            {"code": "A", "criteria": [{"kind": "measure", "measurement": "moisture", "max": "6"}]},
            {"code": "B", "criteria": [{"kind": "measure", "measurement": "moisture", "max": "8"}]},
        ],
    }


def simple_sample(moisture: str = "5", inhibition: str = "10") -> dict:
    return {
        "measurements": {"moisture": {"unit": "%", "values": [moisture]}},
        "lab_results": {"residue": {"inhibition_percent": inhibition}},
    }


def make_standard(
    session: Session,
    *,
    category: Category | None = None,
    definition: dict | None = None,
    published: bool = True,
    **fields,
) -> QualityStandard:
    n = _n()
    standard = QualityStandard(
        **{
            "category": category or make_category(session),
            "code": f"T/TEST {n}",
            "version": "1",
            "title_zh": f"测试标准{n}",
            "title_en": f"Test standard {n}",
            "effective_from": date(2020, 1, 1),
            "source": "test data",
            "definition": definition or simple_definition(),
            "published_at": utcnow() if published else None,
            **fields,
        }
    )
    session.add(standard)
    session.flush()
    return standard


def make_grade(
    session: Session,
    *,
    lot: Lot,
    standard: QualityStandard | None = None,
    sample: dict | None = None,
    inspector: User | None = None,
) -> Grade:
    """An inspection of the lot graded by the engine; the lot takes the status the grade gives."""
    standard = standard or make_standard(session, category=lot.product.category)
    inspector = inspector or make_user(
        session,
        role=Role.INSPECTOR,
        organisation=make_organisation(session, OrganisationKind.INSPECTION_BODY),
    )
    sample = sample or simple_sample()
    inspection = Inspection(
        lot=lot,
        inspector_id=inspector.id,
        sample_size=5,
        measurements=sample.get("measurements", {}),
        unit_classes=sample.get("unit_classes"),
        lab_results=sample.get("lab_results", {}),
        sensory=sample.get("sensory", {}),
    )
    verdict = grading.grade(standard.definition, sample)
    grade = Grade(
        lot=lot,
        inspection=inspection,
        standard=standard,
        grade_code=verdict.grade,
        grade_rank=verdict.rank,
        residue_result=verdict.residue,
        explanation=verdict.explanation(),
        summary=verdict.summary(),
        graded_by_id=inspector.id,
    )
    session.add_all([inspection, grade])
    lot.status = LotStatus.REJECTED if verdict.rejected else LotStatus.GRADED
    session.flush()
    return grade


def make_png(width: int, height: int, *, noise: bool = False, mode: str = "RGB") -> bytes:
    """A real PNG. Random RGB pixels do not compress (`noise`: about 3 bytes a pixel); a blank
    image compresses to almost nothing, even at many megapixels in mode "1"."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new(mode, (width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Caller:
    user: User
    headers: dict[str, str]

    @property
    def organisation(self) -> Organisation:
        return self.user.organisation


@dataclass
class Callers:
    operator: Caller
    cooperative: Caller
    other_cooperative: Caller
    enterprise: Caller
    inspector: Caller

    def by_role(self) -> dict[str, Caller]:
        return {
            "operator": self.operator,
            "cooperative": self.cooperative,
            "enterprise": self.enterprise,
            "inspector": self.inspector,
        }


def make_callers(session: Session) -> Callers:
    def caller(role: Role, kind: OrganisationKind) -> Caller:
        user = make_user(session, role=role, organisation=make_organisation(session, kind))
        return Caller(user=user, headers=headers_for(session, user))

    return Callers(
        operator=caller(Role.OPERATOR, OrganisationKind.OPERATOR),
        cooperative=caller(Role.COOPERATIVE, OrganisationKind.COOPERATIVE),
        other_cooperative=caller(Role.COOPERATIVE, OrganisationKind.COOPERATIVE),
        enterprise=caller(Role.ENTERPRISE, OrganisationKind.ENTERPRISE),
        inspector=caller(Role.INSPECTOR, OrganisationKind.INSPECTION_BODY),
    )


def make_shop(
    session: Session,
    *,
    packs: int = 10,
    pack_grams: int = 250,
    price_fen: int = 12_800,
    village: Village | None = None,
):
    """A cooperative's product with one lot on sale holding exactly `packs` packs of one SKU."""
    cooperative = make_organisation(session)
    product = make_product(session, cooperative=cooperative, village=village)
    sku = make_sku(
        session, product=product, pack_size=Decimal(pack_grams), pack_unit="g", price_fen=price_fen
    )
    lot = make_lot(
        session, product=product, status=LotStatus.ON_SALE, quantity=Decimal(packs * pack_grams) / 1000
    )
    return sku, lot


def stripe_signature(payload: bytes, secret: str, *, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe itself would send: t=…,v1=HMAC-SHA256(t.payload)."""
    import hmac
    import time

    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


SIGNING_KEYS = (("k2", b"test-signing-key-two-32-bytes-long"), ("k1", b"test-signing-key-one-32-bytes-long"))


def make_coded_lot(
    session: Session, *, cooperative: Organisation, status: LotStatus = LotStatus.ON_SALE, **lot_fields
) -> tuple[Lot, Sku]:
    """A lot of a product with one SKU: what codes are minted for."""
    product = make_product(session, cooperative=cooperative)
    sku = make_sku(session, product=product)
    return make_lot(session, product=product, status=status, **lot_fields), sku


def make_unit_code_paths(session: Session, *, quantity: int, keys) -> list[str]:
    """A new cooperative's lot with `quantity` unit codes signed with `keys` (as a server of
    those settings signs them), committed; their resolver paths."""
    organisation = make_organisation(session)
    user = make_user(session, role=Role.COOPERATIVE, organisation=organisation)
    lot, sku = make_coded_lot(session, cooperative=organisation)
    batch = codes_service.mint_codes(
        session, actor=user, lot_id=lot.id, sku_id=sku.id, level=CodeLevel.UNIT, quantity=quantity, keys=keys
    )
    session.commit()
    return [
        codes_service.code_uri(code, base_url="")
        for code in session.scalars(sa.select(Code).where(Code.batch_id == batch.id))
    ]


def graded_definition(*codes: str) -> dict:
    """A small standard grading by moisture, best grade first: ≤ 6 %, ≤ 8 %, ≤ 10 % …"""
    definition = simple_definition()
    definition["grades"] = [
        {"code": code, "criteria": [{"kind": "measure", "measurement": "moisture", "max": str(6 + 2 * rank)}]}
        for rank, code in enumerate(codes)
    ]
    return definition


CELERY_GRADES = ("一级", "二级", "三级")
MOISTURE_FOR = {"一级": "5", "二级": "7", "三级": "9"}


def contract_terms(**overrides) -> dict:
    """Terms as the API loads them (decimals and dates): 1,000 kg in one window at fixed prices."""
    return {
        "season": "2026 autumn",
        "quantity": Decimal("1000"),
        "unit": "kg",
        "tolerance_percent": Decimal("5"),
        "grades": list(CELERY_GRADES),
        "minimum_grade": "二级",
        "windows": [
            {"starts_on": date(2026, 10, 1), "ends_on": date(2026, 10, 31), "quantity": Decimal("1000")}
        ],
        "deposit_fen": 0,
        "currency": "CNY",
        "price_rule": {"kind": "fixed", "prices_fen": {"一级": 300, "二级": 250}},
        **overrides,
    }


def make_contract(
    session: Session,
    *,
    enterprise_user: User,
    grower_user: User,
    product: Product | None = None,
    signed: bool = True,
    **term_overrides,
):
    """A contract drafted by the enterprise and, unless `signed=False`, signed by both."""
    from orders.contracts import service as contracts

    product = product or make_product(session, cooperative=grower_user.organisation)
    contract = contracts.draft_contract(
        session,
        actor=enterprise_user,
        grower_id=grower_user.organisation_id,
        product_id=product.id,
        terms=contract_terms(**term_overrides),
    )
    if signed:
        for signer in (enterprise_user, grower_user):
            contracts.sign(
                session,
                actor=signer,
                contract_id=contract.id,
                version=1,
                fingerprint_seen=contracts.fingerprint(contract.latest.terms),
            )
    return contract


def make_graded_lot(
    session: Session,
    *,
    product: Product,
    grade: str,
    quantity: Decimal,
    standard: QualityStandard,
    unit: str = "kg",
) -> Lot:
    lot = make_lot(session, product=product, quantity=quantity, unit=unit)
    make_grade(session, lot=lot, standard=standard, sample=simple_sample(MOISTURE_FOR[grade]))
    return lot
