"""Dashboard endpoints on a generated region: 200 villages in 20 clusters, 10,000 lots,
100,000 paid orders with their ledger lines, 5,000 contract deliveries, 200,000 codes and
1,000,000 scans.

    .venv/bin/python bench/dashboard.py                       # SQLite file, the default database
    .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1/bench_dashboard

The region is generated once per database with bulk inserts shaped like what the services write
(ledger lines split by the seed-001 rule, scans counted per village and day by the same recount
the app offers for repair), then each endpoint is requested through the whole Flask app (routing,
auth, rate limits, schemas, serialisation) with an operator's token, --repeat times after one
warm-up. Prints the median and the slowest answer of each. Nothing here is a pass/fail test: the
figures go into the README.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

VILLAGES, CLUSTERS, LOTS, ORDERS, DELIVERIES, CODES_PER_LOT, SCANS = (
    200,
    20,
    10_000,
    100_000,
    5_000,
    20,
    1_000_000,
)
SEED_001 = (("village_collective", 1000), ("village_group", 1000), ("cooperative", 4100), ("farmers", 3900))
CHUNK = 10_000


def insert(session, table, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(sa.insert(table), rows[start : start + CHUNK])


def generate(session, *, start: datetime, end: datetime, zone) -> dict:
    """The region, written in bulk; returns what the timing needs (a cluster and a token)."""
    from catalog.models import Brand, Category, Lot, LotStatus, Product, Sku
    from marketplace.accounts import service as auth_service
    from marketplace.parties.models import (
        Cluster,
        ClusterVillage,
        Organisation,
        OrganisationKind,
        Role,
        Village,
    )
    from marketplace.traceability import scans
    from marketplace.traceability.models import Code, CodeBatch, CodeLevel, Scan
    from orders.contracts.models import Contract, ContractStatus, ContractVersion, Delivery, DeliveryStatus
    from orders.ledger import service as ledger
    from orders.ledger.models import LedgerEntry, Party
    from orders.ledger.service import CLEARING, OPERATING_INCOME
    from orders.models import Allocation, AllocationState, Order, OrderLine, OrderStatus
    from quality.models import Grade, Inspection
    from tests import factories

    rng = random.Random(20261123)
    span = (end - start).total_seconds()

    def moment() -> datetime:
        return start + timedelta(seconds=rng.uniform(0, span))

    def ids(model) -> list[int]:
        return list(session.scalars(sa.select(model.id).order_by(model.id)))

    operator_org = Organisation(
        kind=OrganisationKind.OPERATOR, name_zh="区域运营公司", name_en="Region operator"
    )
    enterprise = Organisation(kind=OrganisationKind.ENTERPRISE, name_zh="采购企业", name_en="Buyer")
    session.add_all([operator_org, enterprise])
    session.flush()
    operator = auth_service.create_user(
        session,
        email="operator@bench.test",
        password="bench-password",
        display_name="Bench operator",
        role=Role.OPERATOR,
        organisation_id=operator_org.id,
    )
    token = factories.make_token(session, operator, expires_in=timedelta(hours=12))

    insert(
        session,
        Village,
        [
            {
                "name_zh": f"基准村{n:03d}",
                "name_en": f"Bench Village {n:03d}",
                "township_zh": f"镇{n // 10}",
                "township_en": f"Town {n // 10}",
                "county_zh": "萧山区",
                "county_en": "Xiaoshan",
                "latitude": Decimal(f"{27.5 + rng.random() * 3:.6f}"),
                "longitude": Decimal(f"{118.5 + rng.random() * 3.5:.6f}"),
                "baseline_income_fen": rng.randrange(40_000_000, 150_000_000),
                "baseline_year": 2024,
            }
            for n in range(VILLAGES)
        ],
    )
    village_ids = ids(Village)
    insert(
        session,
        Organisation,
        [
            {
                "kind": OrganisationKind.COOPERATIVE,
                "name_zh": f"合作社{n:03d}",
                "name_en": f"Cooperative {n:03d}",
                "village_id": village_id,
            }
            for n, village_id in enumerate(village_ids)
        ],
    )
    cooperative_of = dict(
        zip(
            village_ids,
            list(
                session.scalars(
                    sa.select(Organisation.id)
                    .where(Organisation.kind == OrganisationKind.COOPERATIVE)
                    .order_by(Organisation.id)
                )
            ),
            strict=True,
        )
    )
    per_cluster = VILLAGES // CLUSTERS
    members = [village_ids[n * per_cluster : (n + 1) * per_cluster] for n in range(CLUSTERS)]
    insert(
        session,
        Cluster,
        [
            {
                "slug": f"cluster-{n:02d}",
                "name_zh": f"片区{n:02d}",
                "name_en": f"Cluster {n:02d}",
                "key_village_id": villages[0],
                "operator_id": operator_org.id,
            }
            for n, villages in enumerate(members)
        ],
    )
    cluster_ids = ids(Cluster)
    insert(
        session,
        ClusterVillage,
        [
            {"cluster_id": cluster_id, "village_id": village_id}
            for cluster_id, villages in zip(cluster_ids, members, strict=True)
            for village_id in villages
        ],
    )
    category = Category(slug="produce", name_zh="农产品", name_en="Produce")
    session.add(category)
    session.flush()
    insert(
        session,
        Brand,
        [
            {
                "slug": f"brand-{n:02d}",
                "cluster_id": cluster_id,
                "name_zh": f"品牌{n:02d}",
                "name_en": f"Brand {n:02d}",
            }
            for n, cluster_id in enumerate(cluster_ids)
        ],
    )
    brand_of = {cluster_id: brand_id for cluster_id, brand_id in zip(cluster_ids, ids(Brand), strict=True)}
    for cluster_id in cluster_ids:
        ledger.create_rule(
            session,
            name="seed 001",
            cluster_id=cluster_id,
            shares=[{"party": Party(party), "basis_points": points} for party, points in SEED_001],
        )
    cluster_of = {
        village_id: cluster_id
        for cluster_id, villages in zip(cluster_ids, members, strict=True)
        for village_id in villages
    }
    insert(
        session,
        Product,
        [
            {
                "brand_id": brand_of[cluster_of[village_id]],
                "category_id": category.id,
                "village_id": village_id,
                "cooperative_id": cooperative_of[village_id],
                "name_zh": f"产品{n:03d}",
                "name_en": f"Product {n:03d}",
            }
            for n, village_id in enumerate(village_ids)
        ],
    )
    product_ids = ids(Product)
    insert(
        session,
        Sku,
        [
            {
                "product_id": product_id,
                "name_zh": "500克装",
                "name_en": "500 g pack",
                "pack_size": Decimal("0.5"),
                "pack_unit": "kg",
                "price_fen": rng.randrange(2_000, 30_000),
                "currency": "CNY",
                "gtin": factories.make_gtin(),
            }
            for product_id in product_ids
        ],
    )
    skus = {sku.product_id: sku for sku in session.scalars(sa.select(Sku))}
    statuses = [LotStatus.ON_SALE] * 6 + [LotStatus.SOLD_OUT] * 2 + [LotStatus.GRADED, LotStatus.RECALLED]
    lot_rows = []
    for n in range(LOTS):
        village_id = village_ids[n % VILLAGES]
        product_id = product_ids[n % VILLAGES]
        lot_rows.append(
            {
                "product_id": product_id,
                "village_id": village_id,
                "cooperative_id": cooperative_of[village_id],
                "lot_code": f"B{n:06d}",
                "harvested_on": moment().date(),
                "quantity": Decimal(1000),
                "unit": "kg",
                "stock_on_hand": Decimal(500),
                "status": rng.choice(statuses),
            }
        )
    insert(session, Lot, lot_rows)
    lots = session.execute(
        sa.select(Lot.id, Lot.village_id, Lot.product_id, Lot.cooperative_id, Lot.lot_code).order_by(Lot.id)
    ).all()

    standard = factories.make_standard(
        session, category=category, definition=factories.graded_definition("A", "B", "C")
    )
    graded = lots[: LOTS * 8 // 10]
    insert(
        session,
        Inspection,
        [{"lot_id": lot.id, "inspector_id": operator.id, "sample_size": 5} for lot in graded],
    )
    inspection_ids = ids(Inspection)
    insert(
        session,
        Grade,
        [
            {
                "lot_id": lot.id,
                "inspection_id": inspection_id,
                "standard_id": standard.id,
                "grade_code": rng.choice("AABBC"),
                "grade_rank": 0,
                "residue_result": "pass",
                "explanation": [],
                "summary": "bench",
                "graded_by_id": operator.id,
            }
            for lot, inspection_id in zip(graded, inspection_ids, strict=True)
        ],
    )

    order_rows, ledger_rows, sold = [], [], []
    for n in range(ORDERS):
        lot = lots[rng.randrange(LOTS)]
        sku = skus[lot.product_id]
        packs = rng.randint(1, 4)
        total = packs * sku.price_fen
        paid_at = moment()
        order_rows.append(
            {
                "reference": f"BENCH{n:08d}",
                "status": OrderStatus.COMPLETED,
                "currency": "CNY",
                "total_fen": total,
                "reserved_until": paid_at,
                "paid_at": paid_at,
                "created_at": paid_at,
                "updated_at": paid_at,
            }
        )
        sold.append((lot, sku, packs, total))
        posting = str(uuid.uuid4())
        ledger_rows.append(
            {
                "posting": posting,
                "posted_at": paid_at,
                "source_type": "order",
                "source_id": str(n),
                "account": CLEARING,
                "debit_fen": total,
                "credit_fen": 0,
                "currency": "CNY",
                "memo": "bench",
            }
        )
        for party, part in ledger.split(total, [(Party(p), b) for p, b in SEED_001]).items():
            ledger_rows.append(
                {
                    "posting": posting,
                    "posted_at": paid_at,
                    "source_type": "order",
                    "source_id": str(n),
                    "account": party.value,
                    "village_id": lot.village_id,
                    "organisation_id": lot.cooperative_id if party is Party.COOPERATIVE else None,
                    "income_category": OPERATING_INCOME if party is Party.VILLAGE_COLLECTIVE else None,
                    "debit_fen": 0,
                    "credit_fen": part,
                    "currency": "CNY",
                    "memo": "bench",
                }
            )
    insert(session, Order, order_rows)
    order_ids = ids(Order)
    insert(
        session,
        OrderLine,
        [
            {
                "order_id": order_id,
                "sku_id": sku.id,
                "quantity": packs,
                "unit_price_fen": sku.price_fen,
                "total_fen": total,
            }
            for order_id, (_, sku, packs, total) in zip(order_ids, sold, strict=True)
        ],
    )
    insert(
        session,
        Allocation,
        [
            {
                "line_id": line_id,
                "lot_id": lot.id,
                "packs": packs,
                "quantity": Decimal(packs) / 2,
                "state": AllocationState.SOLD,
            }
            for line_id, (lot, _, packs, _) in zip(ids(OrderLine), sold, strict=True)
        ],
    )
    insert(session, LedgerEntry, ledger_rows)

    contracts = []
    for villages in members:
        grower = cooperative_of[villages[0]]
        contracts.append(
            {
                "enterprise_id": enterprise.id,
                "grower_id": grower,
                "product_id": product_ids[village_ids.index(villages[0])],
                "status": ContractStatus.ACTIVE,
                "current_version": 1,
                "maximum_quantity": Decimal(10_000_000),
            }
        )
    insert(session, Contract, contracts)
    contract_ids = ids(Contract)
    insert(
        session,
        ContractVersion,
        [{"contract_id": contract_id, "number": 1, "terms": {}} for contract_id in contract_ids],
    )
    delivery_rows = []
    for _ in range(DELIVERIES):
        lot = lots[rng.randrange(LOTS)]
        accepted = rng.random() < 0.9
        quantity = Decimal(rng.randrange(100, 5000))
        grade = rng.choice("ABC")
        delivery_rows.append(
            {
                "contract_id": contract_ids[cluster_ids.index(cluster_of[lot.village_id])],
                "lot_id": lot.id,
                "window": 1,
                "delivered_on": moment().astimezone(zone).date(),
                "quantity": quantity,
                "lot_grade": grade,
                "status": DeliveryStatus.ACCEPTED if accepted else DeliveryStatus.REJECTED,
                "received_quantity": quantity if accepted else None,
                "settled_grade": grade if accepted else None,
                "unit_price_fen": 300 if accepted else None,
                "amount_fen": int(quantity) * 300 if accepted else None,
                "delivered_by_id": operator.id,
            }
        )
    insert(session, Delivery, delivery_rows)

    insert(
        session,
        CodeBatch,
        [
            {
                "lot_id": lot.id,
                "sku_id": skus[lot.product_id].id,
                "level": CodeLevel.UNIT,
                "quantity": CODES_PER_LOT,
                "attributes": "",
                "created_at": moment(),
            }
            for lot in lots
        ],
    )
    batch_ids = ids(CodeBatch)
    code_count = LOTS * CODES_PER_LOT
    scans_of: list[list[datetime]] = [[] for _ in range(code_count)]
    scan_rows = []
    for _ in range(SCANS):
        index = rng.randrange(code_count)
        at = moment()
        scans_of[index].append(at)
        scan_rows.append((index, at))
    code_rows = []
    for index in range(code_count):
        lot = lots[index // CODES_PER_LOT]
        gtin = skus[lot.product_id].gtin
        serial = f"S{index:011d}"
        times = scans_of[index]
        suspected = len(times) > 12
        code_rows.append(
            {
                "identifier": f"(01){gtin}(10){lot.lot_code}(21){serial}",
                "batch_id": batch_ids[index // CODES_PER_LOT],
                "lot_id": lot.id,
                "gtin": gtin,
                "lot_code": lot.lot_code,
                "serial": serial,
                "signature": "b1.bench",
                "scan_count": len(times),
                "first_scanned_at": min(times) if times else None,
                "last_scanned_at": max(times) if times else None,
                "suspected_copy_at": max(times) if suspected else None,
                "suspected_copy_reason": "scanned more than 12 times" if suspected else None,
            }
        )
    insert(session, Code, code_rows)
    first_code_id = session.scalar(sa.select(sa.func.min(Code.id)))
    insert(
        session,
        Scan,
        [
            {
                "code_id": first_code_id + index,
                "scanned_at": at,
                "place": None,
                "client_fingerprint": f"{index:032x}",
                "genuine": True,
            }
            for index, at in scan_rows
        ],
    )
    scans.rebuild_scan_days(session, zone=zone)
    return {"token": token, "cluster_id": cluster_ids[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from fresh_database import migrated_engine

    from marketplace.app import create_app
    from marketplace.core.config import Settings
    from marketplace.core.db import make_session_factory, unit_of_work

    workdir = Path(tempfile.mkdtemp(prefix="shanhai-dashboard-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret",
            "SHANHAI_LOAD_DEMO": "0",
            "SHANHAI_INSTANCE_PATH": str(workdir),
            "RATE_LIMIT_READS": "100000/minute",
        }
    )
    engine = migrated_engine(settings.database_url)
    factory = make_session_factory(engine)
    zone = settings.zone
    today = datetime.now(zone).date()
    start = datetime(today.year - 1, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    with unit_of_work(factory) as session:
        region = generate(session, start=start, end=datetime.now(UTC), zone=zone)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(
        f"{engine.dialect.name}: generated {VILLAGES} villages, {LOTS:,} lots, {ORDERS:,} orders, "
        f"{LOTS * CODES_PER_LOT:,} codes and {SCANS:,} scans in {time.perf_counter() - began:.0f} s"
    )

    app = create_app(settings, session_factory=factory)
    logging.getLogger("shanhai").setLevel(logging.WARNING)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {region['token']}"}
    cluster = f"/api/v1/dashboard/clusters/{region['cluster_id']}"
    year = f"from={today.year}-01-01&to={today.year}-12-31"
    endpoints = [
        f"{cluster}",
        f"{cluster}?{year}",
        f"{cluster}?from={today:%Y-%m}-01",
        "/api/v1/dashboard/villages.geojson",
        f"/api/v1/dashboard/villages.geojson?cluster_id={region['cluster_id']}",
        f"{cluster}/villages.csv",
        f"{cluster}/villages.xlsx",
        f"{cluster}/report.pdf",
        "/api/v1/dashboard/settings",
    ]
    print(f"{'endpoint':<72} {'median ms':>10} {'max ms':>8}")
    for path in endpoints:
        timings = []
        for attempt in range(args.repeat + 1):
            began = time.perf_counter()
            response = client.get(path, headers=headers)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                sys.exit(f"{path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
            if attempt:
                timings.append(elapsed)
        print(f"{path:<72} {statistics.median(timings):>10.0f} {max(timings):>8.0f}")
    engine.dispose()


if __name__ == "__main__":
    main()
